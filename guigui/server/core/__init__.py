"""The chat rules as plain Python: accounts, rooms, sanctions, presence (no sockets, no SQL)."""

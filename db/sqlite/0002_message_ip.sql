-- GuiGui Chat, SQLite schema version 2: each message keeps the sender's IP.
-- The admin lists messages by login or by IP; the connection log alone cannot
-- say which of a user's two sessions (two addresses) sent a given message.

-- The address the message came from, as the server saw it ('127.0.0.1',
-- '2001:db8::1'); NULL for messages stored before this migration.
ALTER TABLE messages ADD COLUMN ip TEXT;

-- Messages from one address, newest first: one backward range scan.
CREATE INDEX messages_by_ip ON messages (ip, id);

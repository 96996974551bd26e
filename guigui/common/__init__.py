"""The GuiGui wire protocol, shared by the server and the clients (no sockets in here)."""

"""GuiGui clients: the networking module, the command-line client and the desktop client."""

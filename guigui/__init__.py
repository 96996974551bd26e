"""GuiGui Chat: a small self-hosted company chat.

Packages:
- ``guigui.common``: the wire protocol (sans-IO codec, message types, field rules),
  shared by the server and every client.
- ``guigui.server``: the event-loop server, its chat core and its stores.
- ``guigui.client``: the networking module, the command-line client and the desktop client.
"""

__version__ = "0.1.0"

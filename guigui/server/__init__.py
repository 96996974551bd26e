"""The GuiGui server: the event loop, connections, handlers, workers, store and admin side."""

"""The admin side of the server: one command API, a text console and a ttkbootstrap panel."""

"""Start the GuiGui Chat server: ``python run_server.py --help``."""

from guigui.server.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

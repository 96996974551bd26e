"""Start a GuiGui Chat client: ``python run_client.py --help``.

For now this is the command-line client (``guigui.client.cli``).
"""

from guigui.client.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

"""Start the GuiGui Chat desktop client (double-click, or ``python run_client.py``).

The command-line client is ``python -m guigui.client.cli``.
"""

from guigui.client.gui.app import main

if __name__ == "__main__":
    main()

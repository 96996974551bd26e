"""Start the GuiGui Chat desktop client (double-click, or ``python run_client.py``).

``python run_client.py --help`` lists the options; ``--cli`` runs the
command-line client (``python -m guigui.client.cli``) instead.
"""

import sys

from guigui.client.launcher import main

if __name__ == "__main__":
    sys.exit(main())

"""Frozen entry point of the desktop app (PyInstaller runs this as `notesearch-app`)."""

import sys

from dash_m import run_dash_m

if __name__ == "__main__":
    run_dash_m(sys.argv)  # `notesearch-app -m MODULE …` (e.g. the indexer worker) and exits
    from notesearch.gui.app import main

    sys.exit(main())

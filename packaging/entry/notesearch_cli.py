"""Frozen entry point of the command line (PyInstaller runs this as `notesearch`)."""

import sys

from dash_m import run_dash_m

if __name__ == "__main__":
    run_dash_m(sys.argv)  # `notesearch -m MODULE …` runs MODULE and exits
    from notesearch.cli import main

    sys.exit(main())

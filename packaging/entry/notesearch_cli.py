"""Frozen entry point of the command line (PyInstaller runs this as `notesearch`)."""

import sys

from notesearch.cli import main

sys.exit(main())

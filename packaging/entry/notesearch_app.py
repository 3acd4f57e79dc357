"""Frozen entry point of the desktop app (PyInstaller runs this as `notesearch-app`)."""

import sys

from notesearch.gui.app import main

sys.exit(main())

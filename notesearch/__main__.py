"""Allows `python -m notesearch …` to run the command line."""

import sys

from notesearch.cli import main

sys.exit(main())

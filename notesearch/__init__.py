"""notesearch: find notes by meaning, locally; the core engine lives in notesearch.core."""

__version__ = "0.1.0"

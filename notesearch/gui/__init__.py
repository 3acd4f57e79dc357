"""Qt desktop app: a thin layer over notesearch.core."""

"""Qt desktop app: a thin layer over notesearch.core."""

from notesearch.gui._compat import protect_none

protect_none()

"""The engine: what a library embeds and searches with, built whole from settings and keys."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from notesearch.core.config import Settings
from notesearch.core.embedders import Embedder, may_see_private_notes
from notesearch.core.embedders.guard import QUERY_TIMEOUT, GuardedQueries
from notesearch.core.embedders.registry import create_embedder, query_embedder_for
from notesearch.core.errors import EmbedderError, NotesearchError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    """An immutable bundle: the embedder, what queries are embedded with, and why meaning
    search is off if it is.

    Built by `build_engine` from the settings and the keys stored at that moment; the library
    swaps it whole on any change of settings, key or active vector space, so no part of it is
    ever patched (a key pasted after a failed search used to be ignored until restart).
    """

    #: Embeds notes; None when the provider could not be built (see `problem`).
    embedder: Embedder | None
    #: Why meaning search is unavailable, in a sentence fit to show, or None.
    problem: str | None = None
    #: The kind of `problem` (see errors.py), or None.
    problem_kind: str | None = None
    #: Set when the configured model cannot run here and another one stands in.
    fallback_notice: str | None = None
    #: What searches embed queries with: the active vector space's model (the old one while a
    #: new model's vectors are built), behind a guard when the provider is remote.
    queries: Embedder | None = None
    #: The vector space `queries` answers for (None: the embedder's own, or no space yet).
    active_model_id: str | None = None
    #: The remote query guard this engine owns (closed with it), or None.
    guard: GuardedQueries | None = None

    @property
    def may_see_private_notes(self) -> bool:
        """True when notes marked private may be embedded (a local provider)."""
        return self.embedder is not None and may_see_private_notes(self.embedder)

    def for_active_space(self, model_id: str | None) -> Engine:
        """Return this engine with queries embedded in `model_id`'s vector space.

        While a changed model re-embeds, the old vectors keep answering and their queries
        must be embedded by the old model (local models can be rebuilt from the id; for
        others the configured embedder is used and the vector search skips the mismatch).
        """
        own = self.guard or self.embedder
        if model_id is None or self.embedder is None or model_id == self.embedder.model_id:
            return replace(self, queries=own, active_model_id=model_id)
        old = query_embedder_for(model_id)
        return replace(self, queries=old or own, active_model_id=model_id)

    def close(self) -> None:
        """Stop the guard's background retries; the engine is no longer used."""
        if self.guard is not None:
            self.guard.close()


def build_engine(settings: Settings, embedder: Embedder | None = None) -> Engine:
    """Build the engine the settings ask for (or around a given embedder, for tests and
    benchmarks); never raises for a provider fault: the engine then carries the reason."""
    if embedder is None:
        try:
            embedder = create_embedder(settings)
        except (EmbedderError, NotesearchError) as error:
            log.warning("meaning search unavailable: %s", error)
            return Engine(None, str(error), error.kind)
    guard = _guard_for(embedder)
    return Engine(embedder, fallback_notice=getattr(embedder, "fallback_notice", None),
                  queries=guard or embedder, guard=guard)


def _guard_for(embedder: Embedder) -> GuardedQueries | None:
    """For a remote provider, a guard that waits at most QUERY_TIMEOUT for a query vector
    and then retries in the background (see embedders/guard.py); else None."""
    for_queries = getattr(embedder, "for_queries", None)
    return GuardedQueries(for_queries(QUERY_TIMEOUT)) if for_queries is not None else None

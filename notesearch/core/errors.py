"""Exceptions the core raises, each carrying a message fit to show a user as is."""


class NotesearchError(Exception):
    """Base class: str(error) is a complete sentence for the user."""


class SkipFile(NotesearchError):
    """A file cannot be indexed; the message is the reason recorded and shown."""


class EmbedderError(NotesearchError):
    """An embedding provider failed; never contains an API key."""


class EmbedderUnavailable(EmbedderError):
    """The provider cannot run here (missing package, unsupported platform, no network)."""


class KeyMissing(EmbedderError):
    """A remote provider needs an API key and none is stored."""


class KeyRejected(EmbedderError):
    """The remote provider answered that the API key is invalid (HTTP 401/403)."""


class RateLimited(EmbedderError):
    """The remote provider kept answering 429 after backing off."""


class KeyringUnavailable(NotesearchError):
    """No OS keyring backend is usable, so secrets cannot be stored."""


class IndexingCancelled(NotesearchError):
    """Indexing stopped because the caller asked it to."""


class StorageFull(NotesearchError):
    """The disk (or the database's size limit) is full; the index is as it was before."""

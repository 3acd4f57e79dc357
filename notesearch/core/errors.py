"""Exceptions the core raises, each carrying a message fit to show a user as is."""


class NotesearchError(Exception):
    """Base class: str(error) is a complete sentence for the user."""

    #: A stable name for what went wrong, for front ends that react to it (the message is prose).
    kind = "error"


class SkipFile(NotesearchError):
    """A file cannot be indexed; the message is the reason recorded and shown."""

    kind = "skipped"


class EmbedderError(NotesearchError):
    """An embedding provider failed; never contains an API key."""

    kind = "embedder"


class EmbedderUnavailable(EmbedderError):
    """The provider cannot run here (missing package, unsupported platform)."""

    kind = "unavailable"


class Unreachable(EmbedderUnavailable):
    """A remote provider could not be reached: no network, a timeout, or the server failing."""

    kind = "offline"


class KeyMissing(EmbedderError):
    """A remote provider needs an API key and none is stored."""

    kind = "no_key"


class KeyRejected(EmbedderError):
    """The remote provider answered that the API key is invalid (HTTP 401/403)."""

    kind = "key_rejected"


class RateLimited(EmbedderError):
    """The remote provider kept answering 429 after backing off."""

    kind = "rate_limited"


class KeyringUnavailable(NotesearchError):
    """No OS keyring backend is usable, so secrets cannot be stored."""

    kind = "no_keyring"


class IndexingCancelled(NotesearchError):
    """Indexing stopped because the caller asked it to."""

    kind = "cancelled"


class StorageFull(NotesearchError):
    """The disk (or the database's size limit) is full; the index is as it was before."""

    kind = "disk_full"


class LibraryReadOnly(NotesearchError):
    """The library cannot be written (read-only disk or folder, a full disk): search answers
    from it as it is, and indexing waits."""

    kind = "read_only"


class ChatError(NotesearchError):
    """A chat model failed (key rejected, rate limited, unreachable, a stream broken halfway,
    the daily token budget spent); never contains an API key. `partial` holds the answer
    text that arrived before a stream broke ("" otherwise)."""

    kind = "chat"

    def __init__(self, message: str, kind: str = "chat", partial: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.partial = partial

"""Where a library lives on disk and the user's settings, stored as JSON beside the database."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import platformdirs

HOME_ENV = "NOTESEARCH_HOME"
DB_NAME = "library.db"
SETTINGS_NAME = "settings.json"
#: Tokens sent to remote chat models per day (for the daily budget; see chat.UsageLog).
CHAT_USAGE_NAME = "chat-usage.json"


def sample_notes_folder() -> Path:
    """Return the bundled sample notes, used by the first-run demo and the tests."""
    return Path(__file__).resolve().parent.parent / "resources" / "sample_notes"


#: Questions the sample notes answer, offered as examples while they are the library's notes.
#: (Kept out of the notes themselves: a note quoting them would match them by words.)
SAMPLE_QUERIES = (
    "how do I change our secrets safely",
    "brown spots on tomato leaves",
    "what did we decide at the May planning meeting",
    "红烧肉怎么做",
)


def library_home() -> Path:
    """Return the folder of the database and settings: $NOTESEARCH_HOME or the user data dir."""
    override = os.environ.get(HOME_ENV)
    home = Path(override).expanduser() if override else Path(
        platformdirs.user_data_dir("notesearch", appauthor=False))
    make_private_dir(home)
    return home


def make_private_dir(path: Path) -> None:
    """Create `path` (and parents) and make it readable by its owner only (0700 on POSIX).

    The library holds the text of every note, so other local accounts must not read it. A
    folder that cannot be changed (read-only media, another owner) is left as it is.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _restrict(path, 0o700)


def make_private_file(path: Path) -> None:
    """Create `path` if missing and make it readable and writable by its owner only (0600).

    An existing file is never opened, only chmod-ed: closing any descriptor of a database
    file drops every POSIX lock this process holds on it, including SQLite's own (a second
    connection's open and close here once lost a committed write from another process).
    """
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass  # made meanwhile by another process
        except OSError:
            return  # a read-only library: opened read-only later
    _restrict(path, 0o600)


def _restrict(path: Path, mode: int) -> None:
    if os.name != "posix":
        return  # Windows: the user's profile folder is private already
    try:
        info = path.stat()
        if info.st_uid == os.getuid() and info.st_mode & 0o777 != mode:
            path.chmod(mode)
    except OSError:
        pass


#: Settings files before provider_options kept these keys; they are read into it.
_LEGACY_OPTIONS = {"local_model": ("local", "model"), "openai_model": ("openai", "model"),
                   "openai_base_url": ("openai", "base_url")}


def _move_legacy_options(data: dict) -> None:
    options = data.get("provider_options")
    if not isinstance(options, dict):
        options = data["provider_options"] = {}
    for key, (provider, name) in _LEGACY_OPTIONS.items():
        if key in data:
            value = data.pop(key)
            if isinstance(value, str) and value:
                options.setdefault(provider, {}).setdefault(name, value)


@dataclass
class Settings:
    """User choices; the API key is deliberately absent (it lives in the OS keyring only)."""

    #: The embedding provider's name (see embedders/registry.py).
    provider: str = "local"
    #: Each provider's options by name, e.g. {"openai": {"model": "...", "base_url": "..."}};
    #: what options a provider has, and their defaults, is declared with the provider.
    provider_options: dict[str, dict[str, str]] = field(default_factory=dict)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    max_file_mb: float = 5.0
    chunk_tokens: int = 200
    editor_command: str = ""
    hotkey: str = "Ctrl+Alt+Space"
    launch_at_login: bool = False
    #: Keep the bundled sample notes once a folder of your own is added (they leave by default).
    keep_sample_notes: bool = False
    #: Ask answers with a chat model (chat.CHAT_OPTIONS in chat_options); offline, by marking
    #: the answering sentences of the passages found, when False (the default).
    ask_with_chat: bool = False
    chat_options: dict[str, str] = field(default_factory=dict)
    #: Most tokens a day Ask may send to a remote chat model (0: no limit).
    chat_daily_tokens: int = 200_000
    #: The user agreed, for good, to passages being sent to the chat model without asking
    #: each time (the app asks before the first remote call until then).
    chat_confirmed: bool = False
    #: Let AI assistants connected through `notesearch mcp` see notes marked private (they
    #: never see notes outside the library's folders or left out by ignore patterns).
    mcp_allow_private: bool = False

    @classmethod
    def load(cls, home: Path) -> Settings:
        """Return the settings saved in `home`, defaults for anything missing or unreadable."""
        path = home / SETTINGS_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        _move_legacy_options(data)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_options(self, provider: str, **values: str) -> Settings:
        """Return a copy using `provider`, with these of its options set (others kept)."""
        options = {name: dict(held) for name, held in self.provider_options.items()}
        options.setdefault(provider, {}).update(values)
        return replace(self, provider=provider, provider_options=options)

    def save(self, home: Path) -> None:
        """Write atomically, so a crash never leaves half a settings file."""
        path = home / SETTINGS_NAME
        tmp = path.with_suffix(".tmp")
        descriptor = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(self), indent=2))
        _restrict(tmp, 0o600)
        os.replace(tmp, path)

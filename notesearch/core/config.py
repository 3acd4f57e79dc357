"""Where a library lives on disk and the user's settings, stored as JSON beside the database."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

HOME_ENV = "NOTESEARCH_HOME"
DB_NAME = "library.db"
SETTINGS_NAME = "settings.json"


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
    home.mkdir(parents=True, exist_ok=True)
    return home


@dataclass
class Settings:
    """User choices; the API key is deliberately absent (it lives in the OS keyring only)."""

    provider: str = "local"
    local_model: str = "e5-small"
    openai_model: str = "text-embedding-3-small"
    openai_base_url: str = ""
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    max_file_mb: float = 5.0
    chunk_tokens: int = 200
    editor_command: str = ""
    hotkey: str = "Ctrl+Alt+Space"
    launch_at_login: bool = False
    first_run_done: bool = False

    @classmethod
    def load(cls, home: Path) -> Settings:
        """Return the settings saved in `home`, defaults for anything missing or unreadable."""
        path = home / SETTINGS_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, home: Path) -> None:
        """Write atomically, so a crash never leaves half a settings file."""
        path = home / SETTINGS_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, path)

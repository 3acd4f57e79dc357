"""The provider registry: every embedding provider declared once (a `Provider`), found by name.

A provider is one module that defines `PROVIDER = Provider(...)`: its name, a label for
Settings and the CLI, whether texts leave the machine, the options it reads, how it builds an
embedder from them and where its API key lives. The built-in ones are listed in BUILTIN;
another package adds one by declaring an entry point in the `notesearch.providers` group
that names its Provider object (``ollama_plus = "mypackage.provider:PROVIDER"``).
Modules are imported only when their provider is asked for (the OpenAI SDK is slow to load).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from notesearch.core.errors import EmbedderUnavailable, NotesearchError

if TYPE_CHECKING:
    from notesearch.core.config import Settings
    from notesearch.core.embedders import Embedder

log = logging.getLogger(__name__)

#: Built-in providers, in the order Settings and `notesearch provider` list them.
BUILTIN = {
    "local": "notesearch.core.embedders.local",
    "openai": "notesearch.core.embedders.openai_api",
    "ollama": "notesearch.core.embedders.ollama",
}
ENTRY_POINT_GROUP = "notesearch.providers"
DEFAULT_PROVIDER = "local"


@dataclass(frozen=True)
class Option:
    """One setting a provider reads, stored in Settings.provider_options[provider][name]."""

    name: str
    label: str
    default: str = ""
    #: Values offered in Settings; with `closed`, the only values accepted.
    choices: tuple[str, ...] = ()
    closed: bool = False
    placeholder: str = ""
    #: A sentence per choice, shown beside it (e.g. what a local model is good at).
    notes: Mapping[str, str] = field(default_factory=dict)


def _no_key(options: Mapping[str, str]) -> str | None:
    return None


def _no_rebuild(model_id: str) -> Embedder | None:
    return None


@dataclass(frozen=True)
class Provider:
    """An embedding provider, declared once.

    `build(options)` returns a ready Embedder or raises EmbedderError (EmbedderUnavailable,
    KeyMissing, ...) with a sentence fit to show; `options` holds every declared option,
    defaults filled in, and may hold "api_key": a key not yet stored (Settings' Test button),
    which a provider that takes a key uses instead of the stored one. `key_entry(options)`
    names the OS-keyring entry its API key lives under, or None when it takes no key.
    `for_space(model_id)` rebuilds an embedder of a vector space from its id alone, or
    returns None (only local models can: a space being replaced still answers queries while
    the new one is built).
    """

    name: str
    label: str
    #: One sentence: where note text goes.
    description: str
    #: True when texts leave this machine; private notes are then never sent (see
    #: embedders.may_see_private_notes, which asks the embedder built).
    remote: bool
    options: tuple[Option, ...]
    build: Callable[[Mapping[str, str]], Embedder]
    key_entry: Callable[[Mapping[str, str]], str | None] = _no_key
    for_space: Callable[[str], Embedder | None] = _no_rebuild

    def options_from(self, settings: Settings) -> dict[str, str]:
        """Return this provider's options as the settings hold them, defaults filled in.

        Raises NotesearchError for a value outside a closed list of choices."""
        stored = settings.provider_options.get(self.name, {})
        values = {o.name: str(stored.get(o.name, "") or o.default).strip() for o in self.options}
        for option in self.options:
            if option.closed and values[option.name] not in option.choices:
                raise NotesearchError(
                    f"Unknown {option.label.lower()} {values[option.name]!r} for the "
                    f"{self.name} provider; choose one of {', '.join(option.choices)}.")
        return values

    def option(self, name: str) -> Option:
        """Return the declared option `name`; raises NotesearchError for an unknown one."""
        for option in self.options:
            if option.name == name:
                return option
        known = ", ".join(o.name for o in self.options) or "none"
        raise NotesearchError(f"The {self.name} provider has no option {name!r} "
                              f"(its options: {known}).")


def provider(name: str) -> Provider:
    """Return the provider called `name`; raises NotesearchError naming the known ones."""
    if name in BUILTIN:
        return _load_module(BUILTIN[name])
    plugged = _plugins().get(name)
    if plugged is None:
        raise NotesearchError(f"Unknown provider {name!r}; choose one of "
                              f"{', '.join(provider_names())}.")
    return _checked(plugged.load(), name)


def provider_names() -> list[str]:
    """Return the names of every provider, built-in ones first (imports nothing)."""
    return list(BUILTIN) + sorted(n for n in _plugins() if n not in BUILTIN)


def providers() -> list[Provider]:
    """Return every provider that loads, built-in ones first; a plug-in that fails to load
    is logged and left out (one broken package must not take Settings down)."""
    found = []
    for name in provider_names():
        try:
            found.append(provider(name))
        except Exception as error:  # noqa: BLE001 - third-party code, any failure
            log.warning("embedding provider %r could not be loaded: %s", name, error)
    return found


def create_embedder(settings: Settings) -> Embedder:
    """Return the embedder the settings ask for; raises EmbedderError or NotesearchError with
    a user-facing reason.

    When the default local model cannot run here and another stands in for it, the returned
    embedder's `fallback_notice` says so (read it with getattr(embedder, "fallback_notice",
    None)).
    """
    chosen = provider(settings.provider)
    return chosen.build(chosen.options_from(settings))


def query_embedder_for(model_id: str) -> Embedder | None:
    """Return an embedder that makes vectors in `model_id`'s space, or None (see
    Provider.for_space)."""
    for candidate in providers():
        try:
            embedder = candidate.for_space(model_id)
        except (EmbedderUnavailable, NotesearchError):
            embedder = None
        if embedder is not None:
            return embedder
    return None


def _load_module(module_name: str) -> Provider:
    module = importlib.import_module(module_name)
    return _checked(getattr(module, "PROVIDER", None), module_name)


def _checked(found: object, where: str) -> Provider:
    if not isinstance(found, Provider):
        raise NotesearchError(f"{where} does not declare a notesearch Provider.")
    return found


def _plugins() -> dict:
    """Entry points of the `notesearch.providers` group, by name (read on every call: cheap,
    and a package installed while the app runs shows up in the next Settings)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}

"""Chat models that answer from cited passages: OpenAI or any OpenAI-compatible server, streamed."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from notesearch.core import secrets
from notesearch.core.embedders.openai_api import (
    NO_KEY_PLACEHOLDER,
    OPENAI_BASE_URL,
    is_official,
    key_provider,
    server_host,
)
from notesearch.core.embedders.registry import Option
from notesearch.core.errors import ChatError, KeyringUnavailable

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

#: The chat settings (Settings.chat_options), declared once for Settings, the CLI and doctor.
CHAT_OPTIONS = (
    Option("model", "Chat model", "gpt-4o-mini", ("gpt-4o-mini", "gpt-4.1-mini")),
    Option("base_url", "Base URL", "",
           placeholder=f"{OPENAI_BASE_URL} (default); e.g. http://localhost:11434/v1 for Ollama"),
)
_TRANSPORT_MODULES = frozenset({"httpx", "httpx2", "httpcore", "httpcore2", "h11"})
_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-*.]{6,}")


class OpenAIChat:
    """Chat completions from OpenAI or an OpenAI-compatible server (Ollama, LM Studio,
    llama.cpp), streamed. `is_remote` is True even for localhost, as for embeddings: private
    notes are never sent to any HTTP model."""

    is_remote = True

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0) -> None:
        """Raises ChatError when OpenAI's own API is chosen and no key is stored."""
        self.model = model
        self.base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        self.official = is_official(base_url)
        self.host = server_host(self.base_url)
        self.timeout = timeout
        self.name = f"{'openai' if self.official else self.host}:{model}"
        self._key = api_key or self._stored_key()
        self._http: openai.OpenAI | None = None

    def _stored_key(self) -> str:
        try:
            key = secrets.get_api_key(key_provider(None if self.official else self.base_url))
        except KeyringUnavailable:
            key = None
        if not key and self.official:
            raise ChatError("No OpenAI API key is stored. Add one with `notesearch key set` or "
                            "in Settings to answer with an OpenAI chat model.", kind="no_key")
        return key or NO_KEY_PLACEHOLDER

    @property
    def where(self) -> str:
        return "OpenAI" if self.official else f"the chat server at {self.host}"

    def stream(self, messages: Sequence[dict[str, str]],
               cancelled: Callable[[], bool] = lambda: False) -> Iterator[str]:
        """Yield the answer piece by piece as the server sends it; stops early (without an
        error) once `cancelled()` is true. Raises ChatError with a sentence for every fault:
        key rejected (401/403), rate or quota (429), server errors (5xx), no answer within
        `timeout` seconds, no connection, and a stream that breaks halfway (`.partial` then
        holds what arrived)."""
        import openai

        received: list[str] = []
        finished = False
        try:
            stream = self._client().chat.completions.create(
                model=self.model, messages=cast(Any, list(messages)), stream=True)
            try:
                for event in stream:
                    if cancelled():
                        return
                    piece, done = _delta(event)
                    finished = finished or done
                    if piece:
                        received.append(piece)
                        yield piece
            finally:
                stream.close()
        except openai.APIError as error:
            raise self._error(error, "".join(received)) from None
        except Exception as error:
            # A connection cut mid-stream reaches us from the SDK's HTTP library (httpx, or
            # httpx2 in newer SDKs), past its wrapping; anything else is a bug, raised as is.
            if type(error).__module__.split(".")[0] not in _TRANSPORT_MODULES:
                raise
            raise self._broken("".join(received)) from None
        if not finished and not cancelled():
            raise self._broken("".join(received))

    def _broken(self, partial: str) -> ChatError:
        return ChatError(f"The answer from {self.where} broke off before it was complete (the "
                         "connection was lost)" + ("; what arrived is shown." if partial
                                                   else "."), kind="broken", partial=partial)

    def _client(self) -> openai.OpenAI:
        if self._http is None:
            import openai

            self._http = openai.OpenAI(api_key=self._key, base_url=self.base_url,
                                       timeout=self.timeout, max_retries=0)
        return self._http

    def _error(self, error: Exception, partial: str) -> ChatError:
        import openai

        subject = self.where[:1].upper() + self.where[1:]
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return ChatError(f"{subject} rejected the API key (HTTP {error.status_code}). "
                             "Store the right key in Settings or with `notesearch key set`.",
                             kind="key_rejected", partial=partial)
        if isinstance(error, openai.RateLimitError):
            quota = getattr(error, "code", None) == "insufficient_quota"
            return ChatError(f"{subject} refused the request: "
                             + ("the account has no quota left (HTTP 429)." if quota else
                                "too many requests (HTTP 429). Try again in a minute."),
                             kind="rate_limited", partial=partial)
        if isinstance(error, openai.APITimeoutError):
            return ChatError(f"{subject} did not answer within {self.timeout:g} s.",
                             kind="offline", partial=partial)
        if isinstance(error, openai.APIConnectionError):
            if partial:
                return self._broken(partial)
            hint = "" if self.official else " and that the server is running"
            return ChatError(f"Could not reach {self.where}. Check your network "
                             f"connection{hint}.", kind="offline", partial=partial)
        if isinstance(error, openai.APIStatusError):
            return ChatError(f"{subject} answered HTTP {error.status_code}: "
                             f"{_scrub(str(error.message))[:200]}", kind="server",
                             partial=partial)
        return ChatError(f"{subject} sent an answer notesearch could not read.",
                         kind="server", partial=partial)


def _delta(event: Any) -> tuple[str, bool]:
    """The text a streamed chunk adds ("" for role, usage and empty chunks), and whether it
    ends the answer (a finish reason)."""
    choices = getattr(event, "choices", None) or []
    if not choices:
        return "", False
    delta = getattr(choices[0], "delta", None)
    return getattr(delta, "content", None) or "", bool(getattr(choices[0], "finish_reason", None))


def _scrub(text: str) -> str:
    return _KEY_PATTERN.sub("***", text)


def chat_model_from(options: dict[str, str]) -> OpenAIChat:
    """Return the chat model the options name (CHAT_OPTIONS; "api_key" may hold a key not
    yet stored). Raises ChatError when it needs a key and none is stored."""
    values = {o.name: (options.get(o.name) or o.default).strip() for o in CHAT_OPTIONS}
    return OpenAIChat(values["model"], values["base_url"] or None,
                      api_key=options.get("api_key") or None)


def today() -> str:
    """The local date, as the daily token budget counts it (YYYY-MM-DD)."""
    return time.strftime("%Y-%m-%d")


class UsageLog:
    """Tokens sent to remote chat models, per local day, in a small JSON file of the library
    folder (written atomically; only the last week is kept)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def used_today(self) -> int:
        """Return the tokens spent today (0 when the file is missing or unreadable)."""
        return int(self._read().get(today(), 0))

    def add(self, tokens: int) -> None:
        """Count `tokens` against today's budget. Raises nothing: an unwritable library
        folder only means the count is not kept (logged)."""
        days = self._read()
        days[today()] = int(days.get(today(), 0)) + tokens
        kept = dict(sorted(days.items())[-7:])
        try:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(kept), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as error:
            log.warning("could not record chat token use in %s: %s", self.path, error)

    def _read(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) \
            else {}

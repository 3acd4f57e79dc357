"""A small real HTTP server on 127.0.0.1 that speaks the OpenAI embeddings API for tests."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

# Native sizes of the real models, so clients that know them see consistent answers.
MODEL_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
MAX_INPUTS = 2048
MAX_TOKENS_PER_INPUT = 8192
MAX_TOKENS_PER_REQUEST = 300_000

_ERROR_BODIES = {
    429: ("Rate limit reached for requests. Please try again in 1s.", "requests",
          "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The engine is currently overloaded.", "server_error", None),
}


@dataclass
class RecordedRequest:
    """One request the server received, as parsed from the wire."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float

    @property
    def inputs(self) -> list[str]:
        """The texts of an embeddings request, always as a list."""
        raw = self.body.get("input") if isinstance(self.body, dict) else None
        return [raw] if isinstance(raw, str) else list(raw or [])


@dataclass
class _Scripted:
    """An answer queued for an upcoming request instead of the normal one."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    hang_seconds: float = 0.0
    normal: bool = False  # answer as usual (lets a script fail the requests after this one)


def tokens_estimate(text: str) -> int:
    """Rough real-tokenizer size (about 4 bytes a token), used to enforce the API limits."""
    return max(1, len(text.encode("utf-8")) // 4)


def fake_embedding(text: str, dim: int) -> np.ndarray:
    """A deterministic hashed bag-of-words vector: texts sharing words point the same way.

    Deliberately not unit length, so tests can tell that clients normalise it.
    """
    vec = np.zeros(dim, dtype=np.float32)
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        vec[value % dim] += 1.0 if (value >> 63) & 1 else -1.0
    if not vec.any():
        # Texts without words still need a non-zero, text-specific direction.
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
        vec[int.from_bytes(digest, "little") % dim] = 1.0
    return vec * 3.0


def error_body(message: str, err_type: str, code: str | None = None) -> dict[str, Any]:
    """The JSON shape OpenAI uses for every error answer."""
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens, for connection-refused tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class FakeOpenAI:
    """Serves POST /v1/embeddings and /v1/chat/completions (streamed or not) on a free port;
    scriptable failures; records every request."""

    def __init__(self, key: str | None = None, dim: int = 64) -> None:
        self.key = key or "sk-test-" + secrets.token_hex(20)
        #: Dimension for models that are not in MODEL_DIMS.
        self.dim = dim
        #: Answer with JSON floats even when base64 is asked, like some compatible servers.
        self.float_only = False
        #: Return `data` in reverse order, to prove clients sort by `index`.
        self.reverse_data = False
        #: What the chat model answers; None: a sentence quoted from passage [1] of the
        #: prompt and cited, or the not-found reply when the prompt has no passage.
        self.chat_reply: str | None = None
        #: Seconds between streamed pieces (to watch streaming, or cancel it halfway).
        self.chat_delay = 0.0
        #: Cut the connection after this many streamed pieces, mid-stream (None: never).
        self.break_stream_after: int | None = None
        #: Hang up on every request without answering, as a server going down does.
        self.hang_up = False
        self.requests: list[RecordedRequest] = []
        self._script: list[_Scripted] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        # A short poll interval keeps shutdown (once per test) from costing half a second.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def inputs(self) -> list[str]:
        """Every text received, in arrival order."""
        with self._lock:
            return [text for req in self.requests for text in req.inputs]

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases handlers that are hanging
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(self, status: int, count: int = 1, headers: Mapping[str, str] | None = None,
                  code: str | None = None, message: str | None = None) -> None:
        """Answer the next `count` requests with `status` (429 defaults to Retry-After: 1)."""
        if headers is None:
            headers = {"Retry-After": "1"} if status == 429 else {}
        default_msg, err_type, default_code = _ERROR_BODIES.get(
            status, (f"HTTP {status}", "invalid_request_error", None))
        body = error_body(message or default_msg, err_type, code or default_code)
        with self._lock:
            self._script.extend(
                _Scripted(status=status, headers=dict(headers), body=body) for _ in range(count))

    def normal_next(self, count: int = 1) -> None:
        """Answer the next `count` requests as usual (before scripted failures)."""
        with self._lock:
            self._script.extend(_Scripted(normal=True) for _ in range(count))

    def answer_next(self, body: Any, count: int = 1) -> None:
        """Answer the next `count` requests with HTTP 200 and exactly this JSON body."""
        with self._lock:
            self._script.extend(_Scripted(status=200, body=body) for _ in range(count))

    def hang_next(self, count: int = 1, seconds: float = 5.0) -> None:
        """Make the next `count` requests wait `seconds` before answering normally."""
        with self._lock:
            self._script.extend(_Scripted(hang_seconds=seconds) for _ in range(count))

    def _record_and_pop(self, req: RecordedRequest) -> _Scripted | None:
        with self._lock:
            self.requests.append(req)
            return self._script.pop(0) if self._script else None

    def handle(self, req: RecordedRequest) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Produce (status, headers, JSON body) for one request."""
        scripted = self._record_and_pop(req)
        if scripted is not None and scripted.normal:
            pass
        elif scripted is not None and scripted.hang_seconds:
            self._stopping.wait(scripted.hang_seconds)
        elif scripted is not None:
            return scripted.status, scripted.headers, (
                scripted.body if scripted.body is not None else {})
        path = req.path.rstrip("/")
        if req.method != "POST" or path not in ("/v1/embeddings", "/v1/chat/completions"):
            return 404, {}, error_body(f"Unknown path {req.path}", "invalid_request_error")
        auth = req.headers.get("authorization", "")
        if auth != f"Bearer {self.key}":
            return 401, {}, self._auth_error(auth)
        if path == "/v1/chat/completions":
            return self._chat(req.body)
        return self._embeddings(req.body)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.rstrip("/") == "/v1/chat/completions"]

    def _chat(self, body: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            return 400, {}, error_body("'model' and 'messages' are required",
                                       "invalid_request_error")
        reply = self.chat_reply if self.chat_reply is not None else default_reply(body)
        if body.get("stream"):
            # Words with their following space, as a model streams tokens.
            return 200, {}, {STREAM: re.findall(r"\S+\s*", reply) or [reply]}
        return 200, {}, {"id": "chatcmpl-fake", "object": "chat.completion",
                         "created": int(time.time()), "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": reply}}]}

    def _auth_error(self, auth: str) -> dict[str, Any]:
        # Real OpenAI echoes a masked key; echo it whole so tests prove clients never show it.
        given = auth.removeprefix("Bearer ")
        return error_body(f"Incorrect API key provided: {given}. You can find your API key at "
                          "https://platform.openai.com/account/api-keys.",
                          "invalid_request_error", "invalid_api_key")

    def _embeddings(self, body: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        problem = _validate(body)
        if problem:
            return 400, {}, error_body(problem, "invalid_request_error")
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        dim = int(body.get("dimensions") or MODEL_DIMS.get(body["model"], self.dim))
        as_b64 = body.get("encoding_format") == "base64" and not self.float_only
        data = [{"object": "embedding", "index": i,
                 "embedding": _encode(fake_embedding(text, dim), as_b64)}
                for i, text in enumerate(texts)]
        if self.reverse_data:
            data.reverse()
        used = sum(tokens_estimate(t) for t in texts)
        return 200, {}, {"object": "list", "data": data, "model": body["model"],
                         "usage": {"prompt_tokens": used, "total_tokens": used}}


#: The key of a handler's payload that holds pieces to stream as server-sent events.
STREAM = "__stream__"


def default_reply(body: dict[str, Any]) -> str:
    """A grounded answer a test can predict: the first sentence of passage [1], cited."""
    prompt = " ".join(str(m.get("content", "")) for m in body["messages"])
    found = re.search(r"\[1\][^\n]*\n(.+?)(?:[.。!?]|\n|$)", prompt)
    if not found:
        return "Not found in your notes."
    return f"Your notes say: {found.group(1).strip()} [1]."


def _chunk_event(model: str, delta: dict[str, str], finish: str | None = None) -> bytes:
    event = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
             "created": int(time.time()), "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(event).encode("utf-8") + b"\n\n"


def _validate(body: Any) -> str | None:
    """The reason OpenAI would answer 400 to this embeddings body, or None."""
    if not isinstance(body, dict) or not body.get("model"):
        return "you must provide a model parameter"
    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return "'input' must be a string or a non-empty array of strings"
    if len(texts) > MAX_INPUTS:
        return f"'input' must have at most {MAX_INPUTS} items"
    if any(not t for t in texts):
        return "'input' cannot contain an empty string"
    sizes = [tokens_estimate(t) for t in texts]
    if max(sizes) > MAX_TOKENS_PER_INPUT:
        return "This model's maximum context length is 8192 tokens"
    if sum(sizes) > MAX_TOKENS_PER_REQUEST:
        return f"Requested {sum(sizes)} tokens, max {MAX_TOKENS_PER_REQUEST} tokens per request"
    return None


def _encode(vec: np.ndarray, as_b64: bool) -> str | list[float]:
    if as_b64:
        return base64.b64encode(vec.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vec]


def _make_handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # name fixed by http.server
            self._serve()

        def do_GET(self) -> None:  # name fixed by http.server
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def handle(self) -> None:
            # The client hung up (a cancelled or cut stream): nothing left to answer.
            with contextlib.suppress(ConnectionError):
                super().handle()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if server.hang_up:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            req = RecordedRequest(self.command, self.path,
                                  {k.lower(): v for k, v in self.headers.items()}, body,
                                  time.monotonic())
            status, headers, payload = server.handle(req)
            if STREAM in payload:
                self._stream(payload[STREAM], str((body or {}).get("model", "")))
            else:
                self._reply(status, headers, payload)

        def _stream(self, pieces: list[str], model: str) -> None:
            """Send `pieces` as OpenAI's server-sent chunk events, in chunked encoding (so a
            cut connection is an error to the client, not an early end)."""
            events = [_chunk_event(model, {"role": "assistant", "content": ""})]
            events += [_chunk_event(model, {"content": piece}) for piece in pieces]
            events += [_chunk_event(model, {}, "stop"), b"data: [DONE]\n\n"]
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for sent, event in enumerate(events):
                    if server.break_stream_after is not None and \
                            sent > server.break_stream_after:
                        self.wfile.write(b"ff\r\npartial")  # a chunk cut short
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                    self.wfile.flush()
                    if server.chat_delay and server._stopping.wait(server.chat_delay):
                        return
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client stopped reading (a cancelled answer)

        def _reply(self, status: int, headers: dict[str, str], payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout test); nothing to tell it

    return Handler

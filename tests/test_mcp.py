"""`notesearch mcp`, driven as an assistant drives it: the MCP SDK's own client talking to the
real server in a subprocess, over the sample notes indexed with the real local model."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

pytest.importorskip("mcp")

from mcp.client import Client  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from notesearch.core.config import Settings  # noqa: E402
from notesearch.mcp_server import (  # noqa: E402
    NoteTools,
    build_server,
    is_loopback_host,
    is_loopback_origin,
)
from tests.helpers import copy_sample_index  # noqa: E402

#: The sample note marked `private: true` in its front matter.
PRIVATE = Path("health") / "Sleep habits.md"


@pytest.fixture(scope="module")
def mcp_library(sample_index, tmp_path_factory, e5):
    """A copy of the indexed sample notes: (library home, notes folder)."""
    library = copy_sample_index(sample_index, tmp_path_factory.mktemp("mcp"), e5)
    home, notes = library.home, library.notes_root
    library.close()
    return home, notes


def _server(home: Path, stdout_copy: Path) -> StdioServerParameters:
    """`notesearch mcp` for the library in `home`, its stdout also copied to `stdout_copy`
    (through tee, so that what it writes as it exits is seen too)."""
    return StdioServerParameters(
        command="sh", args=["-c", '"$0" -m notesearch mcp | tee "$1"', sys.executable,
                            str(stdout_copy)],
        env={"NOTESEARCH_HOME": str(home)})


async def _call(session: ClientSession, tool: str, **arguments) -> dict:
    """Call a tool that should succeed; return its structured result."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def _refused(session: ClientSession, tool: str, **arguments) -> str:
    """Call a tool that should fail; return the sentence the client reads."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error
    text = " ".join(part.text for part in result.content if part.type == "text")
    assert "Traceback" not in text
    return text


def test_an_assistant_searches_reads_and_never_sees_private_notes(mcp_library, tmp_path):
    home, notes = mcp_library
    private = str(notes / PRIVATE)
    stdout_copy = tmp_path / "stdout.jsonl"

    async def session_run() -> None:
        async with stdio_client(_server(home, stdout_copy)) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            names = {tool.name for tool in (await session.list_tools()).tools}
            assert names >= {"search", "similar", "get_note", "status", "ask"}

            found = await _call(session, "search", query="point-in-time restore", k=5)
            best = found["results"][0]
            assert best["title"] == "Postgres backup and restore"
            assert best["path"] == str(notes / "work" / "Postgres backup and restore.md")
            assert best["match"] in ("meaning", "words", "both") and 0 < best["score"] <= 1
            assert 1 <= best["line"] <= best["end_line"]
            words = await _call(session, "search", query="router", mode="words",
                                folder="tech")
            assert words["results"]
            assert {Path(r["path"]).parent.name for r in words["results"]} == {"tech"}

            # The private note answers this query best, and is nowhere to be seen.
            sleep = await _call(session, "search", query="sleeping badly since winter", k=50)
            assert private not in [r["path"] for r in sleep["results"]]
            like = await _call(session, "similar", text="I sleep badly; caffeine and screens",
                               k=50)
            assert like["results"] and private not in [r["path"] for r in like["results"]]
            assert "private" in await _refused(session, "get_note", path=private)
            assert "private" in await _refused(session, "similar", note=private)
            sleep = await _call(session, "ask", question="what helps me sleep better")
            assert sleep["passages"] and private not in [p["path"] for p in sleep["passages"]]
            assert [p["number"] for p in sleep["passages"]] == \
                list(range(1, len(sleep["passages"]) + 1))

            answer = await _call(session, "ask", question="how do I restore the database to "
                                                          "an earlier point in time")
            cited = answer["passages"][0]
            assert answer["found"] and cited["title"] == "Postgres backup and restore"
            assert cited["answer_sentences"]
            assert cited["line"] <= cited["answer_sentences"][0]["line"] <= cited["end_line"]

            neighbours = await _call(session, "similar", note="Composting", k=3)
            assert neighbours["like"] == str(notes / "garden" / "Composting.md")
            assert len(neighbours["results"]) == 3
            assert all(r["strength"] for r in neighbours["results"])

            lines = await _call(session, "get_note", path=best["path"],
                                start_line=best["line"], end_line=best["end_line"])
            on_disk = Path(best["path"]).read_text(encoding="utf-8").split("\n")
            assert lines["text"] == "\n".join(on_disk[best["line"] - 1:best["end_line"]])
            assert lines["title"] == "Postgres backup and restore"
            assert "restore" in lines["text"].lower()
            whole = await _call(session, "get_note", path="work/Postgres backup and restore.md")
            assert whole["start_line"] == 1 and whole["end_line"] == whole["total_lines"]
            beyond = await _refused(session, "get_note", path=best["path"],
                                    start_line=whole["total_lines"] + 1)
            assert f"has {whole['total_lines']} lines" in beyond
            assert "after end_line" in await _refused(session, "get_note", path=best["path"],
                                                      start_line=3, end_line=2)
            assert "outside the library" in await _refused(session, "get_note",
                                                            path="/etc/passwd")
            assert "No note" in await _refused(session, "get_note",
                                               path="../../../../../../etc/passwd")
            assert "No note" in await _refused(session, "similar", note="no such note")

            status = await _call(session, "status")
            assert status["folders"] == [{"path": str(notes), "notes": status["notes"]}]
            assert status["notes"] > 30 and status["passages_waiting"] == 0
            assert status["private_notes_shared"] is False

            # Settings apply from the next call: private notes allowed, a folder excluded.
            settings = Settings.load(home)
            settings.mcp_allow_private, settings.exclude = True, ["cooking/"]
            settings.save(home)
            assert (await _call(session, "get_note", path=private))["title"] == "Sleep habits"
            sleep = await _call(session, "search", query="sleeping badly since winter", k=50)
            assert private in [r["path"] for r in sleep["results"]]
            dal = await _call(session, "search", query="weeknight dal lentils", k=50)
            assert not any("/cooking/" in r["path"] for r in dal["results"])
            assert "ignore or exclude" in await _refused(
                session, "get_note", path=str(notes / "cooking" / "Weeknight dal.md"))

    started = time.monotonic()
    try:
        anyio.run(session_run)
    finally:
        Settings().save(home)
    print(f"stdio session: {time.monotonic() - started:.1f} s")
    # Nothing but protocol on stdout, to the end: loading the model and logging wrote none.
    for line in stdout_copy.read_text(encoding="utf-8").splitlines():
        assert json.loads(line)["jsonrpc"] == "2.0", line


def test_a_library_not_made_yet_is_a_sentence_and_is_not_created(tmp_path):
    """In process (the SDK's in-memory client), as no model or library is loaded."""
    home = tmp_path / "nowhere"
    tools = NoteTools(home)

    async def session_run() -> str:
        async with Client(build_server(tools)) as client:
            result = await client.call_tool("search", {"query": "anything"})
            assert result.is_error
            return " ".join(part.text for part in result.content if part.type == "text")

    try:
        said = anyio.run(session_run)
    finally:
        tools.close()
    assert "no notesearch library" in said and "notesearch index" in said
    assert "Traceback" not in said
    assert not (home / "library.db").exists()  # asking made no library


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _post(port: int, headers: dict[str, str]) -> int:
    """POST an initialize request with these headers; return the HTTP status."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("POST", "/mcp", skip_host=True)
    for name, value in {"Content-Type": "application/json",
                        "Accept": "application/json, text/event-stream",
                        "Content-Length": str(len(body.encode())), **headers}.items():
        connection.putheader(name, value)
    connection.endheaders(body.encode())
    status = connection.getresponse().status
    connection.close()
    return status


def test_http_answers_loopback_clients_and_refuses_foreign_hosts_and_origins(mcp_library):
    home, notes = mcp_library
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "notesearch", "mcp", "--http", "--port", str(port)],
        env={**os.environ, "NOTESEARCH_HOME": str(home)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the HTTP server did not start"
                time.sleep(0.1)
        here = f"127.0.0.1:{port}"
        assert _post(port, {"Host": here, "Origin": "https://evil.example"}) == 403
        assert _post(port, {"Host": f"evil.example:{port}"}) == 403
        assert _post(port, {"Host": f"evil.example:{port}",
                            "Origin": f"http://evil.example:{port}"}) == 403
        assert _post(port, {"Host": here, "Origin": f"http://localhost:{port}"}) == 200
        assert _post(port, {"Host": f"localhost:{port}"}) == 200

        async def session_run() -> dict:
            async with streamable_http_client(f"http://{here}/mcp") as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                assert "search" in {t.name for t in (await session.list_tools()).tools}
                return await _call(session, "search", query="sourdough starter", k=3)

        assert anyio.run(session_run)["results"][0]["title"] == "Sourdough starter"
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert out == ""  # logging goes to stderr


def test_loopback_names():
    assert is_loopback_host("localhost:8765") and is_loopback_host("[::1]:80")
    assert is_loopback_host("127.0.0.1")
    assert not is_loopback_host("127.0.0.1.evil.example:8765") and not is_loopback_host("")
    assert is_loopback_origin("http://localhost:3000")
    assert not is_loopback_origin("null") and not is_loopback_origin("http://evil.example")
    assert not is_loopback_origin("file://localhost/x")

"""Pytest fixture `fake_openai`: a fresh fake OpenAI embeddings server for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """Yield a running FakeOpenAI (.base_url, .key, .requests, .fail_next, .hang_next)."""
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()

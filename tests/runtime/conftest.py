"""Fixtures of the runtime tests: a loopback model server (see `providers.fake_server`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtime.providers.fake_server import FakeServer


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """A `FakeServer` on 127.0.0.1, closed after the test."""
    fake = FakeServer()
    try:
        yield fake
    finally:
        fake.close()

"""Server-sent events from bytes cut anywhere: `runtime.providers.sse.SSEReader`.

The property: however the body is cut into pieces, the reader gives the events the HTML
standard's framing gives (lines end at CR LF, LF or CR only). Then the cases a line reader of
text gets wrong, end to end through an adapter on loopback.
"""

from __future__ import annotations

import itertools
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.providers.base import ChatMessage, Finish, ModelRequest, TextDelta
from runtime.providers.openai_compat import OpenAICompatibleProvider
from runtime.providers.sse import SSEReader
from tests.runtime.providers.fake_server import DONE, FakeServer, Reply, collect, delta

# Text of any kind but the three line ends, including what `str.splitlines` also breaks at.
LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"),
    max_size=12,
) | st.sampled_from(["\u2028", "a\u2029b", "\x85", "\x0b\x0c", "\x1c\x1d\x1e", "{}"])
NAMES = st.sampled_from(["", "message", "ping", "content_block_delta"])
ENDS = st.sampled_from(["\n", "\r\n", "\r"])


def read(pieces: list[bytes]) -> list[tuple[str, str]]:
    reader = SSEReader()
    events = [event for piece in pieces for event in reader.feed(piece)]
    last = reader.end()
    return events if last is None else [*events, last]


def cut(body: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *sorted({p % (len(body) + 1) for p in points}), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    """A body of events, comments and other fields, each line with its own line end, and
    the events it holds."""
    text, expected = "", []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(NAMES)
        data = draw(st.lists(LINE_TEXT, min_size=1, max_size=3))
        lines = [f": {draw(LINE_TEXT)}"] if draw(st.booleans()) else []
        lines += [f"event: {name}"] if name else []
        lines += ["id: 7"] if draw(st.booleans()) else []
        spaced = [value.startswith(" ") or draw(st.booleans()) for value in data]
        lines += [f"data:{' ' * s}{value}" for s, value in zip(spaced, data, strict=True)]
        for line in [*lines, ""]:
            end = draw(ENDS)
            if not line and text.endswith("\r") and end == "\n":
                end = "\r\n"  # CR then LF would be one line end, not two
            text += line + end
        expected.append((name, "\n".join(data)))
    return text.encode(), expected


@given(bodies(), st.lists(st.integers(0, 10_000), max_size=8))
def test_feed__any_cut_of_the_body_gives_its_events(
    body: tuple[bytes, list[tuple[str, str]]], points: list[int]
) -> None:
    raw, expected = body
    assert read(cut(raw, points)) == expected
    assert read([bytes([b]) for b in raw]) == expected


def test_feed__a_cr_and_the_lf_after_it_are_one_line_end_across_pieces() -> None:
    reader = SSEReader()
    assert reader.feed(b"data: a\r") == []
    assert reader.feed(b"\ndata: b\r") == []
    assert reader.feed(b"\n\r") == [("", "a\nb")]
    assert reader.feed(b"\n") == []  # the LF of the CR LF that ended the event: no second event
    assert reader.feed(b"data: c\n\n") == [("", "c")]


def test_feed__only_cr_lf_lf_and_cr_end_lines() -> None:
    payload = '{"t": "one\u2028two\u2029three\x85four\x0bfive\x0c\x1c\x1d\x1esix"}'
    assert read([f"data: {payload}\n\n".encode()]) == [("", payload)]


def test_feed__a_byte_order_mark_opening_the_body_is_dropped_even_cut() -> None:
    assert read([b"\xef", b"\xbb", b"\xbfdata: x\n\n"]) == [("", "x")]
    assert read([b"\xef\xbb\xbfevent: e\ndata: x\n\n"]) == [("e", "x")]
    assert read([b"data: \xef\xbb\xbfx\n\n"]) == [("", "\ufeffx")]  # elsewhere it is text


def test_feed__invalid_utf8_reads_as_replacement_characters() -> None:
    assert read([b"data: a\xff", b"\xfeb\n\n"]) == [("", "a\ufffd\ufffdb")]


def test_feed__fields_without_data_make_no_event_and_forget_their_name() -> None:
    assert read([b": hi\nevent: ping\nretry: 5\n\ndata: x\n\n"]) == [("", "x")]
    assert read([b"data\ndata\n\n"]) == [("", "\n")]  # two empty data lines


def test_end__a_last_event_without_its_blank_line_is_read_once() -> None:
    reader = SSEReader()
    assert reader.feed(b"data: 1\n\ndata: [DONE]") == [("", "1")]
    assert reader.end() == ("", "[DONE]")
    assert reader.end() is None


# --- through an adapter -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_stream__text_holding_unicode_line_separators_arrives_whole(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """A server that sends U+2028, U+2029 and U+0085 unescaped inside a JSON string (llama.cpp
    and others do): each event is still one event, the text whole."""
    text = "line\u2028sep\u2029para\x85next"
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": None}
    raw = json.dumps({"choices": [choice]}, ensure_ascii=False)
    server.queue(Reply(events=[f"data: {raw}\r\n\r\n", delta("stop"), DONE]))
    provider = OpenAICompatibleProvider(
        "local", base_url=server.base_url, client=client, api_key="k", backoff_base=0.001
    )
    request = ModelRequest(model="m", messages=[ChatMessage("user", "hi")])
    assert await collect(provider, request) == [TextDelta(text), Finish("stop")]

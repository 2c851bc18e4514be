"""Server-sent events from a response body's bytes, as the HTML standard frames them.

`SSEReader.feed(data)` takes the body's bytes as they arrive, in pieces cut anywhere, and returns
the `(event name, data)` of each event they complete; `end()` returns that of a last event the
body did not close with a blank line (a lenience: some servers end on `data: [DONE]\\n`).

Lines end at CR LF, LF or CR, and nowhere else. Reading the body as text lines would also break
them at the other characters Python's `str.splitlines` knows (U+0085, U+2028, U+2029, form and
vertical feeds, the separators U+001C-U+001E), which JSON may carry unescaped inside a string: a
model's text holding U+2028, sent raw by a server that does not escape it, would tear the event
in two. A CR that ends one piece and an LF that begins the next are one line end. Comments
(`:` lines) and fields other than `data` and `event` (`id`, `retry`) are skipped; an event's
`data` lines are joined with LF; an event without data is no event. The field names and values
are UTF-8, an invalid sequence read as U+FFFD; a byte order mark opening the body is dropped.

One call per piece of the body, one list back: no generator layer sits between the socket and
the adapter for each event.
"""

from __future__ import annotations

__all__ = ["SSEReader"]

_BOM = b"\xef\xbb\xbf"


class SSEReader:
    """The events of one body; see the module's docstring."""

    __slots__ = ("_cr", "_data", "_name", "_started", "_tail")

    def __init__(self) -> None:
        self._name = b""
        self._data: list[bytes] = []
        self._tail = b""  # the start of a line whose end has not arrived yet
        self._cr = False  # the last piece ended with CR: an LF opening the next one is its pair
        self._started = False

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        """The events that `data`, the body's next bytes, completes (often none, or one)."""
        if self._cr:
            self._cr = False
            if data[:1] == b"\n":
                data = data[1:]
        if not data:
            return []
        if not self._started:
            data = self._begin(data)
            if not data:
                return []
        self._cr = data[-1:] == b"\r"
        if self._tail:
            data = self._tail + data
        lines = data.splitlines()  # bytes: at CR LF, LF and CR only
        self._tail = b"" if data[-1:] in (b"\n", b"\r") else lines.pop()
        events: list[tuple[str, str]] = []
        for line in lines:
            if line:
                self._field(line)
            elif self._data:
                events.append(self._dispatch())
            else:
                self._name = b""
        return events

    def end(self) -> tuple[str, str] | None:
        """The event the body's last bytes left open, if it has data (once: the reader is reset)."""
        if self._tail:
            self._field(self._tail)
            self._tail = b""
        if self._data:
            return self._dispatch()
        self._name = b""
        return None

    def _begin(self, data: bytes) -> bytes:
        """`data` without the byte order mark that may open the body (once its first bytes are
        here to tell)."""
        data = self._tail + data
        self._tail = b""
        if len(data) < len(_BOM) and _BOM.startswith(data):
            self._tail = data  # too few bytes yet to tell
            return b""
        self._started = True
        return data.removeprefix(_BOM)

    def _field(self, line: bytes) -> None:
        if line.startswith(b"data:"):  # the common case first
            value = line[5:]
            self._data.append(value[1:] if value[:1] == b" " else value)
            return
        if line[:1] == b":":
            return
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":  # a bare `data` line: an empty data line
            self._data.append(value)
        elif name == b"event":
            self._name = value

    def _dispatch(self) -> tuple[str, str]:
        data, name = self._data, self._name
        self._data, self._name = [], b""
        text = data[0] if len(data) == 1 else b"\n".join(data)
        return name.decode("utf-8", "replace").strip(), text.decode("utf-8", "replace")

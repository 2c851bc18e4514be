"""The database clock's whole seconds (`{now_s}`, API timestamps) agree with the process clock's
`int(time.time())` at every millisecond SQLite can show, second boundaries included."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from store.db import render


def test_sqlite_whole_seconds__the_first_millisecond_of_a_second_is_that_second() -> None:
    """An exact second used to read as the one before for about half of all seconds (a Julian
    day's double), so a run stamped by the database could predate the messages stamped by the
    process just before it."""
    expression = render("SELECT {now_s}", "sqlite").replace("'now'", "?")
    conn = sqlite3.connect(":memory:")
    start = 1_796_531_601
    wrong = []
    for second in range(start, start + 3_000):
        for ms in (0, 1, 999):
            shown = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")
            (value,) = conn.execute(expression, (f"{shown}.{ms:03d}",)).fetchone()
            if value != second:
                wrong.append((second, ms, value))
    conn.close()
    assert wrong == []

"""The live tail's subscriptions: what `publish` and `publish_one` (a token delta) deliver."""

from __future__ import annotations

import pytest

from store import notify
from store.notify import Notifier
from store.types import RunEvent


def delta(run_id: str, seq: int) -> RunEvent:
    return RunEvent(run_id, seq, "thread.message.delta", {"seq": seq})


def test_publish_one__reaches_every_subscriber_of_its_run_in_order() -> None:
    """Each subscriber of the run gets every event once, in order; other runs' get none."""
    hub = Notifier()
    with hub.listen("run_a") as first, hub.listen("run_a") as second, hub.listen("run_b") as other:
        hub.publish_one("run_a", delta("run_a", 1))
        hub.publish("run_a", [delta("run_a", 2), delta("run_a", 3)])
        hub.publish_one("run_a", delta("run_a", 4))
        assert [e.seq for e in first.drain()] == [1, 2, 3, 4]
        assert [e.seq for e in second.drain()] == [1, 2, 3, 4]
        assert other.drain() == []
    hub.publish_one("run_a", delta("run_a", 5))  # nobody listens any more: nothing kept
    assert not hub.has_listeners("run_a")


def test_publish_one__a_subscriber_past_the_buffer_is_lagged_and_drops_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past `MAX_BUFFER` unread events the buffer is dropped and the subscription marked
    `lagged` (its reader catches up from the log); later events are not buffered."""
    monkeypatch.setattr(notify, "MAX_BUFFER", 3)
    hub = Notifier()
    with hub.listen("run_a") as live:
        lagged = []
        for seq in range(1, 6):
            hub.publish_one("run_a", delta("run_a", seq))
            lagged.append(live.lagged)
        assert lagged == [False, False, False, True, True]
        assert live.drain() == []

"""In-process wake-ups and the live tail of run event logs.

Two services, both hints on top of the durable store (polling the store remains the guarantee,
so a lost hint costs latency, never correctness; across processes Postgres LISTEN/NOTIFY plays
the same role):

- `event(key)` / `notify(key)`: a waiter takes the current `Event` for a key *before* it reads
  the state it waits on, then waits on it; `notify` sets and retires it after a commit. So a
  change committed between the read and the wait is never missed.
- `listen(run_id)` / `publish(run_id, events)`: every event appended to a run's log is published
  to the run's live subscribers after its commit; token deltas are published at once, before
  the batch that persists them is written, so a subscriber in this process sees each delta
  immediately. A subscriber that falls more than `MAX_BUFFER` events behind is marked `lagged`
  and catches up from the log instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import anyio

from store.types import RunEvent

QUEUE = "__queue__"
MAX_BUFFER = 100_000


class Subscription:
    """Live events of one run, buffered until read."""

    def __init__(self, hub: Notifier, run_id: str) -> None:
        self._hub = hub
        self.run_id = run_id
        self.buffer: deque[RunEvent] = deque()
        self.lagged = False
        self._wake: anyio.Event | None = None

    def _push(self, events: Iterable[RunEvent]) -> None:
        if self.lagged:
            return
        self.buffer.extend(events)
        if len(self.buffer) > MAX_BUFFER:
            self.buffer.clear()
            self.lagged = True
        if self._wake is not None:
            self._wake.set()

    def _push_one(self, event: RunEvent) -> None:
        """`_push` of a single event (a token delta: no batch to build)."""
        if self.lagged:
            return
        buffer = self.buffer
        buffer.append(event)
        if len(buffer) > MAX_BUFFER:
            buffer.clear()
            self.lagged = True
        if self._wake is not None:
            self._wake.set()

    def drain(self) -> list[RunEvent]:
        """Everything buffered so far (possibly nothing)."""
        items = list(self.buffer)
        self.buffer.clear()
        return items

    async def wait(self, timeout: float) -> None:
        """Return when something was published (or lagged), or after `timeout`."""
        if self.buffer or self.lagged:
            return
        self._wake = anyio.Event()
        with anyio.move_on_after(timeout):
            await self._wake.wait()
        self._wake = None

    def close(self) -> None:
        self._hub._unlisten(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Notifier:
    """Per-key one-shot events, re-armed on every notification, and live run subscriptions."""

    def __init__(self) -> None:
        self._events: dict[str, anyio.Event] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._subscriptions: dict[str, list[Subscription]] = {}

    def event(self, key: str) -> anyio.Event:
        """The event the next `notify(key)` will set."""
        ev = self._events.get(key)
        if ev is None:
            ev = self._events[key] = anyio.Event()
        return ev

    def notify(self, key: str) -> None:
        ev = self._events.pop(key, None)
        if ev is not None:
            ev.set()
        for listener in self._listeners:
            listener(key)

    def subscribe(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener(key)` on every notification; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def listen(self, run_id: str) -> Subscription:
        """Start receiving the run's events as they are published (close it when done)."""
        sub = Subscription(self, run_id)
        self._subscriptions.setdefault(run_id, []).append(sub)
        return sub

    def _unlisten(self, sub: Subscription) -> None:
        subs = self._subscriptions.get(sub.run_id)
        if subs is not None and sub in subs:
            subs.remove(sub)
            if not subs:
                del self._subscriptions[sub.run_id]

    def has_listeners(self, run_id: str) -> bool:
        return run_id in self._subscriptions

    def poke(self, run_id: str) -> None:
        """Wake the run's live subscribers with nothing: they re-read the log (another process
        appended to it)."""
        for sub in self._subscriptions.get(run_id, ()):
            if sub._wake is not None:
                sub._wake.set()

    def publish_one(self, run_id: str, event: RunEvent) -> None:
        """`publish` of one event: what a token delta costs, once per delta."""
        for sub in self._subscriptions.get(run_id, ()):
            sub._push_one(event)

    def publish(self, run_id: str, events: Iterable[RunEvent]) -> None:
        subs = self._subscriptions.get(run_id)
        if subs:
            batch = list(events)
            for sub in subs:
                sub._push(batch)

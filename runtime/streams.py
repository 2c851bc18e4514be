"""Run event streams: a replay of the durable log from a sequence number, then its live tail.

`run_events(store, run_id, after=N)` yields every event with `seq > N` exactly once, in order:
first from the log, then as they are published in this process (each token delta at once),
re-reading the log whenever a live event is missing (a gap, a lagging subscriber) or nothing
arrived for `poll` seconds (the events of a run executed by another process). It ends after the
run's next stop event: `requires_action` or a terminal status (the SDK streams' end), or with
`through_pauses=True` only a terminal one; and at once for a finished run whose log has been
read to the end. While it runs, the stream counts among the run's followers (`Store.following`),
so on Postgres a worker in another process announces each append, not only the run's stops.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Awaitable, Callable

import anyio
import sniffio

from runtime import states
from store.errors import BadRequestError
from store.notify import Subscription
from store.store import Store
from store.types import RunEvent

STOP_EVENTS = frozenset(f"thread.run.{s.value}" for s in states.POLL_STOP)
TERMINAL_EVENTS = frozenset(f"thread.run.{s.value}" for s in states.TERMINAL)
_PAGE = 500
_SPINS = 3
_BURST = 16
"""Events a stream hands on before it lets other tasks run: a reader catching up on a backlog
(a page of the log, or deltas buffered while it was busy) would otherwise parse and pass on all
of them in one step of the event loop, holding up every other stream meanwhile."""


def _checkpoint() -> Callable[[], Awaitable[None]]:
    """`anyio.lowlevel.checkpoint`, resolved once per stream: on asyncio, the `sleep(0)` anyio's
    backend awaits, without anyio looking the backend up again at every call (a spin per delta)."""
    if sniffio.current_async_library() == "asyncio":
        return functools.partial(asyncio.sleep, 0)
    return anyio.lowlevel.checkpoint


async def check_after(store: Store, run_id: str, after: int) -> None:
    """Refuse a resume point the run's log has not reached (or a negative one)."""
    if after < 0:
        raise BadRequestError(
            f"Invalid 'after': {after}. Expected a sequence number >= 0.",
            param="after",
            code="invalid_value",
        )
    last = await store.log.last_seq(run_id)
    if after > last:
        raise BadRequestError(
            f"Invalid 'after': {after}. Run {run_id} has logged {last} events so far; resume "
            "from a sequence number you received.",
            param="after",
            code="invalid_value",
        )


async def _next_events(
    live: Subscription, checkpoint: Callable[[], Awaitable[None]], poll: float
) -> list[RunEvent]:
    """The live tail's next events, waited for: none if it lagged or stayed quiet for `poll`."""
    # A streaming model usually sends its next delta within a loop iteration or two: look again
    # before paying for a timed wait.
    for _ in range(_SPINS):
        await checkpoint()
        events = live.drain()
        if events or live.lagged:
            return events
    await live.wait(poll)
    return live.drain()


async def run_events(
    store: Store,
    run_id: str,
    *,
    after: int = 0,
    poll: float = 0.25,
    through_pauses: bool = False,
) -> AsyncGenerator[RunEvent, None]:
    """Every event of the run after `after`, in order, until the run's next stop (see above)."""
    stops = TERMINAL_EVENTS if through_pauses else STOP_EVENTS
    last = after
    ended = False
    checkpoint = _checkpoint()
    async with store.log.following(run_id):
        with store.notifier.listen(run_id) as live:
            while True:
                # Catch up from the durable log.
                while True:
                    batch = await store.log.read_events(run_id, after=last, limit=_PAGE)
                    for i, event in enumerate(batch):
                        if i and not i % _BURST:
                            await checkpoint()
                        yield event
                        last = event.seq
                        if event.event in stops:
                            return
                    if len(batch) < _PAGE:
                        break
                if ended:
                    return
                status = await store.runs.status(run_id)
                if status is None:
                    return
                if states.is_terminal(status) and not live.buffer:
                    # The run may have ended (in another process) after the read above, writing its
                    # last events with it: read the log once more, then end.
                    ended = True
                    continue
                # Follow the live tail until it has a gap or goes quiet.
                while True:
                    if live.lagged:
                        live.lagged = False
                        break
                    events = live.drain() or await _next_events(live, checkpoint, poll)
                    if not events and not live.lagged:
                        break  # quiet for `poll`: look at the log and the run again
                    gap = False
                    for i, event in enumerate(events):
                        if i and not i % _BURST:
                            await checkpoint()
                        if event.seq <= last:
                            continue
                        if event.seq != last + 1:
                            gap = True
                            break
                        yield event
                        last = event.seq
                        if event.event in stops:
                            return
                    if gap:
                        break

"""`BlockingIterator`: an async iterator's items, read from a blocking thread.

A task on the client's event loop (through its blocking portal) pumps the async iterator into a
thread-safe queue, so a blocking reader costs no thread hop per item. An error the iterator
raises is raised in the reading thread, after the items before it. What the sync client's run
streams (`EventStream`) and completion streams (`CompletionStream`) share.
"""

from __future__ import annotations

import queue
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from anyio.from_thread import BlockingPortal

T = TypeVar("T")
_END = object()


class BlockingIterator(Generic[T]):
    """The items of `source`, in order, each once; `close()` stops reading (and calls `aclose`)."""

    def __init__(
        self,
        portal: BlockingPortal,
        source: AsyncIterator[T],
        aclose: Callable[[], Awaitable[None]],
    ) -> None:
        self._portal = portal
        self._source = source
        self._aclose = aclose
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = False
        self._future = portal.start_task_soon(self._pump)

    async def _pump(self) -> None:
        try:
            async for item in self._source:
                self._queue.put(item)
        except Exception as exc:  # noqa: BLE001  (re-raised in the reading thread)
            self._queue.put(exc)
        finally:
            await self._aclose()
            self._queue.put(_END)

    def __iter__(self) -> BlockingIterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, Exception):
            self._done = True
            raise item
        found: T = item
        return found

    def close(self) -> None:
        """Stop reading (the source is closed on the event loop)."""
        self._done = True
        if not self._future.done():
            self._future.cancel()

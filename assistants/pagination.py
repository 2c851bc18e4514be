"""Cursor pages that iterate across pages, like openai-python's `SyncCursorPage`/`AsyncPaginator`.

`await client.assistants.list()` is one page (`.data`, `.has_more`, `.first_id`, `.last_id`);
`async for a in client.assistants.list()` walks every item, fetching the next page with
`after=<last id>` as the SDK does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeAlias, TypeVar

from store.types import ListPage, Model

T = TypeVar("T", bound=Model)

# A string: at run time `ListPage[T]` would make (and validate) a parametrized model class at
# import, for an alias only the type checker reads.
Fetch: TypeAlias = "Callable[[str | None], Awaitable[ListPage[T]]]"


class AsyncCursorPage(Generic[T]):
    """One page, with a way to fetch the next."""

    def __init__(self, page: ListPage[T], fetch: Fetch[T]) -> None:
        self._page = page
        self._fetch = fetch
        self.data: list[T] = page.data
        self.has_more: bool = page.has_more
        self.first_id: str | None = page.first_id
        self.last_id: str | None = page.last_id
        self.object = "list"

    def has_next_page(self) -> bool:
        return self.has_more and bool(self.data)

    async def get_next_page(self) -> AsyncCursorPage[T]:
        if not self.has_next_page():
            raise RuntimeError("No more pages: check has_next_page() first.")
        return AsyncCursorPage(await self._fetch(self.data[-1].id), self._fetch)  # type: ignore[attr-defined]

    async def iter_pages(self) -> AsyncIterator[AsyncCursorPage[T]]:
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = await page.get_next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def to_dict(self) -> dict[str, Any]:
        return self._page.to_dict()


class AsyncPaginator(Generic[T]):
    """What `list()` returns on the async client: await it for a page, or iterate every item."""

    def __init__(self, fetch: Fetch[T]) -> None:
        self._fetch = fetch

    async def first_page(self) -> AsyncCursorPage[T]:
        return AsyncCursorPage(await self._fetch(None), self._fetch)

    def __await__(self) -> Generator[Any, None, AsyncCursorPage[T]]:
        return self.first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self.first_page()
        async for item in page:
            yield item


class SyncCursorPage(Generic[T]):
    """A page on the sync client; iterating it walks every item across pages."""

    def __init__(self, page: AsyncCursorPage[T], call: Callable[..., Any]) -> None:
        self._page = page
        self._call = call
        self.data: list[T] = page.data
        self.has_more = page.has_more
        self.first_id = page.first_id
        self.last_id = page.last_id
        self.object = "list"

    def has_next_page(self) -> bool:
        return self._page.has_next_page()

    def get_next_page(self) -> SyncCursorPage[T]:
        return SyncCursorPage(self._call(self._page.get_next_page), self._call)

    def iter_pages(self) -> Iterator[SyncCursorPage[T]]:
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.get_next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data

    def to_dict(self) -> dict[str, Any]:
        return self._page.to_dict()

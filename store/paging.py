"""Pages of a list by `seq`: the one pagination every list of the API and the store uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from store.db import Database, Row
from store.errors import BadRequestError
from store.types import ListPage, Model

M = TypeVar("M", bound=Model)


async def page(
    db: Database,
    *,
    table: str,
    columns: str,
    scope: str,
    params: dict[str, Any],
    limit: int,
    order: str,
    after: str | None,
    before: str | None,
    convert: Callable[[Row], M],
) -> ListPage[M]:
    """One page by `seq` (insertion order, the `created_at` order with a stable tiebreak).

    Walks the `(scope, seq)` index from the cursor: no OFFSET, no scan, the same cost on page
    one and page five hundred.
    """
    forward = before is None
    conditions = [scope]
    args = dict(params)
    cursor_sql = f"(SELECT seq FROM {table} WHERE id = :{{name}} AND {scope})"
    if after is not None:
        op = "<" if order == "desc" else ">"
        conditions.append(f"seq {op} " + cursor_sql.format(name="after_id"))
        args["after_id"] = after
    if before is not None:
        op = ">" if order == "desc" else "<"
        conditions.append(f"seq {op} " + cursor_sql.format(name="before_id"))
        args["before_id"] = before
    ascending = (order == "asc") == forward
    sql = (
        f"SELECT {columns} FROM {table} WHERE {' AND '.join(conditions)} "
        f"ORDER BY seq {'ASC' if ascending else 'DESC'} LIMIT :limit_plus_one"
    )
    args["limit_plus_one"] = limit + 1
    rows = await db.fetch(sql, args)
    if not rows:
        await _check_cursors(db, table, scope, params, after=after, before=before)
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    data = [convert(r) for r in rows]
    return ListPage[M](
        data=data,
        first_id=data[0].id if data else None,  # type: ignore[attr-defined]
        last_id=data[-1].id if data else None,  # type: ignore[attr-defined]
        has_more=has_more,
    )


async def _check_cursors(
    db: Database,
    table: str,
    scope: str,
    params: dict[str, Any],
    *,
    after: str | None,
    before: str | None,
) -> None:
    for name, value in (("after", after), ("before", before)):
        if value is None:
            continue
        row = await db.fetchrow(
            f"SELECT 1 AS found FROM {table} WHERE id = :cursor AND {scope}",
            {**params, "cursor": value},
        )
        if row is None:
            raise BadRequestError(
                f"Invalid '{name}': no object with id '{value}' in this list. Use the id of "
                "an item from the previous page.",
                param=name,
                code="invalid_value",
            )

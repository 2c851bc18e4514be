"""Search in `store.vector_stores`: SQLite's FTS5 (`chunks_fts`, BM25) or Postgres full-text
search (`ts_rank_cd` over a GIN index), scores mapped into 0..1; with the query's embedding,
blended with vector similarity (`store.vectors`)."""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from typing import Any

from store.db import Row
from store.errors import BadRequestError
from store.filetypes import VectorStoreSearchResult
from store.pgvector import PgVector, detect
from store.rows import loads
from store.vector_rows import VectorStoreRows, lapsed
from store.vectors import QueryVector, blend, more_scores, scores

QUERY_TERMS_MAX = 64


def query_terms(query: str) -> list[str]:
    """The words of a query, lowercased, deduplicated, at most `QUERY_TERMS_MAX`."""
    seen: dict[str, None] = {}
    for word in re.findall(r"\w+", query.lower()):
        seen.setdefault(word, None)
    return list(seen)[:QUERY_TERMS_MAX]


_COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def matches(filters: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Whether a file's attributes pass a comparison or compound (`and`/`or`) filter."""
    kind = filters["type"]
    if kind in ("and", "or"):
        results = (matches(f, attributes) for f in filters["filters"])
        return all(results) if kind == "and" else any(results)
    if filters["key"] not in attributes:
        return bool(kind == "ne")
    value, wanted = attributes[filters["key"]], filters["value"]
    try:
        compare: Any = _COMPARE[kind]
        return bool(compare(value, wanted))
    except TypeError:
        return False


class VectorSearch(VectorStoreRows):
    """Search over the chunks of vector stores: lexical, or hybrid given the query's vector."""

    _pgvector: PgVector | None = None
    _pgvector_checked = False

    async def search(
        self,
        project: str,
        vs_ids: Sequence[str],
        query: str,
        *,
        limit: int,
        score_threshold: float = 0.0,
        filters: dict[str, Any] | None = None,
        vector: QueryVector | None = None,
    ) -> builtins.list[VectorStoreSearchResult]:
        """The chunks best matching `query` in the stores, best first, scored 0..1: lexically,
        and by similarity to `vector` (the query's embedding) when given. An expired store is a
        400 naming it."""
        for vs_id in vs_ids:
            if lapsed((await self._row(project, vs_id))["expires_at"]):
                raise BadRequestError(
                    f"The vector store '{vs_id}' has expired and can no longer be searched. "
                    "Create a new vector store and add the files to it.",
                    param="vector_store_id",
                    code="vector_store_expired",
                )
        terms = query_terms(query)
        if (not terms and vector is None) or not vs_ids:
            return []
        fetch = limit if filters is None and vector is None else max(limit * 10, 100)
        rows, lexical, near = await self._candidates(vs_ids, terms, vector, fetch)
        ranked: dict[int, tuple[float, Row]] = {}
        for r in rows:
            vector_score = None if vector is None else near.get(r["seq"], 0.0)
            lexical_score = lexical.get(r["seq"], 0.0) if terms else None
            ranked.setdefault(r["seq"], (blend(vector_score, lexical_score), r))
        best = sorted(ranked.values(), key=lambda sr: (-sr[0], sr[1]["seq"]))
        return await self._results(best, limit, score_threshold, filters)

    async def pgvector(self) -> PgVector | None:
        """The database's pgvector extension (looked for once, at the first vector search)."""
        if not self._pgvector_checked:
            self._pgvector = await detect(self.db)
            self._pgvector_checked = True
        return self._pgvector

    async def _candidates(
        self,
        vs_ids: Sequence[str],
        terms: builtins.list[str],
        vector: QueryVector | None,
        fetch: int,
    ) -> tuple[builtins.list[Row], dict[int, float], dict[int, float]]:
        """The lexical matches and the nearest chunks (each at most `fetch`), with their
        lexical scores and their vector scores, by chunk seq."""
        params: dict[str, Any] = {"limit": fetch}
        names = []
        for i, vs_id in enumerate(vs_ids):
            params[f"vs{i}"] = vs_id
            names.append(f":vs{i}")
        within = f"c.vector_store_id IN ({', '.join(names)})"
        joiner = " OR " if self.db.dialect == "sqlite" else " | "
        params["q"] = joiner.join(f'"{t}"' if self.db.dialect == "sqlite" else t for t in terms)
        pgv = None if vector is None else await self.pgvector()
        near: dict[int, float] = {}
        async with self.db.transaction(heavy=True, readonly=True) as tx:
            rows = await tx.fetch(self._lexical_sql(within), params) if terms else []
            lexical = {r["seq"]: self._lexical(r["raw"]) for r in rows}
            if vector is not None:
                dialect = self.db.dialect
                near, near_rows = await scores(tx, dialect, within, params, vector, fetch, pgv)
                unscored = [r["seq"] for r in rows if r["seq"] not in near]
                near.update(await more_scores(tx, dialect, unscored, vector, pgv))
                rows = [*rows, *near_rows]
        return rows, lexical, near

    def _lexical_sql(self, within: str) -> str:
        if self.db.dialect == "sqlite":
            return (
                "SELECT c.seq, c.file_id, c.vector_store_id, c.text, -bm25(chunks_fts) AS raw "
                "FROM chunks_fts JOIN chunks c ON c.seq = chunks_fts.rowid "
                f"WHERE chunks_fts MATCH :q AND {within} ORDER BY bm25(chunks_fts) LIMIT :limit"
            )
        return (
            "SELECT c.seq, c.file_id, c.vector_store_id, c.text, "
            "ts_rank_cd(to_tsvector('english', c.text), q, 32) AS raw "
            "FROM chunks c, to_tsquery('english', :q) q "
            f"WHERE to_tsvector('english', c.text) @@ q AND {within} "
            "ORDER BY raw DESC LIMIT :limit"
        )

    async def _results(
        self,
        best: builtins.list[tuple[float, Row]],
        limit: int,
        score_threshold: float,
        filters: dict[str, Any] | None,
    ) -> builtins.list[VectorStoreSearchResult]:
        """The ranked chunks as results: their files still in the store, passing the filters
        and the threshold, at most `limit`."""
        files = await self._file_details({(r["vector_store_id"], r["file_id"]) for _, r in best})
        results = []
        for score, r in best:
            detail = files.get((r["vector_store_id"], r["file_id"]))
            if detail is None:
                continue
            filename, attributes = detail
            if filters is not None and not matches(filters, attributes or {}):
                continue
            if score < score_threshold:
                continue
            results.append(
                VectorStoreSearchResult.model_validate(
                    {
                        "file_id": r["file_id"],
                        "filename": filename,
                        "score": round(score, 6),
                        "attributes": attributes,
                        "content": [{"type": "text", "text": r["text"]}],
                    }
                )
            )
            if len(results) == limit:
                break
        return results

    def _lexical(self, raw: Any) -> float:
        """A lexical rank as a 0..1 score (BM25 grows without bound; ts_rank_cd's is 0..1)."""
        value = max(float(raw), 0.0)
        return value / (1.0 + value) if self.db.dialect == "sqlite" else min(value, 1.0)

    async def _file_details(
        self, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, dict[str, Any] | None]]:
        out: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {}
        for vs_id, file_id in keys:
            row = await self.db.fetchrow(
                "SELECT f.filename, v.attributes FROM vector_store_files v JOIN files f "
                "ON f.id = v.id WHERE v.vector_store_id = :vs AND v.id = :f",
                {"vs": vs_id, "f": file_id},
            )
            if row is not None:
                out[(vs_id, file_id)] = (row["filename"], loads(row["attributes"]))
        return out

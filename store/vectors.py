"""Vector similarity over the chunks' embeddings, and its blend with the lexical score (hybrid).

Embeddings are unit vectors, so a dot product is the cosine similarity; a chunk's vector score
is that cosine clipped to 0..1. Where they live and how they are scored:

- SQLite: `chunks.embedding` holds float32 bytes. The `sqlite-vec` extension cannot be used with
  a Python whose `sqlite3` is built without extension loading (`enable_load_extension`), as this
  project's reference interpreter is, so the searched stores' vectors are read and scored with
  numpy off the event loop: an exact scan, ~10,000 chunks in tens of milliseconds
  (benchmarks/files.py reports it), growing linearly with the chunks of the searched stores.
- Postgres: `chunks.embedding` is a `real[]` and the dot product is computed in SQL
  (`unnest` of both arrays), an exact scan of the searched stores' chunks with no index: fine up
  to some tens of thousands of chunks per search, linear past that. Larger collections want an
  approximate index (pgvector's HNSW), which this store does not use.

Hybrid: with both a query vector and lexical matches, a chunk's score is the mean of its vector
score and its lexical score (0 when it is not among the lexical matches), so a chunk that
shares no word with the query still ranks by meaning, and one that has both ranks first.

Chunks embedded by another model than the one configured (or of another length) cannot be
compared with the query: searching them is a 400 that says to add the files again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import numpy as np

from store.db import Dialect, Row, Tx
from store.errors import BadRequestError

VECTOR_WEIGHT = 0.5
"""The vector score's share of a hybrid score (the lexical score has the rest)."""


@dataclass(frozen=True)
class QueryVector:
    """A search query's unit vector and the model (as recorded on chunks) that made it."""

    model: str
    vector: list[float]


def encode(dialect: Dialect, vector: Sequence[float] | None) -> Any:
    """A vector as its column stores it: float32 bytes (SQLite), a list (Postgres `real[]`)."""
    if vector is None:
        return None
    if dialect == "sqlite":
        return np.asarray(vector, dtype="<f4").tobytes()
    return list(vector)


def mismatch(vs_id: str, found_model: str, found_dims: int, query: QueryVector) -> BadRequestError:
    return BadRequestError(
        f"The vector store '{vs_id}' holds chunks embedded by '{found_model}' ({found_dims} "
        f"dimensions), which cannot be compared with the configured embedding model "
        f"'{query.model}' ({len(query.vector)} dimensions). Add its files again to embed them "
        "with the current model.",
        param="query",
        code="embedding_mismatch",
    )


async def scores(
    tx: Tx, dialect: Dialect, within: str, params: dict[str, Any], query: QueryVector, fetch: int
) -> tuple[dict[int, float], list[Row]]:
    """The vector scores of the best `fetch` chunks `within` the searched stores, as
    {chunk seq: score}, and those chunks' rows (seq, file_id, vector_store_id, text).

    On SQLite every embedded chunk of the stores is scored (the returned scores cover them all)."""
    if dialect == "sqlite":
        rows = await tx.fetch(
            "SELECT c.seq, c.vector_store_id, c.embedding_model, c.embedding FROM chunks c "
            f"WHERE {within} AND c.embedding IS NOT NULL",
            params,
        )
        ranked = await anyio.to_thread.run_sync(_rank, rows, query)
        best = sorted(ranked, key=lambda seq: -ranked[seq])[:fetch]
        return ranked, await _texts(tx, best)
    wrong = await tx.fetchrow(
        "SELECT c.vector_store_id, c.embedding_model, array_length(c.embedding, 1) AS dims "
        f"FROM chunks c WHERE {within} AND c.embedding IS NOT NULL AND "
        "(c.embedding_model <> :model OR array_length(c.embedding, 1) <> :dims) LIMIT 1",
        {**params, "model": query.model, "dims": len(query.vector)},
    )
    if wrong is not None:
        raise mismatch(wrong["vector_store_id"], wrong["embedding_model"], wrong["dims"], query)
    rows = await tx.fetch(
        f"SELECT c.seq, c.file_id, c.vector_store_id, c.text, {_PG_DOT} AS raw FROM chunks c "
        f"WHERE {within} AND c.embedding IS NOT NULL ORDER BY raw DESC LIMIT :fetch",
        {**params, "qv": query.vector, "fetch": fetch},
    )
    return {r["seq"]: max(float(r["raw"]), 0.0) for r in rows}, rows


async def more_scores(
    tx: Tx, dialect: Dialect, seqs: Sequence[int], query: QueryVector
) -> dict[int, float]:
    """Vector scores of chunks `scores` did not return (Postgres: lexical matches outside the
    vector candidates); SQLite's `scores` already covers every chunk."""
    if dialect == "sqlite" or not seqs:
        return {}
    names = {f"s{i}": seq for i, seq in enumerate(seqs)}
    rows = await tx.fetch(
        f"SELECT c.seq, {_PG_DOT} AS raw FROM chunks c WHERE c.embedding IS NOT NULL AND "
        f"c.seq IN ({', '.join(':' + n for n in names)})",
        {**names, "qv": query.vector},
    )
    return {r["seq"]: max(float(r["raw"]), 0.0) for r in rows}


def blend(vector: float | None, lexical: float | None) -> float:
    """A chunk's score from its vector score and lexical score (None: that search is off)."""
    if vector is None:
        return lexical or 0.0
    if lexical is None:
        return vector
    return VECTOR_WEIGHT * vector + (1 - VECTOR_WEIGHT) * lexical


_PG_DOT = "(SELECT sum(a * b) FROM unnest(c.embedding, CAST(:qv AS real[])) AS t(a, b))"


def _rank(rows: Sequence[Row], query: QueryVector) -> dict[int, float]:
    """Each row's cosine with the query (clipped at 0), by seq; a 400 for a foreign vector."""
    dims = len(query.vector)
    for r in rows:
        if r["embedding_model"] != query.model or len(r["embedding"]) != dims * 4:
            found = len(r["embedding"]) // 4
            raise mismatch(r["vector_store_id"], r["embedding_model"], found, query)
    if not rows:
        return {}
    matrix = np.frombuffer(b"".join(r["embedding"] for r in rows), dtype="<f4")
    products = matrix.reshape(len(rows), dims) @ np.asarray(query.vector, dtype="<f4")
    clipped = np.clip(products, 0.0, 1.0)
    return {r["seq"]: float(s) for r, s in zip(rows, clipped.tolist(), strict=True)}


async def _texts(tx: Tx, seqs: Sequence[int]) -> list[Row]:
    if not seqs:
        return []
    names = {f"s{i}": seq for i, seq in enumerate(seqs)}
    rows = await tx.fetch(
        "SELECT c.seq, c.file_id, c.vector_store_id, c.text FROM chunks c "
        f"WHERE c.seq IN ({', '.join(':' + n for n in names)})",
        names,
    )
    order = {seq: i for i, seq in enumerate(seqs)}
    return sorted(rows, key=lambda r: order[r["seq"]])

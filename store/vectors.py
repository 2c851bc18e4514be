"""Vector similarity over the chunks' embeddings, and its blend with the lexical score (hybrid).

Embeddings are unit vectors, so a dot product is the cosine similarity; a chunk's vector score
is that cosine clipped to 0..1. Where they live and how they are scored:

- SQLite: `chunks.embedding` holds float32 bytes. The `sqlite-vec` extension cannot be used with
  a Python whose `sqlite3` is built without extension loading (`enable_load_extension`), as this
  project's reference interpreter is, so the dot product is the store's own SQL function
  `vec_dot` (numpy, in the connection's thread: a search is a heavy, off-loop transaction). It
  is an exact scan of the searched stores' embedded chunks, reading every vector (3 KB a chunk
  at 768 dimensions): at 10,000 such chunks 70 to 160 ms a search (p50 of two runs) on a busy
  2-core machine, where the lexical search takes 4 to 10 ms (benchmarks/files.py), growing
  linearly.
- Postgres: `chunks.embedding` is a `real[]`. With the pgvector extension installed in the
  database (`store.pgvector`: the operator creates it, the store finds it), a chunk's score is
  pgvector's inner product of the array cast to `vector(N)`, an exact scan unless an HNSW index
  for that length exists; without it, the dot product is computed in SQL (`unnest` of both
  arrays). At 768 dimensions on a busy 2-core machine (`benchmarks/vectors.py`, p50): 1,000
  chunks 0.12 s with arrays against 12 ms with pgvector; 10,000 chunks 1.3 s against 0.14 s;
  100,000 chunks 15.5 s against 1.0 s, and 78 ms with an HNSW index. So without pgvector the
  scan suits stores of up to about a thousand embedded chunks per search; pgvector's exact scan
  up to about ten thousand; past that, an HNSW index.

Hybrid: with both a query vector and lexical matches, a chunk's score is the mean of its vector
score and its lexical score (0 when it is not among the lexical matches), so a chunk that
shares no word with the query still ranks by meaning, and one that has both ranks first.

Chunks embedded by another model than the one configured (or of another length, as recorded in
`embedding_dims`) cannot be compared with the query: searching them is a 400 that says to add
the files again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from store.db import Dialect, Row, Tx
from store.errors import BadRequestError
from store.pgvector import PgVector


def vec_dot(a: bytes | None, b: bytes | None) -> float | None:
    """SQL `vec_dot(x, y)` on SQLite: the dot product of two float32 vectors (chunk embeddings),
    computed in the connection's thread; NULL if either is NULL or their lengths differ."""
    if a is None or b is None or len(a) != len(b):
        return None
    # numpy (~100 ms to import) loads with the first vector search, not with the package
    import numpy as np  # noqa: PLC0415

    return float(np.dot(np.frombuffer(a, "<f4"), np.frombuffer(b, "<f4")))


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
        import numpy as np  # noqa: PLC0415  (loads with the first embedding, not the package)

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


def _raw_sql(dialect: Dialect, pgv: PgVector | None, dims: int) -> str:
    """A chunk's dot product with the query (`:qv`), for chunks of the query's length; with
    pgvector its negative (`<#>`, the order an HNSW index returns), which `_score` turns back."""
    if dialect == "sqlite":
        return "vec_dot(c.embedding, :qv)"
    if pgv is None:
        return "(SELECT sum(a * b) FROM unnest(c.embedding, CAST(:qv AS real[])) AS t(a, b))"
    return pgv.distance(pgv.cast("c.embedding", dims), pgv.cast("CAST(:qv AS real[])", dims))


def _score(raw: Any, pgv: PgVector | None) -> float:
    """A chunk's vector score: its cosine with the query clipped to 0..1."""
    dot = -float(raw) if pgv is not None else float(raw)
    return min(max(dot, 0.0), 1.0)


def _comparable(query: QueryVector) -> str:
    """Chunks embedded by the query's model, at its length (a literal: a partial index on
    `embedding_dims` must see it)."""
    return f"c.embedding_model = :model AND c.embedding_dims = {len(query.vector)}"


def _query_params(dialect: Dialect, query: QueryVector) -> dict[str, Any]:
    return {"qv": encode(dialect, query.vector), "model": query.model}


async def _refuse_foreign(tx: Tx, within: str, params: dict[str, Any], query: QueryVector) -> None:
    """A 400 if the searched stores hold vectors of another model or length (read from the
    chunks' model and length columns, not their vectors)."""
    found = await tx.fetchrow(
        "SELECT c.vector_store_id, c.embedding_model, c.embedding_dims FROM chunks c "
        f"WHERE {within} AND c.embedding_dims IS NOT NULL AND (c.embedding_model <> :model "
        "OR c.embedding_dims <> :dims) LIMIT 1",
        {**params, "model": query.model, "dims": len(query.vector)},
    )
    if found is not None:
        raise mismatch(
            found["vector_store_id"], found["embedding_model"], found["embedding_dims"], query
        )


async def scores(
    tx: Tx,
    dialect: Dialect,
    within: str,
    params: dict[str, Any],
    query: QueryVector,
    fetch: int,
    pgv: PgVector | None = None,
) -> tuple[dict[int, float], list[Row]]:
    """The vector scores of the best `fetch` chunks `within` the searched stores, as
    {chunk seq: score}, and those chunks' rows (seq, file_id, vector_store_id, text); a 400 if
    the stores hold vectors of another model. With `pgv`, scored by pgvector."""
    await _refuse_foreign(tx, within, params, query)
    if pgv is not None:
        await pgv.tune(tx, fetch)
    rows = await tx.fetch(
        f"SELECT c.seq, c.file_id, c.vector_store_id, c.text, "
        f"{_raw_sql(dialect, pgv, len(query.vector))} AS raw FROM chunks c WHERE {within} AND "
        f"{_comparable(query)} ORDER BY raw {'DESC' if pgv is None else 'ASC'} LIMIT :fetch",
        {**params, **_query_params(dialect, query), "fetch": fetch},
    )
    return {r["seq"]: _score(r["raw"], pgv) for r in rows}, rows


async def more_scores(
    tx: Tx,
    dialect: Dialect,
    seqs: Sequence[int],
    query: QueryVector,
    pgv: PgVector | None = None,
) -> dict[int, float]:
    """Vector scores of chunks `scores` did not return (lexical matches outside the vector
    candidates)."""
    if not seqs:
        return {}
    names = {f"s{i}": seq for i, seq in enumerate(seqs)}
    raw = _raw_sql(dialect, pgv, len(query.vector))
    rows = await tx.fetch(
        f"SELECT c.seq, {raw} AS raw FROM chunks c WHERE {_comparable(query)} "
        f"AND c.seq IN ({', '.join(':' + n for n in names)})",
        {**names, **_query_params(dialect, query)},
    )
    return {r["seq"]: _score(r["raw"], pgv) for r in rows}


def blend(vector: float | None, lexical: float | None) -> float:
    """A chunk's score from its vector score and lexical score (None: that search is off)."""
    if vector is None:
        return lexical or 0.0
    if lexical is None:
        return vector
    return VECTOR_WEIGHT * vector + (1 - VECTOR_WEIGHT) * lexical

"""Vector search on Postgres as a store grows: the `real[]` scan in SQL, pgvector's exact scan,
and pgvector with an HNSW index, on the same chunks.

    .venv/bin/python benchmarks/vectors.py --database-url postgresql+asyncpg://.../db
    .venv/bin/python benchmarks/vectors.py --database-url URL --sizes 1000,10000 --queries 5

The database needs the `vector` extension (`scripts/pgvector_server.sh start DIR` prints the URL
of one); the benchmark works in a schema of its own, dropped at the end. One vector store grows
to each size in turn (unit vectors of `--dims` dimensions, random or around `--clusters`
topics, written straight into `chunks`); at each size, interleaved over the same query
vectors, the store's vector-only search (`vector_stores.search` with the query's vector, top
20: the scoring alone, no embeddings server) runs three ways:

- arrays: the store scoring `real[]` arrays in SQL, as it does on a database without pgvector
  (the store is told it found no extension);
- pgvector exact: the store with pgvector and no index (a scan of the store's chunks);
- HNSW: after `CREATE INDEX ... USING hnsw` for the length (the statement the README gives; its
  build time is reported), with the recall of its top 20 against the exact top 20 (random
  vectors are HNSW's worst case; embeddings of text cluster by topic, as `--clusters` makes).

The index is dropped before the store grows again. p50 per way; the array scan at 100,000
chunks takes seconds a query, so `--queries` stays small (default 5; 20 for the pgvector ways).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import numpy as np

from store.store import Store
from store.vectors import QueryVector

MODEL = "bench/random"


CLUSTERS = 0
"""Topics the vectors gather around (`--clusters`); 0: uniformly random vectors."""


def unit_vectors(count: int, dims: int, seed: int) -> Any:
    """`count` unit vectors: uniformly random, or each near one of `CLUSTERS` topic centres
    (the centre plus noise as long as it: a cosine of about 0.5 within a topic, about 0
    across), as embeddings of text on a few hundred subjects are."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((count, dims)).astype("float32")
    values /= np.linalg.norm(values, axis=1, keepdims=True)
    if CLUSTERS:
        centres = np.random.default_rng(0).standard_normal((CLUSTERS, dims)).astype("float32")
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        values += centres[rng.integers(0, CLUSTERS, count)]
        values /= np.linalg.norm(values, axis=1, keepdims=True)
    return values


async def grow(store: Store, vs_id: str, start: int, end: int, dims: int) -> None:
    """Chunks `start`..`end` of the store, with their embeddings, written in batches."""
    batch = 2000
    for first in range(start, end, batch):
        vectors = unit_vectors(min(batch, end - first), dims, seed=first)
        rows = [
            {"vs": vs_id, "f": f"file-{(first + i) // 1000}", "pos": first + i, "emb": list(v)}
            for i, v in enumerate(vectors.tolist())
        ]
        async with store.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO chunks (vector_store_id, file_id, position, text, tokens, embedding, "
                f"embedding_model, embedding_dims) VALUES (:vs, :f, :pos, 'x', 1, :emb, "
                f"'{MODEL}', {dims})",
                rows,
            )
    async with store.db.transaction() as tx:
        for number in range(start // 1000, (end + 999) // 1000):
            names = {"id": f"file-{number}", "vs": vs_id, "name": f"part{number}.txt"}
            await tx.execute(
                "INSERT INTO files (id, project, created_at, bytes, filename, purpose, sha256, "
                "storage) VALUES (:id, 'default', 0, 1, :name, 'assistants', '', '') "
                "ON CONFLICT (id) DO NOTHING",
                names,
            )
            await tx.execute(
                "INSERT INTO vector_store_files (id, vector_store_id, project, created_at, status, "
                "chunking_strategy) SELECT CAST(:id AS VARCHAR), :vs, 'default', 0, 'completed', "
                "'{}' WHERE NOT EXISTS (SELECT 1 FROM vector_store_files WHERE id = :id)",
                names,
            )
    await store.db.executescript("ANALYZE chunks")


async def timed(store: Store, vs_id: str, query: QueryVector) -> float:
    """One vector-only search of the store (top 20), in seconds."""
    started = time.perf_counter()
    found = await store.vector_stores.search("default", [vs_id], "", limit=20, vector=query)
    assert len(found) == 20
    return time.perf_counter() - started


async def top_seqs(store: Store, vs_id: str, query: QueryVector, dims: int) -> list[int]:
    """The top 20 (seq) as the store's pgvector statement returns them: exact without an
    index, by the HNSW index once there is one."""
    pgv = await store.vector_stores.pgvector()
    assert pgv is not None
    dist = pgv.distance(pgv.cast("embedding", dims), pgv.cast("CAST(:q AS real[])", dims))
    async with store.db.transaction(readonly=True) as tx:
        await pgv.tune(tx, 200)
        found = await tx.fetch(
            f"SELECT seq FROM chunks WHERE vector_store_id = :vs AND embedding_dims = {dims} "
            f"AND embedding_model = '{MODEL}' ORDER BY {dist} LIMIT 20",
            {"vs": vs_id, "q": query.vector},
        )
    return [r["seq"] for r in found]


def p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


async def at_size(store: Store, vs_id: str, size: int, dims: int, queries: int) -> None:
    asks = [QueryVector(MODEL, v) for v in unit_vectors(20, dims, seed=10**9 + size).tolist()]
    arrays, exact = [], []
    pgv = await store.vector_stores.pgvector()
    truths = [set(await top_seqs(store, vs_id, ask, dims)) for ask in asks]
    for i, ask in enumerate(asks):
        store.vector_stores._pgvector = None  # the store as on a database without pgvector
        if i < queries:
            arrays.append(await timed(store, vs_id, ask))
        store.vector_stores._pgvector = pgv
        exact.append(await timed(store, vs_id, ask))
    assert pgv is not None
    started = time.perf_counter()
    async with store.db.transaction() as tx:
        await tx.execute("SET LOCAL maintenance_work_mem = '1GB'")
        await tx.execute(
            f"CREATE INDEX bench_hnsw ON chunks USING hnsw (({pgv.cast('embedding', dims)}) "
            f'"{pgv.schema}".vector_ip_ops) WHERE embedding_dims = {dims}'
        )
    built = time.perf_counter() - started
    indexed, recall = [], []
    for ask, truth in zip(asks, truths, strict=True):
        indexed.append(await timed(store, vs_id, ask))
        recall.append(len(truth & set(await top_seqs(store, vs_id, ask, dims))) / len(truth))
    await store.db.executescript("DROP INDEX bench_hnsw")
    print(f"{size:>7,} chunks x {dims}: arrays p50 {p50(arrays):8.1f} ms ({len(arrays)} q); "
          f"pgvector exact p50 {p50(exact):7.1f} ms; HNSW p50 {p50(indexed):6.1f} ms, recall@20 "
          f"{statistics.mean(recall):.2f}, built in {built:.1f} s; arrays/exact "
          f"{p50(arrays) / p50(exact):.0f}x, exact/HNSW {p50(exact) / p50(indexed):.0f}x",
          flush=True)  # fmt: skip


async def main(url: str, sizes: list[int], dims: int, queries: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    dsn = "postgresql://" + url.split("://", 1)[1]
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    store = await Store.open(f"{url}{sep}search_path={schema}")
    try:
        if await store.vector_stores.pgvector() is None:
            raise SystemExit("the database has no vector extension: CREATE EXTENSION vector")
        made = await store.vector_stores.create(
            "default", name="bench", metadata=None, expires_after=None, file_ids=[], chunking={}
        )
        grown = 0
        for size in sizes:
            await grow(store, made.id, grown, size, dims)
            grown = size
            await at_size(store, made.id, size, dims, queries)
    finally:
        await store.close()
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="Postgres with pgvector")
    parser.add_argument("--sizes", default="1000,10000,100000", help="chunks, comma-separated")
    parser.add_argument("--dims", type=int, default=768)
    parser.add_argument("--queries", type=int, default=5, help="array-scan queries per size")
    parser.add_argument("--clusters", type=int, default=0, help="topics (0: random vectors)")
    args = parser.parse_args()
    CLUSTERS = args.clusters
    sizes = [int(s) for s in args.sizes.split(",")]
    asyncio.run(main(args.database_url, sizes, args.dims, args.queries))

"""What files and file_search cost: ingestion rates, lexical search latency at 10,000 chunks,
and what one file_search round adds to a run.

    .venv/bin/python benchmarks/files.py            # SQLite file in a temporary folder
    .venv/bin/python benchmarks/files.py --quick    # smaller sizes (CI; numbers not judged)

Cases (all in-process, `AsyncClient` with its embedded worker, the `test` model):

- ingest, 100-page PDF: pages/s of text extraction and chunking alone (`runtime.ingest.prepare`,
  in a thread as the worker runs it), and of the whole path (upload, claim, read, extract,
  chunk, index: `upload_and_poll`);
- ingest, 10 MB of text: chunks/s, the same two ways;
- search: p50 / p95 of `vector_stores.search` over a store of 10,000 chunks, and of a bare FTS5
  query (`MATCH` + `bm25`, top 20) on the same data through `sqlite3`, interleaved; the ratio is
  what the API adds (query parsing, store checks, file names, scoring, the off-loop hop);
- run: the median `create_and_poll` of a run with file_search (one search round, two model
  calls) against the same run without the tool, interleaved; the difference is the round plus
  the longer answer (the `test` model quotes every result), so a third run without the tool
  answers as much text and the difference to it is the round alone;
- vector search: a client with an embedding model (a loopback OpenAI-compatible embeddings
  server, hashed bag-of-words vectors of 768 dimensions) ingests another 10,000 chunks; then,
  interleaved on that store: hybrid `vector_stores.search` (the query embedded over loopback,
  vector and lexical scores blended), the store's vector-only search with the query's vector
  already made (the scoring alone), and the same client's search without a query vector
  (lexical). `--database-url URL --vectors-only [--queries N]` runs this case alone on another
  database (Postgres: the `real[]` scan in SQL, about a second a search at 10,000 chunks of 768
  dimensions: `--queries 20` there).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistants import AsyncClient
from runtime.ingest import prepare
from store.vector_search import query_terms
from tests.files.embedserver import EmbeddingServer
from tests.files.pdfs import make_pdf

STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}


def vocabulary(n: int = 5000) -> list[str]:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(n)]


def prose(words: list[str], count: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(words) for _ in range(count))


def ms(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


async def vector_search(url: str, words: list[str], chunks_wanted: int, queries: int) -> None:
    server = EmbeddingServer()
    options: dict[str, Any] = {
        "embedding_model": "emb/hash-768",
        "endpoints": {"emb": {"base_url": f"{server.base_url}/v1"}},
        "poll_seconds": 0.01,
        "sweep_seconds": 0.5,
    }
    try:
        async with AsyncClient(database_url=url, **options) as client:
            searched = await client.vector_stores.create()
            per_file = 1000
            started = time.perf_counter()
            for i in range(chunks_wanted // per_file):
                done = await client.vector_stores.files.upload_and_poll(
                    vector_store_id=searched.id,
                    file=(f"part{i}.txt", prose(words, per_file * 100, 500 + i).encode()),
                    chunking_strategy=STATIC,
                    poll_interval_ms=5,
                )
                assert done.status == "completed", done.last_error
            took = time.perf_counter() - started
            backing = await client.store()
            embedder = client.vector_stores._embedder()
            assert embedder is not None
            rng = random.Random(5)
            asks = [" ".join(rng.choice(words) for _ in range(3)) for _ in range(queries)]
            vectors = [await embedder.query(ask) for ask in asks]
            hybrid, vector_only, lexical = [], [], []
            for ask, vector in zip(asks, vectors, strict=True):
                started = time.perf_counter()
                await client.vector_stores.search(searched.id, query=ask, max_num_results=20)
                hybrid.append(time.perf_counter() - started)
                started = time.perf_counter()
                await backing.vector_stores.search(
                    "default", [searched.id], "", limit=20, vector=vector
                )
                vector_only.append(time.perf_counter() - started)
                started = time.perf_counter()
                await backing.vector_stores.search("default", [searched.id], ask, limit=20)
                lexical.append(time.perf_counter() - started)
        (h50, h95), (v50, v95), (l50, _) = ms(hybrid), ms(vector_only), ms(lexical)
        print(f"vector search over {chunks_wanted:,} chunks of 768 dimensions ({queries} queries; "
              f"ingested with embeddings at {chunks_wanted / took:,.0f} chunks/s): hybrid API "
              f"p50 {h50:.2f} ms, p95 {h95:.2f} ms; vector-only store p50 {v50:.2f} ms, p95 "
              f"{v95:.2f} ms; lexical store p50 {l50:.2f} ms; hybrid/lexical p50 "
              f"{h50 / l50:.1f}x")  # fmt: skip
    finally:
        server.close()


async def main(quick: bool) -> None:
    words = vocabulary()
    pages = 20 if quick else 100
    text_mb = 1 if quick else 10
    chunks_wanted = 1000 if quick else 10_000
    queries = 50 if quick else 300
    runs = 10 if quick else 60
    folder = Path(tempfile.mkdtemp(prefix="bench-files-"))
    url = f"sqlite+aiosqlite:///{folder / 'files.db'}"
    print(f"database: SQLite file in {folder}")
    async with AsyncClient(database_url=url, poll_seconds=0.01, sweep_seconds=0.5) as client:
        # --- ingest: PDF ----------------------------------------------------------------------
        pdf = make_pdf([prose(words, 60, i)[:400] for i in range(pages)])
        await asyncio.to_thread(prepare, make_pdf(["warm up"]), "w.pdf", STATIC)  # imports
        started = time.perf_counter()
        await asyncio.to_thread(prepare, pdf, "doc.pdf", STATIC)
        alone = time.perf_counter() - started
        store = await client.vector_stores.create()
        started = time.perf_counter()
        done = await client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("doc.pdf", pdf), poll_interval_ms=5
        )
        whole = time.perf_counter() - started
        assert done.status == "completed", done.last_error
        print(f"ingest {pages}-page PDF: {pages / alone:,.0f} pages/s extract+chunk, "
              f"{pages / whole:,.0f} pages/s whole path")  # fmt: skip
        # --- ingest: text ---------------------------------------------------------------------
        body = prose(words, text_mb * 150_000, 1).encode()[: text_mb * 1_000_000]
        started = time.perf_counter()
        chunks = await asyncio.to_thread(prepare, body, "big.txt", STATIC)
        alone = time.perf_counter() - started
        big = await client.vector_stores.create()
        started = time.perf_counter()
        done = await client.vector_stores.files.upload_and_poll(
            vector_store_id=big.id,
            file=("big.txt", body),
            chunking_strategy=STATIC,
            poll_interval_ms=5,
        )
        whole = time.perf_counter() - started
        assert done.status == "completed", done.last_error
        rate, rate_whole = len(chunks) / alone, len(chunks) / whole
        print(f"ingest {text_mb} MB text ({len(chunks):,} chunks): {rate:,.0f} chunks/s "
              f"extract+chunk, {rate_whole:,.0f} chunks/s whole path")  # fmt: skip
        # --- search at N chunks ---------------------------------------------------------------
        searched = await client.vector_stores.create()
        per_file = 1000
        for i in range(chunks_wanted // per_file):
            data = prose(words, per_file * 100, 100 + i).encode()
            await client.vector_stores.files.upload_and_poll(
                vector_store_id=searched.id,
                file=(f"part{i}.txt", data),
                chunking_strategy=STATIC,
                poll_interval_ms=5,
            )
        backing = await client.store()
        row = await backing.db.fetchrow(
            "SELECT count(*) AS n FROM chunks WHERE vector_store_id = :v", {"v": searched.id}
        )
        assert row is not None
        rng = random.Random(3)
        asks = [" ".join(rng.choice(words) for _ in range(3)) for _ in range(queries)]
        bare = sqlite3.connect(folder / "files.db")
        api_times, bare_times = [], []
        for ask in asks:
            started = time.perf_counter()
            await client.vector_stores.search(searched.id, query=ask, max_num_results=20)
            api_times.append(time.perf_counter() - started)
            match = " OR ".join(f'"{t}"' for t in query_terms(ask))
            started = time.perf_counter()
            bare.execute(
                "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? "
                "ORDER BY bm25(chunks_fts) LIMIT 20",
                (match,),
            ).fetchall()
            bare_times.append(time.perf_counter() - started)
        bare.close()
        (a50, a95), (b50, b95) = ms(api_times), ms(bare_times)
        print(f"search over {row['n']:,} chunks ({queries} queries): API p50 {a50:.2f} ms, "
              f"p95 {a95:.2f} ms; bare FTS5 p50 {b50:.2f} ms, p95 {b95:.2f} ms; "
              f"ratio p50 {a50 / b50:.1f}x")  # fmt: skip
        # --- a run with one file_search round -------------------------------------------------
        plain = await client.assistants.create(model="test")
        searching = await client.assistants.create(
            model="test",
            tools=[{"type": "file_search"}],
            tool_resources={"file_search": {"vector_store_ids": [searched.id]}},
        )
        with_tool: list[float] = []
        without: list[float] = []
        echoed: list[float] = []
        for i in range(runs):
            answer = ""
            for assistant, sink in ((plain, without), (searching, with_tool), (plain, echoed)):
                # The third run answers as much text as the search run did (the test model
                # quotes every result it found): the difference to it is the round alone.
                text = answer if sink is echoed else asks[i % len(asks)]
                thread = await client.threads.create(messages=[{"role": "user", "content": text}])
                started = time.perf_counter()
                run = await client.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=1
                )
                sink.append(time.perf_counter() - started)
                assert run.status == "completed", run.last_error
                if sink is with_tool:
                    message = (await client.threads.messages.list(thread.id)).data[0]
                    answer = message.content[0].text.value  # type: ignore[union-attr]
        (w50, _), (p50, _), (e50, _) = ms(with_tool), ms(without), ms(echoed)
        print(f"run ({runs} each): with file_search {w50:.1f} ms median, without {p50:.1f} ms; "
              f"the round adds {w50 - p50:.1f} ms, of which answering the quoted results "
              f"{e50 - p50:.1f} ms (a run without the tool answering as long takes {e50:.1f} "
              f"ms) and the search round itself {w50 - e50:.1f} ms")  # fmt: skip
    await vector_search(url, words, chunks_wanted, queries)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (CI)")
    parser.add_argument("--vectors-only", action="store_true", help="only the vector case")
    parser.add_argument("--database-url", help="for --vectors-only (default: a SQLite file)")
    parser.add_argument("--queries", type=int, help="for --vectors-only (default 300)")
    args = parser.parse_args()
    if args.vectors_only:
        folder = Path(tempfile.mkdtemp(prefix="bench-vectors-"))
        url = args.database_url or f"sqlite+aiosqlite:///{folder / 'vectors.db'}"
        size, asked = (1000, 50) if args.quick else (10_000, 300)
        asyncio.run(vector_search(url, vocabulary(), size, args.queries or asked))
    else:
        asyncio.run(main(args.quick))

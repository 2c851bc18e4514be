"""pgvector on Postgres: found, not installed, by the store; used to score vectors when present.

The store never runs `CREATE EXTENSION vector`: pgvector is not a trusted extension (creating it
takes a superuser or a provider's own mechanism), and it is one object for the whole database,
in one schema, which the store's role does not own. The operator creates it once per database
(`CREATE EXTENSION vector;`); the store looks for it when it first searches by vector (so after
a restart once it is created) and otherwise keeps scoring `real[]` arrays in SQL. A database
without the extension, or where reading `pg_extension` fails, works exactly as before.

Embeddings stay in `chunks.embedding` (`real[]`) whatever the database has: no second copy, and
no schema that depends on an extension. With pgvector a chunk's score is a cast and pgvector's
inner-product operator, `CAST(embedding AS vector(N)) <#> query`, qualified with the schema the
extension lives in (it need not be on the `search_path`). The length `N` is written into the
statement as a literal, so an HNSW index built for that length can serve it:

    CREATE INDEX CONCURRENTLY chunks_hnsw_768 ON chunks
        USING hnsw ((CAST(embedding AS vector(768))) vector_ip_ops) WHERE embedding_dims = 768;

one per embedding length in use (pgvector's indexes need a fixed dimension; models of the same
length share one, the search filters by model). The store does not build it: it is approximate
(an exact scan is the default and ranks like the `real[]` path), and building it over an existing
table takes a minute or more at 100,000 chunks, which no ingestion should wait for. With an index a
search asks HNSW for as many candidates as it fetches (`hnsw.ef_search`), and on pgvector 0.8 or
later scans on (`hnsw.iterative_scan = strict_order`) until the searched stores' chunks fill it.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.db import Database, Tx
from store.errors import DatabaseUnavailableError
from store.log import get_logger

log = get_logger(__name__)

EF_SEARCH_MAX = 1000
"""pgvector's largest `hnsw.ef_search`."""


@dataclass(frozen=True)
class PgVector:
    """The `vector` extension of a database: the schema it lives in, and its version."""

    schema: str
    version: tuple[int, ...]

    def cast(self, expr: str, dims: int) -> str:
        """`expr` (a `real[]`) as a pgvector `vector(dims)`."""
        return f"CAST({expr} AS {self._qualified}.vector({int(dims)}))"

    def distance(self, left: str, right: str) -> str:
        """pgvector's negative inner product of two vectors (smaller is nearer)."""
        return f"({left} OPERATOR({self._qualified}.<#>) {right})"

    @property
    def _qualified(self) -> str:
        return '"' + self.schema.replace('"', '""') + '"'

    async def tune(self, tx: Tx, fetch: int) -> None:
        """Let an HNSW index, if the planner uses one, return `fetch` candidates."""
        ef = min(max(fetch, 40), EF_SEARCH_MAX)
        await tx.execute(f"SET LOCAL hnsw.ef_search = {ef}")
        if self.version >= (0, 8):
            await tx.execute("SET LOCAL hnsw.iterative_scan = strict_order")


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


async def detect(db: Database) -> PgVector | None:
    """The database's `vector` extension, if it is installed (None on SQLite, without it, or if
    the catalog refuses the read; an unavailable database is raised)."""
    if db.dialect != "postgresql":
        return None
    try:
        row = await db.fetchrow(
            "SELECT n.nspname AS schema, e.extversion AS version FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'"
        )
    except DatabaseUnavailableError:
        raise  # the search fails as any would; the next one looks again
    except Exception as exc:  # noqa: BLE001  (without it the store scores real[] arrays)
        log.warning("pgvector_detection_failed", error=str(exc))
        return None
    if row is None:
        return None
    found = PgVector(row["schema"], _version(row["version"]))
    log.info("pgvector_found", schema=found.schema, version=row["version"])
    return found

"""The architecture's rules: import direction, the public surface, the canonical schema."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import sqlalchemy

from store.migrate import latest_version, migrations
from store.store import Store
from store.tables import metadata

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"store": {"runtime", "assistants"}, "runtime": {"assistants"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_imports_point_one_way() -> None:
    """`assistants` → `runtime` → `store`: store imports neither; runtime never imports assistants."""
    offenders = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = _imports(path) & banned
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def _describe(conn: sqlite3.Connection) -> dict[str, object]:
    """Tables (columns with type, nullability, default, pk) and indexes (columns, unique, where)."""
    out: dict[str, object] = {}
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    for table in tables:
        out[f"table {table}"] = [tuple(r[1:]) for r in conn.execute(f"PRAGMA table_info({table})")]
        out[f"unique {table}"] = sorted(
            tuple(c[2] for c in conn.execute(f"PRAGMA index_info('{ix[1]}')"))
            for ix in conn.execute(f"PRAGMA index_list({table})")
            if ix[2] and ix[3] == "u"
        )
    for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
    ):
        out[f"index {name}"] = " ".join(sql.split())
    return out


def schema_sql() -> str:
    return (ROOT / "schema.sql").read_text(encoding="utf-8")


def test_schema_sql__is_exactly_what_the_tables_create(tmp_path: Path) -> None:
    """schema.sql (which the store executes) and the SQLModel tables create the same schema."""
    from_file = sqlite3.connect(tmp_path / "file.db")
    from_file.executescript(schema_sql())
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'orm.db'}")
    metadata.create_all(engine)
    engine.dispose()
    from_orm = sqlite3.connect(tmp_path / "orm.db")
    try:
        assert _describe(from_file) == _describe(from_orm)
        assert len(_describe(from_file)) > 10
    finally:
        from_file.close()
        from_orm.close()


async def test_sqlite_migrations__build_exactly_schema_sql(tmp_path: Path) -> None:
    """Applying every SQLite migration to an empty file yields schema.sql's schema."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
    await store.close()
    migrated = sqlite3.connect(tmp_path / "migrated.db")
    canonical = sqlite3.connect(tmp_path / "canonical.db")
    canonical.executescript(schema_sql())
    try:
        assert _describe(migrated) == _describe(canonical)
        rows = migrated.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert [r[0] for r in rows] == [m.version for m in migrations("sqlite")]
        assert rows[-1][0] == latest_version()
    finally:
        migrated.close()
        canonical.close()


def test_migrations__same_versions_for_every_dialect() -> None:
    """Each dialect has the same migration versions (one schema, two spellings)."""
    assert [m.version for m in migrations("sqlite")] == [
        m.version for m in migrations("postgresql")
    ]


MODULE_LINES_MAX = 400
"""Lines in one module of `assistants`, `runtime` or `store`: past it, split by concern."""

# Modules allowed past the limit, each with why.
LONG_MODULES: dict[str, str] = {
    "assistants/_sync_generated.py": "generated from the async resources by scripts/gen_sync.py: its size follows theirs",
    "assistants/resources/prompts.py": "prompts, versions, labels and run, as one resource",
    "assistants/resources/runs.py": "openai-python's runs and steps surface: create/poll/stream and their overloads",
    "assistants/resources/vector_stores.py": "vector stores, their files and batches, with the SDK's polling helpers",
    "assistants/streaming/handler.py": "the SDK's event handlers, one callback per event kind, sync and async",
    "assistants/validation/completions.py": "chat-completion request checks, one field each",
    "store/tables.py": "one SQLModel class per table, kept together beside schema.sql",
    "store/types.py": "the wire models, one per API object",
}


def test_modules__stay_under_the_size_limit() -> None:
    """A module over 400 lines is split, or listed in LONG_MODULES with its reason."""
    offenders = []
    for package in ("assistants", "runtime", "store"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MODULE_LINES_MAX and name not in LONG_MODULES:
                offenders.append(f"{name}: {lines} lines (at most {MODULE_LINES_MAX})")
    assert offenders == []


FUNCTION_LINES_MAX = 60
"""Lines in one function's body (its signature and docstring not counted): past it, split."""

# Functions allowed past the limit, each with why ("module:qualified name").
LONG_FUNCTIONS: dict[str, str] = {
    "assistants/server/openapi/requests.py:param_schemas": "a table: one schema per query parameter, as data",
    "assistants/server/openapi/file_bodies.py:file_body_schemas": "a table: the files and vector stores bodies, as data",
    "assistants/server/openapi/streams.py:stream_schemas": "a table: one schema per stream event, as data",
    "assistants/server/openapi/bodies.py:_body_schemas": "a table: one schema per request body, as data",
    "assistants/server/openapi/extension_bodies.py:_prompt_bodies": "a table: the prompt bodies, as data",
    "assistants/server/openapi/extension_bodies.py:_completion_bodies": "a table: the chat-completion bodies, as data",
    "assistants/_sync_generated.py:ChatCompletions.create": "generated from the async resources by scripts/gen_sync.py",
    # to split
}


def _long_functions(path: Path) -> dict[str, int]:
    """Qualified name -> body lines, for each function in `path` whose body passes the limit."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = child.body
                if (
                    isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)
                    and len(body) > 1
                ):
                    body = body[1:]
                lines = (child.end_lineno or child.lineno) - body[0].lineno + 1
                if lines > FUNCTION_LINES_MAX:
                    found[f"{prefix}{child.name}"] = lines
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def test_functions__stay_under_the_size_limit() -> None:
    """A function whose body passes 60 lines is split, or listed in LONG_FUNCTIONS with why."""
    offenders = []
    seen = set()
    for package in ("assistants", "runtime", "store"):
        for path in sorted((ROOT / package).rglob("*.py")):
            module = path.relative_to(ROOT).as_posix()
            for name, lines in _long_functions(path).items():
                seen.add(f"{module}:{name}")
                if f"{module}:{name}" not in LONG_FUNCTIONS:
                    offenders.append(
                        f"{module}:{name}: {lines} lines (at most {FUNCTION_LINES_MAX})"
                    )
    assert offenders == []
    assert sorted(set(LONG_FUNCTIONS) - seen) == []  # an entry whose function got short goes

"""A fresh checkout behaves for a newcomer: no Postgres configured means skips, not errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pytest_without_postgres__reports_postgres_cases_as_skips() -> None:
    """Without ASSISTANTS_TEST_POSTGRES_URL, Postgres cases (even in task groups) are skips."""
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANTS_TEST_POSTGRES_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/faults/test_random_kills.py",
            "tests/faults/test_crash.py",
            "tests/store/test_migrations.py",
            "-k",
            "postgres",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "INTERNALERROR" not in output
    assert "error" not in output.splitlines()[-1], output
    assert "ASSISTANTS_TEST_POSTGRES_URL is not set" in output


def _python(code: str, cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`python -c code` in `cwd` (first on sys.path, as an app's own directory is)."""
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import__refuses_an_apps_store_py_that_shadows_the_store_package(tmp_path: Path) -> None:
    """An app's own `store.py` next to its script is named in a clear ImportError at import."""
    (tmp_path / "store.py").write_text("CACHE = {}\n", encoding="utf-8")
    result = _python("import assistants", tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: "), result.stderr
    assert str(tmp_path / "store.py") in last
    assert "rename your 'store' module" in last
    assert "store.db" not in result.stderr


def test_import__refuses_an_apps_runtime_package_that_shadows_ours(tmp_path: Path) -> None:
    """An app's own `runtime/` package is named too; the error says to rename it."""
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / "__init__.py").write_text("", encoding="utf-8")
    result = _python("import assistants", tmp_path)
    assert result.returncode == 1
    assert str(tmp_path / "runtime" / "__init__.py") in result.stderr
    assert "rename your 'runtime' module" in result.stderr


def test_import__accepts_an_unrelated_directory_named_like_a_package(tmp_path: Path) -> None:
    """A plain `runtime/` directory (no `__init__.py`) shadows nothing: import succeeds."""
    (tmp_path / "runtime").mkdir()
    result = _python("import assistants", tmp_path)
    assert result.returncode == 0, result.stderr


def test_import_assistants__loads_no_schema_server_or_postgres_modules(tmp_path: Path) -> None:
    """`import assistants` imports neither SQLModel/SQLAlchemy nor FastAPI, uvicorn or asyncpg,
    nor httpx, which loads with the first HTTP provider, nor numpy (the first vector search)."""
    result = _python("import assistants", tmp_path, "-X", "importtime")
    assert result.returncode == 0, result.stderr
    loaded = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "assistants" in loaded  # the list is real
    heavy = (
        "sqlmodel",
        "sqlalchemy",
        "fastapi",
        "starlette",
        "uvicorn",
        "asyncpg",
        "httpx",
        "numpy",
    )
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []


_BUILT_AT_IMPORT = """
import sys
import assistants
import pydantic

def built(cls):
    for sub in cls.__subclasses__():
        if sub.__module__.split(".")[0] in ("assistants", "store", "runtime"):
            if getattr(sub, "__pydantic_complete__", False):
                yield f"{sub.__module__}.{sub.__qualname__}"
        yield from built(sub)

print(sorted(set(built(pydantic.BaseModel))))
print("pydantic.plugin._loader" in sys.modules)
"""


def test_import_assistants__builds_no_validator(tmp_path: Path) -> None:
    """Every model of the project defers its schema to first use: building one at import costs
    about a millisecond each and the first also loads pydantic's plugin discovery."""
    result = _python(_BUILT_AT_IMPORT, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "False"]


def test_version__comes_from_the_package_metadata(tmp_path: Path) -> None:
    """`assistants.__version__` is the installed distribution's version."""
    from importlib.metadata import version

    result = _python("import assistants; print(assistants.__version__)", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == version("assistants-runtime")

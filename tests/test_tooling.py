"""Lint, format and strict types are part of the test command, so CI enforces them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )


def test_ruff_check_is_clean() -> None:
    """ruff finds nothing (rules and reasoned ignores in pyproject.toml)."""
    result = _tool("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    """The code is formatted with ruff format."""
    result = _tool("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    """mypy --strict passes over the packages, tests, benchmarks and examples."""
    result = _tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict__ci_scripts_are_clean() -> None:
    """mypy --strict passes over the scripts CI runs (files, not a package: a run of their own)."""
    result = _tool("mypy", *sorted(str(p) for p in (ROOT / "scripts").glob("*.py")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_deptry__every_import_is_a_declared_dependency() -> None:
    """deptry finds no undeclared, unused or misplaced dependency of the shipped packages."""
    result = _tool("deptry", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_deptry__fails_on_an_undeclared_dependency(tmp_path: Path) -> None:
    """With a dependency the code imports struck from pyproject.toml, deptry names it and fails."""
    lines = (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    struck = [line for line in lines if not line.strip().startswith('"sniffio')]
    assert len(struck) == len(lines) - 1
    config = tmp_path / "pyproject.toml"
    config.write_text("\n".join(struck) + "\n", encoding="utf-8")
    result = _tool("deptry", ".", "--config", str(config), "--no-ansi")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "'sniffio' imported but it is a transitive dependency" in result.stdout + result.stderr

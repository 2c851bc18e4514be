"""One status vocabulary: the enums, the wire `Literal`s, the database's CHECK constraints and
the run transition table all say the same thing, and saying something else in one place fails."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import get_args

import pytest

from runtime import states
from store import types
from store.db import UniqueViolation, open_database
from store.migrate import migrations, upgrade
from store.statuses import (
    ACTIVE_RUN,
    POLL_STOP,
    TERMINAL_RUN,
    MessageStatus,
    RunStatus,
    StepStatus,
    sql_in,
    sql_is,
)
from store.store import Store

KINDS: dict[str, tuple[type[StrEnum], object]] = {
    "runs": (RunStatus, types.RunStatus),
    "run_steps": (StepStatus, types.RunStepStatus),
    "messages": (MessageStatus, types.MessageStatus),
}


def vocabulary_disagreements(
    enum: type[StrEnum],
    literal: object,
    checked: list[str],
    transitions: frozenset[tuple[StrEnum, StrEnum]] | None = None,
) -> list[str]:
    """What one status kind's places disagree on (empty when they agree)."""
    values = [s.value for s in enum]
    found = []
    if list(get_args(literal)) != values:
        found.append(f"Literal {get_args(literal)} != enum {values}")
    if checked != values:
        found.append(f"CHECK {checked} != enum {values}")
    if transitions is not None:
        named = {s.value for pair in transitions for s in pair}
        if named != set(values):
            found.append(f"transitions name {sorted(named)}, enum has {sorted(values)}")
    return found


async def checked_statuses(store: Store, table: str) -> list[str]:
    """The statuses `table`'s CHECK constraint allows, as the database itself reports them."""
    if store.db.dialect == "sqlite":
        row = await store.db.fetchrow(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t", {"t": table}
        )
        assert row is not None
        match = re.search(rf"CONSTRAINT ck_{table}_status CHECK \(([^)]*\))\)", row["sql"])
    else:
        row = await store.db.fetchrow(
            "SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint AS c "
            "JOIN pg_class AS t ON t.oid = c.conrelid "
            "WHERE t.relname = :t AND c.conname = :c AND t.relnamespace = "
            "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
            {"t": table, "c": f"ck_{table}_status"},
        )
        assert row is not None
        match = re.search(r"CHECK (.*)", row["def"])
    assert match is not None, f"no status CHECK on {table}"
    return re.findall(r"'([a-z_]+)'", match.group(1))


async def test_statuses__enum_literal_check_and_transitions_agree(database_url: str) -> None:
    """Every status kind reads the same from its enum, its wire Literal, the CHECK constraint
    the migrations built (read back from the database), and, for runs, the transition table."""
    store = await Store.open(database_url)
    try:
        for table, (enum, literal) in KINDS.items():
            checked = await checked_statuses(store, table)
            table_transitions = states.TRANSITIONS if enum is RunStatus else None
            assert vocabulary_disagreements(enum, literal, checked, table_transitions) == []
    finally:
        await store.close()


async def test_statuses__the_database_refuses_a_status_outside_the_vocabulary(
    database_url: str,
) -> None:
    """A status the enum does not name cannot be written: the CHECK constraint refuses it."""
    store = await Store.open(database_url)
    try:
        for table in KINDS:
            with pytest.raises(Exception, match=f"ck_{table}_status|CHECK constraint failed"):
                async with store.db.transaction() as tx:
                    await tx.execute(_insert(table, "paused"))
    finally:
        await store.close()


def _insert(table: str, status: str) -> str:
    """A row of `table` in `status`, every other column valid."""
    common = f"'x', 'p', 1, '{status}'"
    if table == "runs":
        return (
            "INSERT INTO runs (id, project, created_at, status, thread_id, assistant_id, model, "
            f"instructions, tools, parallel_tool_calls) VALUES ({common}, 't', 'a', 'm', '', "
            "'[]', 1)"
        )
    if table == "run_steps":
        return (
            "INSERT INTO run_steps (id, project, created_at, status, run_id, thread_id, "
            f"assistant_id, type, step_details) VALUES ({common}, 'r', 't', 'a', 'tool_calls', "
            "'{}')"
        )
    return (
        "INSERT INTO messages (id, project, created_at, status, thread_id, role, content) "
        f"VALUES ({common}, 't', 'user', '[]')"
    )


def test_statuses__a_status_added_in_one_place_only_is_caught() -> None:
    """Adding a status to the enum alone, to the Literal alone, to the CHECK alone, or naming
    it in the transition table alone each shows up as a disagreement."""
    values = [s.value for s in RunStatus]
    # A computed member list is beyond mypy's enum plugin, which wants a literal one.
    grown = StrEnum("RunStatus", [*values, "paused"])  # type: ignore[misc]
    paused = grown("paused")
    checks = [
        vocabulary_disagreements(grown, types.RunStatus, values, states.TRANSITIONS),
        vocabulary_disagreements(RunStatus, types.RunStatus, [*values, "paused"]),
        vocabulary_disagreements(
            RunStatus,
            types.RunStatus,
            values,
            frozenset({*states.TRANSITIONS, (RunStatus.QUEUED, paused)}),
        ),
        vocabulary_disagreements(MessageStatus, types.RunStepStatus, list(MessageStatus)),
    ]
    assert all(checks), checks
    assert vocabulary_disagreements(RunStatus, types.RunStatus, values, states.TRANSITIONS) == []


def test_statuses__sets_partition_the_run_statuses() -> None:
    """Active and terminal statuses split the run statuses; pollers stop at every terminal one
    and at requires_action; no transition leaves a terminal status."""
    assert set(RunStatus) == ACTIVE_RUN | TERMINAL_RUN
    assert not ACTIVE_RUN & TERMINAL_RUN
    assert TERMINAL_RUN | {RunStatus.REQUIRES_ACTION} == POLL_STOP
    assert not [pair for pair in states.TRANSITIONS if pair[0] in TERMINAL_RUN]
    assert all(states.sources(s) for s in RunStatus if s is not RunStatus.QUEUED)


def test_sql_helpers__build_text_only_from_the_vocabulary() -> None:
    """`sql_in`/`sql_is` quote enum members in declaration order and refuse anything else."""
    assert sql_in({RunStatus.CANCELLING, RunStatus.QUEUED}) == "('queued', 'cancelling')"
    assert sql_is(StepStatus.FAILED) == "'failed'"
    with pytest.raises(TypeError, match="not a status"):
        sql_in(["queued"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a status"):
        sql_is("x' OR 1=1 --")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one status"):
        sql_in([])


async def test_migration_0004__keeps_every_row_and_index(database_url: str) -> None:
    """A database at 0003 with runs, steps and messages upgrades to the checked tables with the
    same rows (seq and ids kept) and its indexes working (one active run per thread)."""
    db = open_database(database_url)
    await db.connect()
    try:
        for migration in migrations(db.dialect):
            if migration.version >= 4:
                break
            async with db.transaction() as tx:
                for statement in migration.statements():
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (:v, 0)",
                    {"v": migration.version},
                )
        async with db.transaction() as tx:
            for table in KINDS:
                await tx.execute(_insert(table, "in_progress"))
        before = {t: await db.fetch(f"SELECT * FROM {t} ORDER BY seq") for t in KINDS}
        assert await upgrade(db) == [m.version for m in migrations(db.dialect) if m.version >= 4]
        assert {t: await db.fetch(f"SELECT * FROM {t} ORDER BY seq") for t in KINDS} == before
        with pytest.raises(UniqueViolation):
            async with db.transaction() as tx:
                await tx.execute(_insert("runs", "queued").replace("'x'", "'y'"))
    finally:
        await db.close()

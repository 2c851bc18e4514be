"""Prompts: named templates with immutable numbered versions and movable release labels.

- A version's number comes from `prompts.latest_version`, bumped by the statement that locks the
  prompt's row in the transaction that inserts the version: numbers are 1, 2, 3... with no gap
  and no duplicate, however many writers add versions at once, on either database.
- A label moves by compare-and-set: `UPDATE prompt_labels ... WHERE version = :expected`, zero
  rows meaning the label moved since the caller read it (a 400 naming where it points now, never
  a 409, which the SDKs would retry). Every set, move and delete appends a row to
  `prompt_label_moves` in the same transaction, under the prompt's row lock, so the history is
  exact.
- Resolving a label reads the label and its version in one statement: a run created while the
  label moves gets one version or the other, never a mix.
"""

from __future__ import annotations

from typing import Any, Protocol

from store import ids
from store.base import StoreBase, now
from store.db import Database, Params, Row, Tx, UniqueViolation
from store.errors import BadRequestError, NotFoundError
from store.prompt_types import (
    Prompt,
    PromptDeleted,
    PromptLabel,
    PromptLabelDeleted,
    PromptLabelList,
    PromptLabelMove,
    PromptVersion,
    ResolvedPrompt,
)
from store.rows import dumps, loads
from store.types import ListPage

DEFAULT_LABEL = "prod"
"""The label a prompt resolves through when neither a version nor a label is given (if it
exists; otherwise the latest version)."""

PROMPT_COLUMNS = "id, name, description, metadata, created_at, latest_version"
VERSION_COLUMNS = (
    "id, version, created_at, messages, instructions, model, temperature, top_p, max_tokens, "
    "stop, response_format, tools, tool_choice, commit_message"
)
VERSION_FIELDS = (
    "messages",
    "instructions",
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "response_format",
    "tools",
    "tool_choice",
    "commit_message",
)
_JSON_FIELDS = frozenset({"messages", "stop", "response_format", "tools", "tool_choice"})


def prompt_from_row(row: Row) -> Prompt:
    return Prompt(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        metadata=loads(row["metadata"]) or {},
        created_at=row["created_at"],
        latest_version=row["latest_version"],
    )


def version_from_row(name: str, row: Row) -> PromptVersion:
    fields = {f: loads(row[f]) if f in _JSON_FIELDS else row[f] for f in VERSION_FIELDS}
    return PromptVersion(
        id=row["id"], prompt=name, version=row["version"], created_at=row["created_at"], **fields
    )


def prompt_not_found(name: str) -> NotFoundError:
    return NotFoundError(f"No prompt found with name '{name}'.", param="name")


def label_not_found(name: str, label: str) -> NotFoundError:
    return NotFoundError(f"No label '{label}' found for prompt '{name}'.", param="label")


def version_not_found(name: str, version: int) -> NotFoundError:
    return NotFoundError(f"No version {version} found for prompt '{name}'.", param="version")


class PromptPart:
    """Prompts, their versions and labels, scoped by project."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pages = StoreBase(db)

    # --- prompts -------------------------------------------------------------------------------

    async def create(
        self,
        project: str,
        *,
        name: str,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Prompt:
        row = {
            "id": ids.new_id("prompt"),
            "project": project,
            "name": name,
            "description": description,
            "metadata": dumps(metadata or {}),
            "created_at": now(),
        }
        try:
            async with self.db.transaction() as tx:
                created = await tx.fetchrow(
                    "INSERT INTO prompts (id, project, name, description, metadata, created_at, "
                    "latest_version) VALUES (:id, :project, :name, :description, :metadata, "
                    f":created_at, 0) RETURNING {PROMPT_COLUMNS}",
                    row,
                )
        except UniqueViolation:
            raise BadRequestError(
                f"A prompt named '{name}' already exists. Add a version to it with "
                "prompts.versions.create, or choose another name.",
                param="name",
                code="prompt_exists",
            ) from None
        assert created is not None
        return prompt_from_row(created)

    async def get(self, project: str, name: str) -> Prompt:
        row = await self.db.fetchrow(
            f"SELECT {PROMPT_COLUMNS} FROM prompts WHERE project = :project AND name = :name",
            {"project": project, "name": name},
        )
        if row is None:
            raise prompt_not_found(name)
        return prompt_from_row(row)

    async def list_prompts(
        self, project: str, *, limit: int, order: str, after: str | None, before: str | None
    ) -> ListPage[Prompt]:
        """A page of the project's prompts; `after`/`before` are prompt ids."""
        return await self._pages._page(
            table="prompts",
            columns=PROMPT_COLUMNS,
            scope="project = :project",
            params={"project": project},
            limit=limit,
            order=order,
            after=after,
            before=before,
            convert=prompt_from_row,
        )

    async def delete(self, project: str, name: str) -> PromptDeleted:
        """Delete a prompt with its versions, labels and history; refused (400) while an
        assistant takes its instructions from it."""
        params = {"project": project, "name": name}
        # Its cost grows with the prompt's versions (and the project's prompt-backed
        # assistants): off the event loop on SQLite.
        async with self.db.transaction(heavy=True) as tx:
            prompt_id, _ = await self._lock(tx, project, name)
            users = await self._assistants_using(tx, project, name)
            if users:
                shown = ", ".join(users[:5]) + (
                    f" and {len(users) - 5} more" if len(users) > 5 else ""
                )
                raise BadRequestError(
                    f"Can't delete prompt '{name}': it gives the instructions of assistant(s) "
                    f"{shown}. Update or delete them first.",
                    param="name",
                    code="prompt_in_use",
                )
            ref = {"prompt_id": prompt_id}
            await tx.execute("DELETE FROM prompt_label_moves WHERE prompt_id = :prompt_id", ref)
            await tx.execute("DELETE FROM prompt_labels WHERE prompt_id = :prompt_id", ref)
            await tx.execute("DELETE FROM prompt_versions WHERE prompt_id = :prompt_id", ref)
            await tx.execute(
                "DELETE FROM prompts WHERE project = :project AND name = :name", params
            )
        return PromptDeleted(id=prompt_id, name=name)

    async def _assistants_using(self, tx: Tx, project: str, name: str) -> list[str]:
        rows = await tx.fetch(
            "SELECT id, extensions FROM assistants WHERE project = :project "
            "AND extensions LIKE '%\"prompt\":%' ORDER BY seq",
            {"project": project},
        )
        using = []
        for row in rows:
            ref = (loads(row["extensions"]) or {}).get("prompt")
            if isinstance(ref, dict) and ref.get("name") == name:
                using.append(str(row["id"]))
        return using

    async def _lock(
        self, tx: Tx, project: str, name: str, *, bump: bool = False
    ) -> tuple[str, int]:
        """The prompt's id and latest version, its row locked until the transaction ends
        (writers of one prompt's versions and labels go one at a time); with `bump`, its
        `latest_version` advanced first."""
        row = await tx.fetchrow(
            "UPDATE prompts SET latest_version = latest_version + :bump "
            "WHERE project = :project AND name = :name RETURNING id, latest_version",
            {"project": project, "name": name, "bump": 1 if bump else 0},
        )
        if row is None:
            raise prompt_not_found(name)
        return str(row["id"]), int(row["latest_version"])

    # --- versions ------------------------------------------------------------------------------

    async def create_version(
        self, project: str, name: str, fields: dict[str, Any]
    ) -> PromptVersion:
        """Add the next version (`fields`: validated `VERSION_FIELDS`)."""
        row = {
            f: dumps(fields.get(f)) if f in _JSON_FIELDS else fields.get(f) for f in VERSION_FIELDS
        }
        async with self.db.transaction() as tx:
            prompt_id, number = await self._lock(tx, project, name, bump=True)
            created = await tx.fetchrow(
                f"INSERT INTO prompt_versions (id, prompt_id, version, created_at, "
                f"{', '.join(VERSION_FIELDS)}) VALUES (:id, :prompt_id, :version, :created_at, "
                f"{', '.join(':' + f for f in VERSION_FIELDS)}) RETURNING {VERSION_COLUMNS}",
                {
                    **row,
                    "id": ids.new_id("prompt_version"),
                    "prompt_id": prompt_id,
                    "version": number,
                    "created_at": now(),
                },
            )
        assert created is not None
        return version_from_row(name, created)

    async def list_versions(
        self,
        project: str,
        name: str,
        *,
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
    ) -> ListPage[PromptVersion]:
        """A page of the prompt's versions (newest first by default); cursors are version ids."""
        prompt = await self.get(project, name)
        return await self._pages._page(
            table="prompt_versions",
            columns=VERSION_COLUMNS,
            scope="prompt_id = :prompt_id",
            params={"prompt_id": prompt.id},
            limit=limit,
            order=order,
            after=after,
            before=before,
            convert=lambda row: version_from_row(name, row),
        )

    async def resolve(
        self, project: str, name: str, *, version: int | None = None, label: str | None = None
    ) -> ResolvedPrompt:
        """The version `name` resolves to: `version`, or the one `label` points at, or (neither
        given) the one `prod` points at if that label exists, else the latest."""
        if version is not None and label is not None:
            raise BadRequestError(
                "Pass either a version or a label to choose a prompt's version, not both.",
                param="label",
                code="invalid_value",
            )
        # One statement: the prompt, the label asked for (or `prod` when nothing is asked), and
        # the version chosen: the one asked for, else the label's, else (nothing asked) the
        # latest. A label and the version it points at are thus read together.
        row = await self.db.fetchrow(
            f"SELECT p.latest_version AS latest, l.label AS via, {_qualified('v')} "
            "FROM prompts p "
            "LEFT JOIN prompt_labels l ON l.prompt_id = p.id AND l.label = :label "
            "LEFT JOIN prompt_versions v ON v.prompt_id = p.id AND v.version = COALESCE("
            "CAST(:version AS INTEGER), l.version, "
            "CASE WHEN :by_default = 1 THEN p.latest_version END) "
            "WHERE p.project = :project AND p.name = :name",
            {
                "project": project,
                "name": name,
                "label": DEFAULT_LABEL if version is None and label is None else label or "",
                "version": version,
                "by_default": 1 if version is None and label is None else 0,
            },
        )
        if row is None:
            raise prompt_not_found(name)
        if row["id"] is not None:
            via = None if version is not None else row["via"]
            return ResolvedPrompt(version=version_from_row(name, row), label=via)
        if label is not None:
            raise label_not_found(name, label)
        if version is not None:
            raise version_not_found(name, version)
        raise NotFoundError(
            f"The prompt '{name}' has no versions yet: create one with prompts.versions.create.",
            param="version",
        )

    # --- labels --------------------------------------------------------------------------------

    async def set_label(
        self,
        project: str,
        name: str,
        *,
        label: str,
        version: int,
        expected_version: int | None = None,
    ) -> PromptLabel:
        """Point `label` at `version`. With `expected_version`, only if the label still points
        there (compare-and-set); otherwise a 400 saying where it points now."""
        async with self.db.transaction() as tx:
            prompt_id, _ = await self._lock(tx, project, name)
            key = {"prompt_id": prompt_id, "label": label}
            exists = await tx.fetchrow(
                "SELECT 1 AS found FROM prompt_versions "
                "WHERE prompt_id = :prompt_id AND version = :version",
                {"prompt_id": prompt_id, "version": version},
            )
            if exists is None:
                raise version_not_found(name, version)
            t = now()
            if expected_version is None:
                before = await tx.fetchrow(
                    "SELECT version FROM prompt_labels WHERE prompt_id = :prompt_id AND "
                    "label = :label",
                    key,
                )
                previous = None if before is None else int(before["version"])
                await tx.execute(
                    "INSERT INTO prompt_labels (prompt_id, label, version, updated_at) "
                    "VALUES (:prompt_id, :label, :version, :t) ON CONFLICT (prompt_id, label) "
                    "DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at",
                    {**key, "version": version, "t": t},
                )
            else:
                moved = await tx.execute(
                    "UPDATE prompt_labels SET version = :version, updated_at = :t "
                    "WHERE prompt_id = :prompt_id AND label = :label AND version = :expected",
                    {**key, "version": version, "t": t, "expected": expected_version},
                )
                if not moved:
                    await self._lost_race(tx, name, key, expected_version)
                previous = expected_version
            if previous != version:
                await tx.execute(
                    "INSERT INTO prompt_label_moves (prompt_id, label, from_version, to_version, "
                    "moved_at) VALUES (:prompt_id, :label, :previous, :version, :t)",
                    {**key, "previous": previous, "version": version, "t": t},
                )
            (found,) = await _labels(tx, name, prompt_id, label)
        return found

    async def _lost_race(
        self, tx: Tx, name: str, key: dict[str, Any], expected_version: int
    ) -> None:
        """The 400 for a compare-and-set that found the label elsewhere (or gone)."""
        row = await tx.fetchrow(
            "SELECT version FROM prompt_labels WHERE prompt_id = :prompt_id AND label = :label",
            key,
        )
        label = key["label"]
        if row is None:
            raise BadRequestError(
                f"The label '{label}' of prompt '{name}' does not exist, so it does not point "
                f"at version {expected_version}. Set it without 'expected_version' to create it.",
                param="expected_version",
                code="label_moved",
            )
        current = int(row["version"])
        raise BadRequestError(
            f"The label '{label}' of prompt '{name}' moved: it points at version {current}, "
            f"not {expected_version}. Read it again and retry with expected_version={current}.",
            param="expected_version",
            code="label_moved",
        )

    async def delete_label(self, project: str, name: str, *, label: str) -> PromptLabelDeleted:
        async with self.db.transaction() as tx:
            prompt_id, _ = await self._lock(tx, project, name)
            key = {"prompt_id": prompt_id, "label": label}
            row = await tx.fetchrow(
                "DELETE FROM prompt_labels WHERE prompt_id = :prompt_id AND label = :label "
                "RETURNING version",
                key,
            )
            if row is None:
                raise label_not_found(name, label)
            await tx.execute(
                "INSERT INTO prompt_label_moves (prompt_id, label, from_version, to_version, "
                "moved_at) VALUES (:prompt_id, :label, :previous, NULL, :t)",
                {**key, "previous": row["version"], "t": now()},
            )
        return PromptLabelDeleted(prompt=name, label=label)

    async def list_labels(self, project: str, name: str) -> PromptLabelList:
        """The prompt's labels, each with its history (oldest move first), by label name."""
        prompt = await self.get(project, name)
        return PromptLabelList(data=await _labels(self.db, name, prompt.id))


class _Reader(Protocol):
    async def fetch(self, sql: str, params: Params | None = None) -> list[Row]: ...


async def _labels(
    reader: _Reader, name: str, prompt_id: str, label: str | None = None
) -> list[PromptLabel]:
    """The prompt's labels (or just `label`) with their histories, by label name."""
    params: dict[str, Any] = {"prompt_id": prompt_id}
    only = ""
    if label is not None:
        params["label"] = label
        only = " AND label = :label"
    labels = await reader.fetch(
        "SELECT label, version, updated_at FROM prompt_labels WHERE prompt_id = :prompt_id"
        f"{only} ORDER BY label",
        params,
    )
    moves = await reader.fetch(
        "SELECT label, from_version, to_version, moved_at FROM prompt_label_moves "
        f"WHERE prompt_id = :prompt_id{only} ORDER BY seq",
        params,
    )
    history: dict[str, list[PromptLabelMove]] = {}
    for m in moves:
        history.setdefault(m["label"], []).append(
            PromptLabelMove(
                from_version=m["from_version"], to_version=m["to_version"], moved_at=m["moved_at"]
            )
        )
    return [
        PromptLabel(
            prompt=name,
            label=r["label"],
            version=r["version"],
            updated_at=r["updated_at"],
            history=history.get(r["label"], []),
        )
        for r in labels
    ]


def _qualified(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in VERSION_COLUMNS.split(","))

"""Release labels: a name per prompt pointing at one version, moved by compare-and-set, every
set, move and delete kept in `prompt_label_moves` (see `store.prompts`)."""

from __future__ import annotations

from typing import Any, Protocol

from store.base import now
from store.db import Database, Params, Row, Tx
from store.errors import BadRequestError
from store.prompt_rows import label_not_found, lock_prompt, prompt_not_found, version_not_found
from store.prompt_types import PromptLabel, PromptLabelDeleted, PromptLabelList, PromptLabelMove


class PromptLabelPart:
    """The labels of prompts, scoped by project (`store.prompts.labels`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def prompt_id(self, project: str, name: str) -> str:
        """The prompt's id (a 404 naming it if there is none)."""
        row = await self.db.fetchrow(
            "SELECT id FROM prompts WHERE project = :project AND name = :name",
            {"project": project, "name": name},
        )
        if row is None:
            raise prompt_not_found(name)
        return str(row["id"])

    async def set(
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
            prompt_id, _ = await lock_prompt(tx, project, name)
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

    async def delete(self, project: str, name: str, *, label: str) -> PromptLabelDeleted:
        async with self.db.transaction() as tx:
            prompt_id, _ = await lock_prompt(tx, project, name)
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

    async def list(self, project: str, name: str) -> PromptLabelList:
        """The prompt's labels, each with its history (oldest move first), by label name."""
        return PromptLabelList(
            data=await _labels(self.db, name, await self.prompt_id(project, name))
        )


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

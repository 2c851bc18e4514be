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

from typing import Any

from store import ids
from store.base import now
from store.db import Database, Tx, UniqueViolation
from store.errors import BadRequestError, NotFoundError
from store.paging import page
from store.prompt_labels import PromptLabelPart
from store.prompt_rows import (
    DEFAULT_LABEL,
    JSON_FIELDS,
    PROMPT_COLUMNS,
    VERSION_COLUMNS,
    VERSION_FIELDS,
    label_not_found,
    lock_prompt,
    prompt_from_row,
    prompt_not_found,
    qualified,
    version_from_row,
    version_not_found,
)
from store.prompt_types import Prompt, PromptDeleted, PromptVersion, ResolvedPrompt
from store.rows import dumps, loads
from store.types import ListPage


class PromptPart:
    """Prompts, their versions and labels, scoped by project."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.labels = PromptLabelPart(db)

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
        return await page(
            self.db,
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
            prompt_id, _ = await lock_prompt(tx, project, name)
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

    # --- versions ------------------------------------------------------------------------------

    async def create_version(
        self, project: str, name: str, fields: dict[str, Any]
    ) -> PromptVersion:
        """Add the next version (`fields`: validated `VERSION_FIELDS`)."""
        row = {
            f: dumps(fields.get(f)) if f in JSON_FIELDS else fields.get(f) for f in VERSION_FIELDS
        }
        async with self.db.transaction() as tx:
            prompt_id, number = await lock_prompt(tx, project, name, bump=True)
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
        return await page(
            self.db,
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
            f"SELECT p.latest_version AS latest, l.label AS via, {qualified('v')} "
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

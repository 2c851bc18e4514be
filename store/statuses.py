"""Run statuses the schema refers to, without the schema's declaration (a cheap import)."""

from __future__ import annotations

ACTIVE_RUN_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")
"""The statuses one thread may have one run in (a partial unique index enforces it)."""
ACTIVE_SQL = "(" + ", ".join(f"'{s}'" for s in ACTIVE_RUN_STATUSES) + ")"
"""`status IN ACTIVE_SQL`, as SQL text."""

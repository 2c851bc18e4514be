"""`GET /health`: the store answers a query; says whether this process runs a worker."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from assistants.server.deps import Served

router = APIRouter()


@router.get("/health")
async def health(client: Served) -> dict[str, Any]:
    store = await client.store()
    await store.claims.queued_count()
    return {"status": "ok", "worker": client.worker is not None}

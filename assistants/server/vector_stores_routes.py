"""`/v1/vector_stores` (+ `/files`, `/file_batches`, `/search`): openai-python's
`client.vector_stores` over HTTP, each route a thin call of the in-process client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistants.server.files_routes import client_of, list_query
from assistants.server.guard import read_json_body
from store.filetypes import SearchPage

router = APIRouter()

PREFIX = "/v1/vector_stores"


def _json(result: Any) -> JSONResponse:
    return JSONResponse(result.to_dict())


@router.post(PREFIX)
async def create_vector_store(request: Request) -> JSONResponse:
    body = await read_json_body(request)
    return _json(await client_of(request).vector_stores.create(extra_body=body))


@router.get(PREFIX)
async def list_vector_stores(request: Request) -> JSONResponse:
    return _json(await client_of(request).vector_stores.list(**list_query(request, "before")))


@router.get(PREFIX + "/{vector_store_id}")
async def get_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    return _json(await client_of(request).vector_stores.retrieve(vector_store_id))


@router.post(PREFIX + "/{vector_store_id}")
async def update_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    body = await read_json_body(request)
    return _json(await client_of(request).vector_stores.update(vector_store_id, extra_body=body))


@router.delete(PREFIX + "/{vector_store_id}")
async def delete_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    return _json(await client_of(request).vector_stores.delete(vector_store_id))


@router.post(PREFIX + "/{vector_store_id}/search")
async def search_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    body = await read_json_body(request)
    query = body.pop("query", None)
    options = {
        k: body.pop(k)
        for k in ("filters", "max_num_results", "ranking_options", "rewrite_query")
        if k in body and body[k] is not None
    }
    page = await client_of(request).vector_stores.search(
        vector_store_id,
        query=query,
        extra_body=body or None,
        **options,
    )
    asked = [query] if isinstance(query, str) else list(query)
    return _json(SearchPage(search_query=asked, data=page.data))


@router.post(PREFIX + "/{vector_store_id}/files")
async def add_file(request: Request, vector_store_id: str) -> JSONResponse:
    body = await read_json_body(request)
    files = client_of(request).vector_stores.files
    return _json(
        await files.create(vector_store_id, file_id=body.pop("file_id", None), extra_body=body)
    )


@router.get(PREFIX + "/{vector_store_id}/files")
async def list_store_files(request: Request, vector_store_id: str) -> JSONResponse:
    query = list_query(request, "before", "filter")
    return _json(await client_of(request).vector_stores.files.list(vector_store_id, **query))


@router.get(PREFIX + "/{vector_store_id}/files/{file_id}")
async def get_store_file(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    files = client_of(request).vector_stores.files
    return _json(await files.retrieve(file_id, vector_store_id=vector_store_id))


@router.post(PREFIX + "/{vector_store_id}/files/{file_id}")
async def update_store_file(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    body = await read_json_body(request)
    files = client_of(request).vector_stores.files
    return _json(
        await files.update(
            file_id, vector_store_id=vector_store_id, attributes=body.get("attributes")
        )
    )


@router.delete(PREFIX + "/{vector_store_id}/files/{file_id}")
async def remove_store_file(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    files = client_of(request).vector_stores.files
    return _json(await files.delete(file_id, vector_store_id=vector_store_id))


@router.post(PREFIX + "/{vector_store_id}/file_batches")
async def create_batch(request: Request, vector_store_id: str) -> JSONResponse:
    body = await read_json_body(request)
    batches = client_of(request).vector_stores.file_batches
    return _json(await batches.create(vector_store_id, extra_body=body))


@router.get(PREFIX + "/{vector_store_id}/file_batches/{batch_id}")
async def get_batch(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    batches = client_of(request).vector_stores.file_batches
    return _json(await batches.retrieve(batch_id, vector_store_id=vector_store_id))


@router.post(PREFIX + "/{vector_store_id}/file_batches/{batch_id}/cancel")
async def cancel_batch(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    batches = client_of(request).vector_stores.file_batches
    return _json(await batches.cancel(batch_id, vector_store_id=vector_store_id))


@router.get(PREFIX + "/{vector_store_id}/file_batches/{batch_id}/files")
async def list_batch_files(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    batches = client_of(request).vector_stores.file_batches
    query = list_query(request, "before", "filter")
    return _json(await batches.list_files(batch_id, vector_store_id=vector_store_id, **query))

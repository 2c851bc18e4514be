"""`/v1/vector_stores` (+ `/files`, `/file_batches`, `/search`): openai-python's
`client.vector_stores` over HTTP, each route a thin call of the in-process client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistants.server.files_routes import client_of
from assistants.server.guard import read_json_body
from assistants.server.openapi import operation
from assistants.server.wire import list_query
from assistants.validation import vector_stores as vv
from store.filetypes import SearchPage

router = APIRouter()

PREFIX = "/v1/vector_stores"


def _json(result: Any) -> JSONResponse:
    return JSONResponse(result.to_dict())


@router.post(
    PREFIX,
    **operation(
        "createVectorStore",
        "Create a vector store",
        "Vector stores",
        "VectorStore",
        body="CreateVectorStoreRequest",
    ),
)
async def create_vector_store(request: Request) -> JSONResponse:
    body = await read_json_body(request)
    return _json(await client_of(request).vector_stores.create(extra_body=body))


@router.get(
    PREFIX,
    **operation(
        "listVectorStores",
        "List vector stores",
        "Vector stores",
        "VectorStore",
        query=("limit", "order", "after", "before"),
        is_list=True,
    ),
)
async def list_vector_stores(request: Request) -> JSONResponse:
    return _json(await client_of(request).vector_stores.list(**list_query(request)))


@router.get(
    PREFIX + "/{vector_store_id}",
    **operation("retrieveVectorStore", "Retrieve a vector store", "Vector stores", "VectorStore"),
)
async def get_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    return _json(await client_of(request).vector_stores.retrieve(vector_store_id))


@router.post(
    PREFIX + "/{vector_store_id}",
    **operation(
        "modifyVectorStore",
        "Modify a vector store",
        "Vector stores",
        "VectorStore",
        body="UpdateVectorStoreRequest",
    ),
)
async def update_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    body = await read_json_body(request)
    return _json(await client_of(request).vector_stores.update(vector_store_id, extra_body=body))


@router.delete(
    PREFIX + "/{vector_store_id}",
    **operation(
        "deleteVectorStore", "Delete a vector store", "Vector stores", "VectorStoreDeleted"
    ),
)
async def delete_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    return _json(await client_of(request).vector_stores.delete(vector_store_id))


@router.post(
    PREFIX + "/{vector_store_id}/search",
    **operation(
        "searchVectorStore",
        "Search a vector store",
        "Vector stores",
        "SearchPage",
        body="SearchVectorStoreRequest",
        body_required=True,
    ),
)
async def search_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    body = await read_json_body(request)
    query = body.pop("query", None)
    options = {k: body.pop(k) for k in vv.SEARCH_OPTIONS if k in body and body[k] is not None}
    page = await client_of(request).vector_stores.search(
        vector_store_id,
        query=query,
        extra_body=body or None,
        **options,
    )
    asked = [query] if isinstance(query, str) else list(query)
    return _json(SearchPage(search_query=asked, data=page.data))


@router.post(
    PREFIX + "/{vector_store_id}/files",
    **operation(
        "createVectorStoreFile",
        "Add a file to a vector store",
        "Vector stores",
        "VectorStoreFile",
        body="CreateVectorStoreFileRequest",
        body_required=True,
    ),
)
async def add_file(request: Request, vector_store_id: str) -> JSONResponse:
    body = await read_json_body(request)
    files = client_of(request).vector_stores.files
    return _json(
        await files.create(vector_store_id, file_id=body.pop("file_id", None), extra_body=body)
    )


@router.get(
    PREFIX + "/{vector_store_id}/files",
    **operation(
        "listVectorStoreFiles",
        "List a vector store's files",
        "Vector stores",
        "VectorStoreFile",
        query=("limit", "order", "after", "before", "filter"),
        is_list=True,
    ),
)
async def list_store_files(request: Request, vector_store_id: str) -> JSONResponse:
    query = list_query(request, "filter")
    return _json(await client_of(request).vector_stores.files.list(vector_store_id, **query))


@router.get(
    PREFIX + "/{vector_store_id}/files/{file_id}",
    **operation(
        "retrieveVectorStoreFile",
        "Retrieve a vector store file",
        "Vector stores",
        "VectorStoreFile",
    ),
)
async def get_store_file(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    files = client_of(request).vector_stores.files
    return _json(await files.retrieve(file_id, vector_store_id=vector_store_id))


@router.post(
    PREFIX + "/{vector_store_id}/files/{file_id}",
    **operation(
        "updateVectorStoreFileAttributes",
        "Update a vector store file's attributes",
        "Vector stores",
        "VectorStoreFile",
        body="UpdateVectorStoreFileRequest",
    ),
)
async def update_store_file(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    body = await read_json_body(request)
    files = client_of(request).vector_stores.files
    return _json(
        await files.update(
            file_id, vector_store_id=vector_store_id, attributes=body.get("attributes")
        )
    )


@router.delete(
    PREFIX + "/{vector_store_id}/files/{file_id}",
    **operation(
        "deleteVectorStoreFile",
        "Remove a file from a vector store",
        "Vector stores",
        "VectorStoreFileDeleted",
    ),
)
async def remove_store_file(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    files = client_of(request).vector_stores.files
    return _json(await files.delete(file_id, vector_store_id=vector_store_id))


@router.post(
    PREFIX + "/{vector_store_id}/file_batches",
    **operation(
        "createVectorStoreFileBatch",
        "Add files to a vector store",
        "Vector stores",
        "VectorStoreFileBatch",
        body="CreateVectorStoreFileBatchRequest",
        body_required=True,
    ),
)
async def create_batch(request: Request, vector_store_id: str) -> JSONResponse:
    body = await read_json_body(request)
    batches = client_of(request).vector_stores.file_batches
    return _json(await batches.create(vector_store_id, extra_body=body))


@router.get(
    PREFIX + "/{vector_store_id}/file_batches/{batch_id}",
    **operation(
        "retrieveVectorStoreFileBatch",
        "Retrieve a file batch",
        "Vector stores",
        "VectorStoreFileBatch",
    ),
)
async def get_batch(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    batches = client_of(request).vector_stores.file_batches
    return _json(await batches.retrieve(batch_id, vector_store_id=vector_store_id))


@router.post(
    PREFIX + "/{vector_store_id}/file_batches/{batch_id}/cancel",
    **operation(
        "cancelVectorStoreFileBatch", "Cancel a file batch", "Vector stores", "VectorStoreFileBatch"
    ),
)
async def cancel_batch(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    batches = client_of(request).vector_stores.file_batches
    return _json(await batches.cancel(batch_id, vector_store_id=vector_store_id))


@router.get(
    PREFIX + "/{vector_store_id}/file_batches/{batch_id}/files",
    **operation(
        "listFilesInVectorStoreBatch",
        "List a file batch's files",
        "Vector stores",
        "VectorStoreFile",
        query=("limit", "order", "after", "before", "filter"),
        is_list=True,
    ),
)
async def list_batch_files(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    batches = client_of(request).vector_stores.file_batches
    query = list_query(request, "filter")
    return _json(await batches.list_files(batch_id, vector_store_id=vector_store_id, **query))

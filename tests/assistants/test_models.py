"""`client.models` in-process: openai-python's names, parameters and shapes, sync and async."""

from __future__ import annotations

import inspect
import warnings

import pytest

from assistants import AsyncClient, Client
from assistants.errors import NotFoundError
from assistants.testing import ScriptedModel
from tests.assistants.test_signatures import _compare

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

MEMORY = "sqlite+aiosqlite:///:memory:"


@pytest.mark.parametrize("method", ["list", "retrieve"])
def test_models__signatures_match_openai(method: str) -> None:
    """`models.list` and `models.retrieve` take openai-python's parameters, on both clients."""
    sdk = getattr(openai.AsyncOpenAI(api_key="x").models, method)
    ours = getattr(AsyncClient(database_url=MEMORY, worker=False).models, method)
    assert _compare(ours, sdk, f"models.{method}") == []
    with Client(database_url=MEMORY, worker=False) as client:
        sync = getattr(client.models, method)
        assert _compare(sync, getattr(openai.OpenAI(api_key="x").models, method), method) == []
        assert not inspect.iscoroutinefunction(sync)


async def test_async_models__list_and_retrieve(anyio_backend: str) -> None:
    """Await a page or iterate it; registered providers and aliases are listed after `test`."""
    async with AsyncClient(
        database_url=MEMORY,
        worker=False,
        providers={"scripted": ScriptedModel([])},
        model_aliases={"gpt-4o": "scripted", "*": "test"},
    ) as client:
        page = await client.models.list()
        walked = [m.id async for m in client.models.list()]
        card = await client.models.retrieve("gpt-4o")
        with pytest.raises(NotFoundError) as info:
            await client.models.retrieve("gpt-5")
        view = await client.for_project("other").models.list()
    assert [m.id for m in page.data] == walked == ["scripted", "test", "gpt-4o"]
    assert [m.id for m in view.data] == walked
    assert page.data[1].to_dict().keys() == {"id", "object", "created", "owned_by"}
    assert (card.id, card.object, card.owned_by) == ("gpt-4o", "model", "scripted")
    assert (info.value.status_code, info.value.code, info.value.param) == (
        404,
        "model_not_found",
        "model",
    )
    assert info.value.message == "The model 'gpt-5' does not exist"


def test_sync_models__list_and_retrieve() -> None:
    """The blocking client lists and retrieves the same models."""
    with Client(database_url=MEMORY, worker=False) as client:
        assert [m.id for m in client.models.list()] == ["test"]
        assert client.models.list().data[0].owned_by == "assistants-runtime"
        assert client.models.retrieve("test").object == "model"
        with pytest.raises(NotFoundError):
            client.models.retrieve("ollama/llama3.2")

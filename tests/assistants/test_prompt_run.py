"""`client.prompts.run`: a version rendered with `input_variables` and sent through
`chat.completions`, returning `request_id`, `raw_response` and `prompt_blueprint`; streamed,
the chunks and then the same object. The built-in `test` model answers with the last user
message verbatim."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from assistants import AsyncClient, Client
from assistants.errors import BadRequestError, NotFoundError
from store.completion_types import ChatCompletion, ChatCompletionChunk
from store.prompt_types import PromptRun

MEMORY = "sqlite+aiosqlite:///:memory:"


async def _greeting(client: AsyncClient) -> None:
    await client.prompts.create(name="greeting")
    await client.prompts.versions.create(
        "greeting",
        messages=[
            {"role": "system", "content": "You greet people."},
            {"role": "user", "content": "Say hello to {{name}} (v1)"},
        ],
        model="test",
        temperature=0.3,
        max_tokens=50,
    )
    await client.prompts.versions.create(
        "greeting",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Wave at {{name}} (v2)"}]}],
        model="test",
    )


async def test_run__default_label_and_version(client: AsyncClient) -> None:
    """No choice runs the latest version (no `prod` yet), then `prod` once set; a version or a
    label runs that one; the blueprint shows what was sent, overrides applied."""
    await _greeting(client)
    latest = await client.prompts.run("greeting", input_variables={"name": "Ada"})
    assert isinstance(latest, PromptRun)
    assert isinstance(latest.raw_response, ChatCompletion)
    assert "Wave at Ada (v2)" in (latest.raw_response.choices[0].message.content or "")
    assert latest.request_id == latest.raw_response.span_id
    blueprint = latest.prompt_blueprint
    assert (blueprint.prompt_name, blueprint.prompt_version, blueprint.prompt_release_label) == (
        "greeting",
        2,
        None,
    )
    assert blueprint.messages == [
        {"role": "user", "content": [{"type": "text", "text": "Wave at Ada (v2)"}]}
    ]
    await client.prompts.labels.set("greeting", label="prod", version=1)
    prod = await client.prompts.run(
        "greeting",
        input_variables={"name": "Bo"},
        model_parameter_overrides={"temperature": 0.9},
        tags=["docs"],
        metadata={"team": "growth"},
        group_id=7,
    )
    assert "Say hello to Bo (v1)" in (prod.raw_response.choices[0].message.content or "")
    assert (prod.prompt_blueprint.prompt_version, prod.prompt_blueprint.prompt_release_label) == (
        1,
        "prod",
    )
    assert prod.prompt_blueprint.parameters == {"temperature": 0.9, "max_tokens": 50}
    span = await client.spans.retrieve(prod.request_id)
    assert (span.kind, span.tags) == ("completion", ["docs"])
    assert {k: v for k, v in (span.metadata or {}).items() if k != "stream"} == {
        "prompt_name": "greeting",
        "prompt_version": "1",
        "prompt_release_label": "prod",
        "group_id": "7",
        "team": "growth",
    }
    assert prod.prompt_blueprint.messages[0] == {"role": "system", "content": "You greet people."}
    pinned = await client.prompts.run("greeting", prompt_version=2, input_variables={"name": "C"})
    assert pinned.prompt_blueprint.prompt_version == 2
    labelled = await client.prompts.run(
        "greeting", prompt_release_label="prod", input_variables={"name": "D"}
    )
    assert labelled.prompt_blueprint.prompt_release_label == "prod"
    assert labelled.to_dict()["object"] == "prompt.run"


async def test_run__stream_yields_chunks_then_the_same_object(client: AsyncClient) -> None:
    """`stream=True`: chunks whose text adds up to the answer, then the `PromptRun` whose
    `raw_response` is that answer."""
    await _greeting(client)
    stream = await client.prompts.run("greeting", input_variables={"name": "Eve"}, stream=True)
    items = [item async for item in stream]
    chunks, last = items[:-1], items[-1]
    assert chunks
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert isinstance(last, PromptRun)
    text = "".join(
        c.choices[0].delta.content or ""
        for c in chunks
        if isinstance(c, ChatCompletionChunk) and c.choices
    )
    assert text == last.raw_response.choices[0].message.content
    assert "Wave at Eve (v2)" in text
    assert last.prompt_blueprint.prompt_version == 2
    again = await client.prompts.run("greeting", input_variables={"name": "F"}, stream=True)
    async with again:
        final = await again.get_final_result()
    assert "Wave at F (v2)" in (final.raw_response.choices[0].message.content or "")


async def test_run__bad_input(client: AsyncClient) -> None:
    """Both a version and a label, unknown prompt, version or label, a missing or non-string
    variable, a template that renders empty, no model, and overrides that are not model
    parameters are refused in OpenAI's wording, naming the parameter."""
    await _greeting(client)
    await client.prompts.create(name="bare")
    await client.prompts.versions.create("bare", instructions="{{text}}")
    run = client.prompts.run
    cases: list[tuple[type[Exception], str, str, Callable[[], Awaitable[object]]]] = [
        (
            BadRequestError,
            "either 'prompt_version' or 'prompt_release_label'",
            "prompt_release_label",
            lambda: run("greeting", prompt_version=1, prompt_release_label="prod"),
        ),
        (NotFoundError, "No prompt found with name 'nope'", "name", lambda: run("nope")),
        (NotFoundError, "No version 3 found", "version", lambda: run("greeting", prompt_version=3)),
        (
            NotFoundError,
            "No label 'prod' found",
            "label",
            lambda: run("greeting", prompt_release_label="prod"),
        ),
        (
            BadRequestError,
            "Missing variable 'name' for the placeholder '{{name}}'",
            "input_variables.name",
            lambda: run("greeting"),
        ),
        (
            BadRequestError,
            "Invalid type for 'input_variables.name'",
            "input_variables.name",
            lambda: run("greeting", input_variables={"name": 3}),  # type: ignore[dict-item]
        ),
        (
            BadRequestError,
            "renders to an empty template",
            "input_variables",
            lambda: run("bare", input_variables={"text": " "}, model="test"),
        ),
        (
            BadRequestError,
            "names no model: pass model=",
            "model",
            lambda: run("bare", input_variables={"text": "hi"}),
        ),
        (
            BadRequestError,
            "'model' is not a model parameter; pass model= instead",
            "model_parameter_overrides.model",
            lambda: run(
                "greeting",
                input_variables={"name": "x"},
                model_parameter_overrides={"model": "test"},
            ),
        ),
        (
            BadRequestError,
            "Unrecognized request argument supplied: warmth",
            "warmth",
            lambda: run(
                "greeting",
                input_variables={"name": "x"},
                model_parameter_overrides={"warmth": 1},
            ),
        ),
        (
            BadRequestError,
            "Unrecognized request argument supplied: colour",
            "colour",
            lambda: run("greeting", extra_body={"colour": "red"}),
        ),
    ]
    for error, message, param, call in cases:
        with pytest.raises(error, match=re.escape(message)) as info:
            await call()
        assert info.value.param == param, message  # type: ignore[attr-defined]
    assert (
        await client.prompts.run("bare", input_variables={"text": "ok"}, model="test")
    ).request_id


def test_sync_run__plain_and_streamed(anyio_backend: str) -> None:
    """The sync client runs prompts too; its stream yields the chunks, then the `PromptRun`."""
    with Client(database_url=MEMORY, worker=False) as client:
        client.prompts.create(name="s")
        client.prompts.versions.create("s", instructions="Echo {{word}}", model="test")
        result = client.prompts.run("s", input_variables={"word": "quartz"})
        assert result.prompt_blueprint.messages == [{"role": "system", "content": "Echo quartz"}]
        assert result.raw_response.choices[0].message.role == "assistant"
        with client.prompts.run("s", input_variables={"word": "quartz"}, stream=True) as stream:
            items = list(stream)
        assert isinstance(items[-1], PromptRun)
        assert all(isinstance(i, ChatCompletionChunk) for i in items[:-1])
        with client.prompts.run("s", input_variables={"word": "x"}, stream=True) as again:
            assert again.get_final_result().prompt_blueprint.prompt_name == "s"

"""Fallback models and costs: a model that fails for good hands the call to the next one."""

from __future__ import annotations

import anyio
import pytest

from assistants import AsyncClient, BadRequestError
from assistants.testing import ScriptedModel
from runtime.providers.base import ProviderCallError


async def test_fallback__next_model_answers_and_the_step_says_which() -> None:
    """The first model fails before any output; the fallback answers; the step records both."""
    down = ScriptedModel(
        [ProviderCallError("upstream is down (503)", code="server_error")], name="down"
    )
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:",
        providers={"down": down},
        prices={"test": {"prompt": 1.0, "completion": 2.0}},
    ) as client:
        assistant = await client.assistants.create(model="down", extra_body={"fallbacks": ["test"]})
        assert assistant.model_extra["fallbacks"] == ["test"]  # type: ignore[index]
        thread = await client.threads.create(messages=[{"role": "user", "content": "hello there"}])
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
        assert run.status == "completed"
        assert run.model == "down"
        (step,) = (await client.threads.runs.steps.list(run.id, thread_id=thread.id)).data
        extra = step.model_extra or {}
        assert extra["model"] == "test"
        assert extra["fallbacks_failed"] == [
            {"model": "down", "code": "server_error", "error": "upstream is down (503)"}
        ]
        assert run.usage is not None
        expected = (run.usage.prompt_tokens * 1.0 + run.usage.completion_tokens * 2.0) / 1_000_000
        assert extra["cost"] == pytest.approx(expected)
        assert (run.model_extra or {})["cost"] == pytest.approx(expected)


async def test_fallback__all_fail_run_fails_with_the_last_error() -> None:
    """When every model fails, the run fails with the last model's error."""
    a = ScriptedModel([ProviderCallError("a is down")], name="a")
    b = ScriptedModel(
        [ProviderCallError("b is rate limited", code="rate_limit_exceeded")], name="b"
    )
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", providers={"a": a, "b": b}
    ) as client:
        assistant = await client.assistants.create(model="a")
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id, extra_body={"fallbacks": ["b"]}
            )
        assert run.status == "failed"
        assert run.last_error is not None
        assert (run.last_error.code, run.last_error.message) == (
            "rate_limit_exceeded",
            "b is rate limited",
        )


async def test_fallbacks__unknown_model_or_bad_shape_is_a_400() -> None:
    """Fallbacks are checked when created: unknown models and non-lists are refused."""
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        with pytest.raises(BadRequestError, match="'nowhere-model'"):
            await client.assistants.create(
                model="test", extra_body={"fallbacks": ["nowhere-model"]}
            )
        with pytest.raises(BadRequestError) as info:
            await client.assistants.create(model="test", extra_body={"fallbacks": "test"})
        assert info.value.code == "invalid_type"
        with pytest.raises(BadRequestError) as too_many:
            await client.assistants.create(model="test", extra_body={"fallbacks": ["test"] * 6})
        assert too_many.value.code == "array_above_max_length"

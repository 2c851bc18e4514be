"""Model aliases: apps keep sending the names they always sent; runs go where the operator says."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import anyio
import httpx
import pytest

from assistants import AsyncClient
from assistants.errors import BadRequestError, ConfigurationError
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings, parse_aliases

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def _router(**aliases: str) -> ProviderRouter:
    return ProviderRouter(Settings(model_aliases=aliases))


def test_resolution_order__alias_then_provider_then_bare_then_star(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exact alias first, then provider/model, then bare-name detection, then `*`."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    router = _router(**{"gpt-4o": "test", "*": "ollama/qwen2.5", "ollama/x": "test"})
    assert router.resolve("gpt-4o").label == "test"  # exact alias beats bare detection
    assert router.resolve("ollama/x").label == "test"  # exact alias beats provider/model
    assert router.resolve("ollama/llama3.2").label == "ollama/llama3.2"
    assert router.resolve("gpt-4.1-mini").label == "openai/gpt-4.1-mini"  # bare detection
    assert router.resolve("my-fine-tune").label == "ollama/qwen2.5"  # then `*`
    chained = _router(**{"gpt-4o": "smart", "smart": "test"})
    assert chained.resolve("gpt-4o").label == "test"


def test_unresolvable__400_naming_the_model_and_how_to_alias_it() -> None:
    """Without a `*`, an unknown name is a 400 that says how to alias it."""
    with pytest.raises(BadRequestError) as info:
        _router().resolve("my-fine-tune")
    assert info.value.code == "model_not_found"
    assert "'my-fine-tune'" in info.value.message
    assert "ASSISTANTS_MODEL_ALIASES='my-fine-tune=" in info.value.message


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ({"a": "b", "b": "a"}, "cycle: a -> b -> a"),
        ({"gpt-4o": "gpt-4o"}, "points at itself"),
        ({"gpt-4o": "nowhere/model"}, "'gpt-4o' points at 'nowhere/model'"),
    ],
)
def test_bad_aliases__refused_at_startup(aliases: dict[str, str], message: str) -> None:
    """Cycles, self-references and aliases to unknown providers stop the client from starting."""
    with pytest.raises(ConfigurationError, match=message):
        AsyncClient(database_url="sqlite+aiosqlite:///:memory:", model_aliases=aliases)


@pytest.mark.parametrize("bad", ["gpt-4o", "=test", "gpt-4o=", " = "])
def test_malformed_alias_strings__clear_error(bad: str) -> None:
    """NAME=MODEL strings missing `=` or a side are refused, quoting the entry."""
    with pytest.raises(ConfigurationError, match="Invalid model alias"):
        parse_aliases([bad])


def test_env_aliases__parsed_from_assistants_model_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    """ASSISTANTS_MODEL_ALIASES='a=b,c=d' becomes the settings' mapping."""
    monkeypatch.setenv("ASSISTANTS_MODEL_ALIASES", "gpt-4o=test, gpt-4.1-mini=ollama/qwen2.5")
    assert Settings.load().model_aliases == {"gpt-4o": "test", "gpt-4.1-mini": "ollama/qwen2.5"}


async def test_in_process__objects_keep_the_apps_name_steps_record_the_model() -> None:
    """An assistant made with gpt-4o runs on `test`; everything returned still says gpt-4o."""
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:",
        model_aliases={"gpt-4o": "test", "gpt-4.1-mini": "test"},
    ) as client:
        assistant = await client.assistants.create(model="gpt-4o", tools=[TOOL])
        thread = await client.threads.create(messages=[{"role": "user", "content": "lookup it"}])
        with anyio.fail_after(10):
            run = await client.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
            run = await client.threads.runs.submit_tool_outputs_and_poll(
                thread_id=thread.id,
                run_id=run.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "42"}],
            )
        assert run.status == "completed"
        assert assistant.model == run.model == "gpt-4o"
        steps = (await client.threads.runs.steps.list(run.id, thread_id=thread.id)).data
        assert {s.model_extra["model"] for s in steps} == {"test"}  # type: ignore[index]
        override = await client.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, model="gpt-4.1-mini", tools=[]
        )
        assert override.model == "gpt-4.1-mini"
        assert override.status == "completed"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_served__official_sdk_with_model_alias_flag(tmp_path: Path) -> None:
    """`assistants serve --model-alias gpt-4o=test`: a gpt-4o tool round trip via the SDK."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistants.cli",
            "--log-level",
            "warning",
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
            "--model-alias",
            "gpt-4o=test",
        ],
        env={**os.environ, "ASSISTANTS_POLL_SECONDS": "0.05"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client() as http:
            for _ in range(400):  # the process needs a moment to import and bind
                try:
                    if http.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)  # an external process binding its port: poll it
            else:
                raise AssertionError("the server did not start")
        sdk = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1",
            api_key="x",
            max_retries=0,
            _strict_response_validation=True,
        )
        assistant = sdk.beta.assistants.create(model="gpt-4o", tools=[TOOL])  # type: ignore[list-item]
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "lookup please"}])
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "requires_action"
        call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
        run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread.id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "42"}],
        )
        assert run.status == "completed"
        steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
        assert (
            assistant.model
            == run.model
            == sdk.beta.assistants.retrieve(assistant.id).model
            == "gpt-4o"
        )
        assert all(getattr(s, "model") == "test" for s in steps.data)  # noqa: B009 (an extension field)
        sdk.close()
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_router__native_vendors_by_prefix_and_bare_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """`anthropic/`, `claude-*`, `google/`, `gemini-*` route to the vendors' own adapters."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("GEMINI_API_KEY", "gm-test")
    router = _router()
    assert router.resolve("claude-sonnet-4-5").label == "anthropic/claude-sonnet-4-5"
    assert router.resolve("anthropic/claude-x").provider.name == "anthropic"
    assert router.resolve("gemini-2.5-flash").label == "google/gemini-2.5-flash"
    assert router.resolve("google/gemini-x").provider.name == "google"
    assert router.resolve("vllm/qwen").label == "vllm/qwen"
    assert router.resolve("lmstudio/m").provider.name == "lmstudio"

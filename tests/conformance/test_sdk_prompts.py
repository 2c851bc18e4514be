"""`/v1/prompts` over HTTP, driven by the unmodified openai SDK's generic request methods:
the same objects and errors as `client.prompts`, scoped by API key, and never a 409."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.support import serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai


def _post(sdk: openai.OpenAI, path: str, body: dict[str, Any]) -> Any:
    return sdk.post(path, body=body, cast_to=object)


def _get(sdk: openai.OpenAI, path: str, **query: Any) -> Any:
    return sdk.get(path, options={"params": query}, cast_to=object)


def _delete(sdk: openai.OpenAI, path: str) -> Any:
    return sdk.delete(path, cast_to=object)


def test_prompts_over_http__versions_labels_and_errors(tmp_path: Path) -> None:
    """Create, version, label (with compare-and-set), resolve, list and delete over HTTP; bad
    input is a 400 or 404 with OpenAI's error body; another key sees nothing."""
    with serve(tmp_path, worker=False, keys=["sk-a", "sk-b"]) as server:
        a, b = server.sdk(api_key="sk-a"), server.sdk(api_key="sk-b")
        created = _post(a, "/prompts", {"name": "greet", "metadata": {"team": "x"}})
        assert (created["object"], created["name"], created["latest_version"]) == (
            "prompt",
            "greet",
            0,
        )
        v1 = _post(a, "/prompts/greet/versions", {"instructions": "Hi {{who}}", "model": "test"})
        v2 = _post(
            a,
            "/prompts/greet/versions",
            {"messages": [{"role": "system", "content": "Hello {{who}}"}], "commit_message": "m"},
        )
        assert (v1["version"], v2["version"], v2["commit_message"]) == (1, 2, "m")
        label = _post(a, "/prompts/greet/labels", {"label": "prod", "version": 1})
        assert (label["object"], label["version"]) == ("prompt.label", 1)
        assert _get(a, "/prompts/greet")["version"] == 1
        assert _get(a, "/prompts/greet", version=2)["messages"][0]["content"] == "Hello {{who}}"
        assert _get(a, "/prompts/greet", label="prod")["label"] == "prod"
        moved = _post(
            a, "/prompts/greet/labels", {"label": "prod", "version": 2, "expected_version": 1}
        )
        assert [(m["from_version"], m["to_version"]) for m in moved["history"]] == [
            (None, 1),
            (1, 2),
        ]
        with pytest.raises(openai.BadRequestError) as lost:
            _post(
                a, "/prompts/greet/labels", {"label": "prod", "version": 1, "expected_version": 1}
            )
        assert lost.value.code == "label_moved"
        assert "points at version 2, not 1" in lost.value.message
        assert lost.value.status_code == 400
        versions = _get(a, "/prompts/greet/versions", limit=1)
        assert ([v["version"] for v in versions["data"]], versions["has_more"]) == ([2], True)
        assert [p["name"] for p in _get(a, "/prompts")["data"]] == ["greet"]
        assert [x["label"] for x in _get(a, "/prompts/greet/labels")["data"]] == ["prod"]

        with pytest.raises(openai.BadRequestError) as both:
            _get(a, "/prompts/greet", version=1, label="prod")
        assert both.value.param == "label"
        with pytest.raises(openai.BadRequestError) as bad_version:
            _get(a, "/prompts/greet", version="two")
        assert bad_version.value.code == "invalid_type"
        with pytest.raises(openai.NotFoundError) as unknown:
            _get(a, "/prompts/greet", label="canary")
        assert unknown.value.body == {
            "message": "No label 'canary' found for prompt 'greet'.",
            "type": "invalid_request_error",
            "param": "label",
            "code": None,
        }
        with pytest.raises(openai.BadRequestError) as extra:
            _post(a, "/prompts/greet/labels", {"label": "prod", "version": 1, "force": True})
        assert extra.value.code == "unknown_parameter"
        with pytest.raises(openai.BadRequestError) as exists:
            _post(a, "/prompts", {"name": "greet"})
        assert exists.value.code == "prompt_exists"
        with pytest.raises(openai.NotFoundError):
            _get(b, "/prompts/greet")
        assert _get(b, "/prompts")["data"] == []

        assert _delete(a, "/prompts/greet/labels/prod")["deleted"] is True
        assert _delete(a, "/prompts/greet")["deleted"] is True
        with pytest.raises(openai.NotFoundError):
            _get(a, "/prompts/greet")


def test_prompt_backed_assistant_over_http(tmp_path: Path) -> None:
    """Over HTTP the prompt reference travels in `extra_body`; the run the SDK gets back (strictly
    validated) names the version it used, and moving the label changes the next run."""
    with serve(tmp_path, worker=False) as server:
        sdk = server.sdk()
        _post(sdk, "/prompts", {"name": "tone"})
        _post(sdk, "/prompts/tone/versions", {"instructions": "Be {{mood}}."})
        _post(sdk, "/prompts/tone/versions", {"instructions": "Be very {{mood}}."})
        _post(sdk, "/prompts/tone/labels", {"label": "prod", "version": 1})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assistant = sdk.beta.assistants.create(
                model="test", extra_body={"prompt": {"name": "tone", "label": "prod"}}
            )
            assert assistant.to_dict()["prompt"] == {"name": "tone", "label": "prod"}
            first = sdk.beta.threads.create_and_run(
                assistant_id=assistant.id, extra_body={"variables": {"mood": "kind"}}
            )
            _post(sdk, "/prompts/tone/labels", {"label": "prod", "version": 2})
            second = sdk.beta.threads.create_and_run(
                assistant_id=assistant.id, extra_body={"variables": {"mood": "kind"}}
            )
            with pytest.raises(openai.BadRequestError) as missing:
                sdk.beta.threads.create_and_run(assistant_id=assistant.id)
        assert (first.instructions, second.instructions) == ("Be kind.", "Be very kind.")
        assert first.to_dict()["prompt"] == {"name": "tone", "version": 1, "label": "prod"}
        assert second.to_dict()["prompt"] == {"name": "tone", "version": 2, "label": "prod"}
        assert missing.value.param == "variables.mood"
        with pytest.raises(openai.BadRequestError) as in_use:
            _delete(sdk, "/prompts/tone")
        assert in_use.value.code == "prompt_in_use"


def test_prompt_run_over_http__plain_and_streamed(tmp_path: Path) -> None:
    """`POST /v1/prompts/{name}/run` answers a `prompt.run` whose `raw_response` the SDK's own
    `ChatCompletion` model accepts; streamed, SSE chunks (each a valid `ChatCompletionChunk`),
    then the `prompt.run` object, then `[DONE]`; bad input is an OpenAI error body."""
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    with serve(tmp_path, worker=False) as server:
        sdk = server.sdk()
        _post(sdk, "/prompts", {"name": "echo"})
        _post(
            sdk,
            "/prompts/echo/versions",
            {"messages": [{"role": "user", "content": "Repeat {{word}}"}], "model": "test"},
        )
        result = _post(sdk, "/prompts/echo/run", {"input_variables": {"word": "basalt"}})
        assert result["object"] == "prompt.run"
        completion = ChatCompletion.model_validate(result["raw_response"])
        assert "Repeat basalt" in (completion.choices[0].message.content or "")
        assert result["request_id"] == result["raw_response"]["span_id"]
        assert result["prompt_blueprint"]["prompt_version"] == 1
        body = {"input_variables": {"word": "gneiss"}, "stream": True}
        with httpx.stream(
            "POST", f"{server.base_url}/prompts/echo/run", json=body, timeout=30
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        final = json.loads(events[-2])
        chunks = [ChatCompletionChunk.model_validate_json(e) for e in events[:-2]]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == final["raw_response"]["choices"][0]["message"]["content"]
        assert "Repeat gneiss" in text
        with pytest.raises(openai.BadRequestError) as both:
            _post(sdk, "/prompts/echo/run", {"prompt_version": 1, "prompt_release_label": "prod"})
        assert both.value.param == "prompt_release_label"
        with pytest.raises(openai.BadRequestError) as missing:
            _post(sdk, "/prompts/echo/run", {})
        assert missing.value.param == "input_variables.word"


def test_prompt_run_over_http__a_null_stream_is_unset(tmp_path: Path) -> None:
    """`"stream": null` runs the prompt without streaming, as chat completions and runs take
    it; a stream that is neither a boolean nor null is still a 400 naming it."""
    with serve(tmp_path, worker=False) as server:
        sdk = server.sdk()
        _post(sdk, "/prompts", {"name": "echo"})
        _post(sdk, "/prompts/echo/versions", {"instructions": "Say hi", "model": "test"})
        result = _post(sdk, "/prompts/echo/run", {"stream": None})
        assert result["object"] == "prompt.run"
        assert result["raw_response"]["object"] == "chat.completion"
        with pytest.raises(openai.BadRequestError) as bad:
            _post(sdk, "/prompts/echo/run", {"stream": "yes"})
        assert bad.value.param == "stream"
        assert bad.value.code == "invalid_type"

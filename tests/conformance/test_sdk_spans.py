"""Spans over HTTP: `GET /v1/spans`, `/v1/spans/{id}`, `/v1/traces/{id}` through the SDK's
generic `get`, scoped by API key, with OpenAI-shaped errors."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.support import check_error, serve
from tests.conftest import WEATHER_TOOL

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

pytestmark = pytest.mark.timeout(60)


def _tool_round_trip(sdk: openai.OpenAI, **trace: Any) -> Any:
    assistant = sdk.beta.assistants.create(model="test", tools=[WEATHER_TOOL])  # type: ignore[list-item]
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Weather in Oslo?"}])
    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, extra_body=trace, poll_interval_ms=20
    )
    assert run.status == "requires_action"
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": c.id, "output": "snow"} for c in calls],
        poll_interval_ms=20,
    )
    assert run.status == "completed"
    return run


def test_trace__a_run_is_a_tree_over_http(tmp_path: Path) -> None:
    """A run created with `extra_body` trace fields returns `trace_id`; its trace is a tree
    with the root's usage and the model calls' tokens; spans list and retrieve by id."""
    with serve(tmp_path, keys=["sk-a", "sk-b"]) as server:
        sdk = server.sdk("sk-a")
        run = _tool_round_trip(sdk, tags=["http"], session_id="sess-1")
        trace_id = run.model_extra["trace_id"]
        trace = sdk.get(f"/traces/{trace_id}", cast_to=httpx.Response).json()
        assert trace["object"] == "trace"
        (root,) = trace["spans"]
        assert root["kind"] == "run"
        assert root["status"] == "completed"
        assert root["session_id"] == "sess-1"
        assert root["usage"] == run.usage.model_dump()
        kinds = [c["kind"] for c in root["children"]]
        assert kinds.count("model") == 2
        page = sdk.get("/spans?tag=http&limit=2", cast_to=httpx.Response).json()
        assert page["object"] == "list"
        assert len(page["data"]) == 2
        assert page["has_more"] is True
        one = sdk.get(f"/spans/{page['data'][0]['id']}", cast_to=httpx.Response).json()
        assert one["id"] == page["data"][0]["id"]
        other = server.sdk("sk-b")
        with pytest.raises(openai.NotFoundError) as info:
            other.get(f"/traces/{trace_id}", cast_to=httpx.Response)
        check_error(info.value, 404, f"No trace found with id '{trace_id}'.")
        assert other.get("/spans", cast_to=httpx.Response).json()["data"] == []


def test_spans__bad_ids_and_filters_are_400s(tmp_path: Path) -> None:
    """Malformed ids name the field and the format; bad filters name the filter."""
    with serve(tmp_path, worker=False) as server:
        sdk = server.sdk()
        with pytest.raises(openai.BadRequestError) as info:
            sdk.get("/spans/sp_nothex", cast_to=httpx.Response)
        assert info.value.param == "span_id"
        assert "16 lowercase hex" in info.value.message
        with pytest.raises(openai.BadRequestError) as info:
            sdk.get("/traces/abc", cast_to=httpx.Response)
        assert info.value.param == "trace_id"
        for query, param in (
            ("since=yesterday", "since"),
            ("limit=x", "limit"),
            ("limit=1000", "limit"),
            ("kind=wizard", "kind"),
            ("trace_id=t1", "trace_id"),
            ("after=sp_0123456789abcdef", "after"),
        ):
            with pytest.raises(openai.BadRequestError) as info:
                sdk.get(f"/spans?{query}", cast_to=httpx.Response)
            assert info.value.param == param, query
        with pytest.raises(openai.BadRequestError) as info:
            sdk.beta.threads.create_and_run(
                assistant_id="asst_x", extra_body={"tags": ["t"] * 10_000}
            )
        assert info.value.param == "tags"


def test_spans__a_time_filter_that_is_not_finite_is_a_400(tmp_path: Path) -> None:
    """`since` / `until` of nan or infinity (which float() reads) name the filter instead of
    listing nothing (nan) or everything (infinity)."""
    with serve(tmp_path, worker=False) as server:
        sdk = server.sdk()
        for query, param, shown in (
            ("since=nan", "since", "nan"),
            ("until=inf", "until", "inf"),
            ("since=-Infinity", "since", "-inf"),
            ("until=1e400", "until", "inf"),
        ):
            with pytest.raises(openai.BadRequestError) as info:
                sdk.get(f"/spans?{query}", cast_to=httpx.Response)
            check_error(
                info.value,
                400,
                f"Invalid '{param}': {shown}. Expected Unix seconds (a finite number).",
                code="invalid_value",
                param=param,
            )
        assert sdk.get("/spans?since=0&until=1e12", cast_to=object) == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }


def test_completion__trace_fields_as_body_fields(tmp_path: Path) -> None:
    """Over HTTP a completion's trace fields are body fields (`extra_body`): the span carries
    the group and no content, and a bad `group_id` is a 400 naming it."""
    with serve(tmp_path, worker=False) as server:
        sdk = server.sdk()
        answer = sdk.chat.completions.create(
            model="test",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"group_id": "g-1", "store_content": False, "session_id": "s-2"},
        )
        assert answer.model_extra is not None
        assert answer.model_extra["group_id"] == "g-1"
        span = sdk.get(f"/spans/{answer.model_extra['span_id']}", cast_to=httpx.Response).json()
        assert (span["group_id"], span["session_id"]) == ("g-1", "s-2")
        assert span["input"] is None
        with pytest.raises(openai.BadRequestError) as info:
            sdk.chat.completions.create(
                model="test",
                messages=[{"role": "user", "content": "hi"}],
                extra_body={"group_id": ""},
            )
        check_error(
            info.value,
            400,
            "Invalid 'group_id': empty string. Expected a non-empty string.",
            code="invalid_value",
            param="group_id",
        )

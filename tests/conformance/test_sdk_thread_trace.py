"""A thread's trace fields over HTTP through the official SDK's `extra_body`: kept and returned
by the thread, inherited by its runs and their spans, refused in OpenAI's wording when bad."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.support import check_error, serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

pytestmark = pytest.mark.timeout(60)


def _trace_of(obj: Any) -> dict[str, Any]:
    extra = obj.model_extra or {}
    return {k: extra[k] for k in ("tags", "user_id", "session_id") if k in extra}


def test_thread_trace_fields__returned_and_inherited_over_http(tmp_path: Path) -> None:
    """Create and modify take the fields in `extra_body` and return them; a run that sets
    only `user_id` takes the thread's others, as do its spans; create_and_run's `thread` too."""
    with serve(tmp_path) as server:
        sdk = server.sdk()
        assistant = sdk.beta.assistants.create(model="test")
        thread = sdk.beta.threads.create(
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"tags": ["http"], "session_id": "sess_h"},
        )
        assert _trace_of(thread) == {"tags": ["http"], "session_id": "sess_h"}
        thread = sdk.beta.threads.update(thread.id, extra_body={"user_id": "user_h"})
        assert _trace_of(thread) == {"tags": ["http"], "user_id": "user_h", "session_id": "sess_h"}
        assert _trace_of(sdk.beta.threads.retrieve(thread.id)) == _trace_of(thread)
        run = sdk.beta.threads.runs.create_and_poll(
            thread_id=thread.id,
            assistant_id=assistant.id,
            extra_body={"user_id": "user_run"},
            poll_interval_ms=20,
        )
        assert run.status == "completed"
        expected = {"tags": ["http"], "user_id": "user_run", "session_id": "sess_h"}
        assert _trace_of(run) == expected
        spans = sdk.get(f"/spans?run_id={run.id}", cast_to=httpx.Response).json()["data"]
        assert len(spans) == 2
        for span in spans:
            assert {k: span[k] for k in expected} == expected

        created = sdk.beta.threads.create_and_run(
            assistant_id=assistant.id,
            extra_body={
                "thread": {
                    "messages": [{"role": "user", "content": "hi"}],
                    "tags": ["new"],
                    "user_id": "user_n",
                }
            },
        )
        assert _trace_of(created) == {"tags": ["new"], "user_id": "user_n"}
        assert _trace_of(sdk.beta.threads.retrieve(created.thread_id)) == {
            "tags": ["new"],
            "user_id": "user_n",
        }


def test_thread_trace_fields__bad_values_are_400s_over_http(tmp_path: Path) -> None:
    """A bad field is a 400 naming it, with the runs' wording; the thread is unchanged."""
    with serve(tmp_path, worker=False) as server:
        sdk = server.sdk()
        with pytest.raises(openai.BadRequestError) as info:
            sdk.beta.threads.create(extra_body={"user_id": 5})
        check_error(
            info.value,
            400,
            "Invalid type for 'user_id': expected a string, but got int.",
            code="invalid_type",
            param="user_id",
        )
        thread = sdk.beta.threads.create(extra_body={"tags": ["keep"]})
        with pytest.raises(openai.BadRequestError) as info:
            sdk.beta.threads.update(thread.id, extra_body={"tags": ["x"] * 1000})
        check_error(
            info.value,
            400,
            "Invalid 'tags': array too long. Expected an array with maximum length 64, but got "
            "an array with length 1000 instead.",
            code="array_above_max_length",
            param="tags",
        )
        assert _trace_of(sdk.beta.threads.retrieve(thread.id)) == {"tags": ["keep"]}
        with pytest.raises(openai.BadRequestError) as info:
            sdk.beta.threads.update(thread.id, extra_body={"group_id": "g"})
        assert info.value.param == "group_id"

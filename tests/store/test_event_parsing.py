"""`parse_event` builds token deltas without validating the envelope: the result must be what
validating the whole payload gives, and bad data must still be refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from store.events import _adapter, parse_event

DELTAS: list[tuple[str, dict[str, Any]]] = [
    (
        "thread.message.delta",
        {
            "id": "msg_1",
            "object": "thread.message.delta",
            "delta": {
                "content": [
                    {"index": 0, "type": "text", "text": {"value": "Hi", "annotations": []}}
                ]
            },
        },
    ),
    (
        "thread.message.delta",
        {"id": "msg_1", "object": "thread.message.delta", "delta": {"role": "assistant"}, "x": 1},
    ),
    (
        "thread.run.step.delta",
        {
            "id": "step_1",
            "object": "thread.run.step.delta",
            "delta": {
                "step_details": {
                    "type": "tool_calls",
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "", "output": None},
                        }
                    ],
                }
            },
        },
    ),
]


@pytest.mark.parametrize("seq", [None, 7])
@pytest.mark.parametrize(("name", "data"), DELTAS)
def test_delta__same_object_as_validating_the_whole_payload(
    name: str, data: dict[str, Any], seq: int | None
) -> None:
    payload: dict[str, Any] = {"event": name, "data": data}
    if seq is not None:
        payload["seq"] = seq
    expected = _adapter().validate_python(payload)
    got = parse_event(name, data, seq)
    assert type(got) is type(expected)
    assert got == expected
    assert got.model_fields_set == expected.model_fields_set
    assert got.model_dump(exclude_unset=True) == expected.model_dump(exclude_unset=True)
    assert got.model_dump_json() == expected.model_dump_json()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("thread.message.delta", {"object": "thread.message.delta", "delta": {}}),  # no id
        ("thread.message.delta", {"id": "m", "delta": {"content": [{"type": "text"}]}}),  # no index
        ("thread.run.step.delta", {"id": "s", "delta": {"step_details": {"type": "nope"}}}),
        ("thread.message.delta", ["not", "an", "object"]),
    ],
)
def test_bad_delta__refused(name: str, data: Any) -> None:
    with pytest.raises(ValidationError):
        parse_event(name, data)

"""The JSON text of columns and event payloads: fast where it can be, never different in kind."""

from __future__ import annotations

import json

import pytest

from store.rows import dumps, dumps_logged, loads

VALUES = [
    {"a": 1, "b": [1.5, "é", None, True], "c": {"d": "line\nbreak \u2028"}},
    {"big": 2**70, "neg": -(2**80)},  # past 64 bits: orjson refuses, the standard encoder writes
    [],
    "plain",
]


@pytest.mark.parametrize("value", VALUES)
def test_logged_payload__same_json_value_as_the_strict_encoder(value: object) -> None:
    text = dumps_logged(value)
    assert json.loads(text) == value == loads(text)
    assert loads(dumps(value)) == value


def test_strict_encoder__refuses_nan_that_a_payload_never_holds() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        dumps({"x": float("nan")})


def test_loads__bytes_and_null() -> None:
    assert loads(b'{"a": [1]}') == {"a": [1]}
    assert loads(None) is None

"""The JSON text of columns and event payloads: fast where it can be, never different in kind."""

from __future__ import annotations

import json

import pytest

from store.rows import dumps, dumps_logged, loads

VALUES = [
    {"a": 1, "b": [1.5, "é", None, True], "c": {"d": "line\nbreak \u2028"}},
    # past 64 bits: orjson refuses to write them and would read them as floats (2**70 + 1 is
    # not a float's value, so a float in its place compares unequal)
    {"big": 2**70 + 1, "neg": -(2**80) - 3, "edge": [2**64, -(2**63) - 1, 2**64 - 1]},
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


@pytest.mark.parametrize("text", ['{"n": 18446744073709551617}', b"[-9223372036854775809]"])
def test_loads__an_integer_past_64_bits_stays_an_exact_int(text: str | bytes) -> None:
    """orjson reads such an integer as a float, silently: a stored JSON schema's bound or a
    tool's argument would come back changed."""
    value = loads(text)
    number = value["n"] if isinstance(value, dict) else value[0]
    assert type(number) is int
    assert (
        number
        == json.loads(text if isinstance(text, str) else text.decode())[
            "n" if isinstance(value, dict) else 0
        ]
    )


def test_loads__bytes_and_null() -> None:
    assert loads(b'{"a": [1]}') == {"a": [1]}
    assert loads(None) is None


@pytest.mark.parametrize("text", ["18446744073709551616", b"-9223372036854775809", "[2e400]"])
def test_loads__the_shortest_texts_past_64_bits_and_a_short_text_orjson_refuses(
    text: str | bytes,
) -> None:
    """Only a text of 19 characters or more can hold 19 digits, so only those are checked: a
    bare 20-digit integer still comes back exact, and a short text orjson refuses (an infinite
    float) still goes to the standard decoder."""
    expected = json.loads(text if isinstance(text, str) else text.decode())
    assert loads(text) == expected
    assert type(loads(text)) is type(expected)


@pytest.mark.parametrize("text", ['"auto"', "[]", "{}", "1", b"null", '"é"'])
def test_loads__short_texts(text: str | bytes) -> None:
    assert loads(text) == json.loads(text if isinstance(text, str) else text.decode())

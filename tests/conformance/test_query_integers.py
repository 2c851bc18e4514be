"""Integer query parameters take ASCII digits only, as OpenAI reads them: `int()` alone would
read Arabic-Indic or fullwidth digits, ' 3 ' and '1_0' as numbers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conformance.support import serve

PATHS = [
    ("/assistants", "limit"),
    ("/threads/thread_x/messages", "limit"),
    ("/files", "limit"),
    ("/vector_stores", "limit"),
    ("/spans", "limit"),
    ("/prompts", "limit"),
    ("/prompts/greeting", "version"),
]
NOT_INTEGERS = ["\u0663", "\uff13", " 3", "3 ", "1_0", "+3", "3.0", ""]


@pytest.mark.parametrize(("path", "param"), PATHS)
def test_query_integer__anything_but_ascii_digits_is_a_400_naming_it(
    tmp_path: Path, path: str, param: str
) -> None:
    with (
        serve(tmp_path, worker=False) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):
        for raw in NOT_INTEGERS:
            response = http.get(path, params={param: raw})
            assert response.status_code == 400, (raw, response.text)
            error = response.json()["error"]
            assert error["param"] == param, raw
            assert error["message"] == (
                f"Invalid '{param}': expected an integer, but got '{raw}' instead."
            )
        # the same parameter in ASCII digits passes the check (a missing thread or prompt is
        # then a 404, an existing list a 200)
        assert http.get(path, params={param: "3"}).status_code in (200, 404)

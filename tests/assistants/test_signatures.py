"""The client surface mirrors openai-python's `client.beta` resources, signature by signature."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest

from assistants import NOT_GIVEN, AsyncClient, Client

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openai

IGNORED_PARAMS = {"extra_headers", "extra_query", "extra_body", "timeout"}
RESOURCES = ["assistants", "threads", "threads.messages", "threads.runs", "threads.runs.steps"]


def _resolve(root: Any, path: str) -> Any:
    for part in path.split("."):
        root = getattr(root, part)
    return root


def _methods(resource: Any) -> list[str]:
    return sorted(
        name
        for name in dir(type(resource))
        if not name.startswith("_")
        and not name.startswith("with_")
        and callable(getattr(resource, name))
        and not isinstance(getattr(resource, name), type)
        and name not in ("messages", "runs", "steps")
    )


def _sdk_default(value: Any) -> Any:
    if type(value).__name__ in ("Omit", "NotGiven"):
        return NOT_GIVEN
    return value


def _compare(ours: Any, theirs: Any, where: str) -> list[str]:
    problems: list[str] = []
    mine = inspect.signature(ours).parameters
    sdk = [p for p in inspect.signature(theirs).parameters.values() if p.name not in IGNORED_PARAMS]
    order = [name for name in mine if name not in IGNORED_PARAMS]
    last = -1
    for p in sdk:
        q = mine.get(p.name)
        if q is None:
            problems.append(f"{where}: missing parameter {p.name!r}")
            continue
        if q.kind != p.kind:
            problems.append(f"{where}({p.name}): kind {q.kind.name} != SDK {p.kind.name}")
        if _sdk_default(p.default) != (q.default if q.default is not NOT_GIVEN else NOT_GIVEN):
            problems.append(f"{where}({p.name}): default {q.default!r} != SDK {p.default!r}")
        index = order.index(p.name)
        if index < last:
            problems.append(f"{where}({p.name}): out of the SDK's order")
        last = index
    sdk_names = {p.name for p in sdk}
    for name, q in mine.items():
        if name in sdk_names or name in IGNORED_PARAMS:
            continue
        if q.kind is not inspect.Parameter.KEYWORD_ONLY or q.default is inspect.Parameter.empty:
            problems.append(f"{where}: extension parameter {name!r} must be keyword-only, optional")
    return problems


@pytest.mark.parametrize("resource_path", RESOURCES)
def test_async_client__matches_async_openai(resource_path: str) -> None:
    """Every AsyncOpenAI().beta method exists on AsyncClient with the same parameters."""
    sdk = _resolve(openai.AsyncOpenAI(api_key="x").beta, resource_path)
    ours = _resolve(
        AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False), resource_path
    )
    problems: list[str] = []
    missing: set[str] = set()
    for name in _methods(sdk):
        where = f"{resource_path}.{name}"
        if not hasattr(ours, name):
            missing.add(where)
            continue
        problems += _compare(getattr(ours, name), getattr(sdk, name), where)
    assert problems == []
    assert missing == set()


@pytest.mark.parametrize("resource_path", RESOURCES)
def test_sync_client__matches_openai(resource_path: str) -> None:
    """Every OpenAI().beta method exists on Client with the same parameters."""
    sdk = _resolve(openai.OpenAI(api_key="x").beta, resource_path)
    with Client(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        ours = _resolve(client.beta, resource_path)
        problems: list[str] = []
        missing: set[str] = set()
        for name in _methods(sdk):
            where = f"{resource_path}.{name}"
            if not hasattr(ours, name):
                missing.add(where)
                continue
            problems += _compare(getattr(ours, name), getattr(sdk, name), where)
    assert problems == []
    assert missing == set()


def test_sync_methods_keep_the_async_docstrings() -> None:
    """Every public async method has a sync twin with the same name, parameters and docstring."""
    with Client(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        for resource_path in RESOURCES:
            ours = _resolve(client, resource_path)
            theirs = _resolve(client.async_client, resource_path)
            names = _methods(theirs)
            assert names == _methods(ours), resource_path
            for name in names:
                sync, async_ = getattr(ours, name), getattr(theirs, name)
                assert sync.__doc__ == async_.__doc__, f"{resource_path}.{name}"
                params = inspect.signature(sync).parameters
                assert params == inspect.signature(async_).parameters, f"{resource_path}.{name}"

"""The per-run retry budget: retries stop when the run has spent its allowance."""

from __future__ import annotations

import httpx

from runtime.providers.base import ChatMessage, ModelRequest, RetryBudget
from runtime.providers.openai_compat import OpenAICompatibleProvider
from tests.runtime.providers.fake_server import FakeServer, Reply, collect_error


async def test_retry_budget__caps_retries_across_calls(
    server: FakeServer, client: httpx.AsyncClient
) -> None:
    """With 2 retries left in the budget, a provider allowed 5 stops after 3 requests."""
    provider = OpenAICompatibleProvider(
        "local",
        base_url=server.base_url,
        api_key=None,
        client=client,
        max_retries=5,
        backoff_base=0.001,
    )
    server.queue(*[Reply(503, {"error": {"message": "overloaded"}}) for _ in range(10)])
    budget = RetryBudget(2)
    request = ModelRequest(
        model="m", messages=[ChatMessage(role="user", content="hi")], retry_budget=budget
    )
    _, error = await collect_error(provider, request)
    assert error.status == 503
    assert len(server.requests) == 3
    assert budget.remaining == 0
    # The next call of the same run gets no retry at all.
    _, error = await collect_error(provider, request)
    assert len(server.requests) == 4

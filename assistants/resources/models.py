"""`client.models`: what this runtime can run, as openai-python's `client.models` lists it.

`list()` names the built-in `test` model (and providers registered in-process), the model
aliases, and the models each configured local server reports (`server/model`); `retrieve(id)`
one of them, or a 404 in OpenAI's wording. See `runtime.providers.catalog`.
"""

from __future__ import annotations

from assistants._types import NOT_GIVEN
from assistants.pagination import AsyncPaginator
from assistants.resources._base import Body, Headers, Query, Resource, Timeout
from runtime.providers.catalog import available_models
from store.errors import NotFoundError
from store.types import ListPage, ModelCard


class AsyncModels(Resource):
    async def _cards(self) -> list[ModelCard]:
        listed = await available_models(self._ctx.router)
        return [ModelCard(id=m.id, created=m.created, owned_by=m.owned_by) for m in listed]

    def list(
        self,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPaginator[ModelCard]:
        """List the models this runtime can run (one page: await it, or iterate it)."""

        async def fetch(cursor: str | None) -> ListPage[ModelCard]:
            return ListPage[ModelCard](data=await self._cards())

        return AsyncPaginator(fetch)

    async def retrieve(
        self,
        model: str,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> ModelCard:
        """Retrieve one model by id (a 404 unless `list()` names it)."""
        for card in await self._cards():
            if card.id == model:
                return card
        raise NotFoundError(
            f"The model '{model}' does not exist", param="model", code="model_not_found"
        )

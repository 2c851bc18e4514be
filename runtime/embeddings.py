"""The embedding model of vector and hybrid search: texts in, unit vectors out.

`Settings.embedding_model` names it like any model (`provider/model`, an alias, a named
endpoint's `NAME/model`, `text-embedding-3-small` for OpenAI, `gemini-embedding-001` or
`google/...` for Gemini) and it resolves through the provider routing: an OpenAI-compatible
server's `/v1/embeddings`, or Gemini's `batchEmbedContents` / `embedContent`, on the shared HTTP
client with the providers' retries. Unset, there is no `Embedder` and search is lexical only.

Files' chunks are embedded by the worker at ingestion (in batches of `BATCH` texts); a search's
query when it is made. Vectors are normalised to unit length (off the event loop), so a dot
product is their cosine similarity.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread

from runtime.providers.base import ProviderCallError
from runtime.providers.router import ProviderRouter
from runtime.settings import Settings
from store.errors import BadRequestError, ConfigurationError, ProviderError
from store.vectors import QueryVector

BATCH = 64
"""Texts per embeddings request at ingestion."""


@runtime_checkable
class EmbeddingAPI(Protocol):
    """A provider that can embed: the OpenAI-compatible and Gemini adapters."""

    name: str

    async def embed(
        self, model: str, texts: Sequence[str], *, query: bool = False
    ) -> list[Any]: ...


class EmbeddingFailed(Exception):
    """The embedding model could not embed the texts; the message says why (for `last_error`),
    `cause` the same without naming the model."""

    def __init__(self, label: str, cause: str) -> None:
        super().__init__(f"The embedding model '{label}' failed: {cause}")
        self.cause = cause


class Embedder:
    """The configured embedding model, resolved through the router."""

    def __init__(self, router: ProviderRouter, model: str) -> None:
        route = router.resolve(model, param="embedding_model")
        if not isinstance(route.provider, EmbeddingAPI):
            raise ConfigurationError(
                f"The embedding model {model!r} is served by provider "
                f"'{route.provider.name}', which has no embeddings API here: use an "
                "OpenAI-compatible server's model (openai/..., ollama/..., a named endpoint's "
                "NAME/...) or a Gemini one (google/...)."
            )
        self.api: EmbeddingAPI = route.provider
        self.model = route.model
        self.label = route.label
        """The model as recorded on each chunk: vectors of different models are not compared."""

    async def embed(
        self,
        texts: Sequence[str],
        *,
        query: bool = False,
        between: Callable[[], Awaitable[None]] | None = None,
    ) -> list[list[float]]:
        """A unit vector per text, in order; `EmbeddingFailed` saying why if there are none.
        `between` is awaited between two requests (ingestion renews its claim there)."""
        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            if start and between is not None:
                await between()
            batch = texts[start : start + BATCH]
            try:
                raw = await self.api.embed(self.model, batch, query=query)
            except ProviderCallError as exc:
                raise EmbeddingFailed(self.label, exc.message) from exc
            out.extend(await anyio.to_thread.run_sync(self._unit, raw, len(batch)))
        if len({len(v) for v in out}) > 1:
            raise EmbeddingFailed(self.label, "it returned vectors of different lengths.")
        return out

    def _unit(self, raw: list[Any], expected: int) -> list[list[float]]:
        if len(raw) != expected:
            raise EmbeddingFailed(
                self.label, f"it returned {len(raw)} vectors for {expected} texts."
            )
        vectors = []
        for value in raw:
            ok = isinstance(value, list) and value
            if not ok or not all(isinstance(x, int | float) for x in value):
                raise EmbeddingFailed(
                    self.label, "it returned something other than a vector of numbers."
                )
            norm = math.sqrt(math.fsum(float(x) * float(x) for x in value))
            if not math.isfinite(norm) or norm == 0.0:
                raise EmbeddingFailed(self.label, "it returned a zero or non-finite vector.")
            vectors.append([float(x) / norm for x in value])
        return vectors

    async def query(self, text: str) -> QueryVector:
        """The search query's vector, or a 502 saying why the model could not give it."""
        try:
            vector = (await self.embed([text], query=True))[0]
        except EmbeddingFailed as exc:
            raise ProviderError(
                f"The embedding model '{self.label}' could not embed the search query: {exc.cause}",
                code="embedding_failed",
            ) from None
        return QueryVector(model=self.label, vector=vector)


def embedder(router: ProviderRouter, settings: Settings) -> Embedder | None:
    """The configured embedding model, or None (search is then lexical only)."""
    if settings.embedding_model is None:
        return None
    try:
        return Embedder(router, settings.embedding_model)
    except BadRequestError as exc:
        raise ConfigurationError(f"Invalid embedding_model: {exc.message}") from None

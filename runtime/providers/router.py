"""Which provider serves a model name: `provider/model` strings and bare-name auto-detection.

Resolution order: an exact model alias from settings, then `provider/model`, then bare-name
detection (`gpt-*`, `o1*`/`o3*`/`o4*` → openai; `claude-*` → anthropic; `gemini-*` → google;
`test` → the built-in test double), then the `*` alias. A name that resolves to nothing is a
400 at assistant or run creation naming the model and saying how to configure it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import httpx

from runtime.providers.base import Provider
from runtime.providers.http import MIN_CONNECTIONS, new_http_client
from runtime.providers.testmodel import TestModel
from runtime.settings import Settings
from store.errors import BadRequestError, ConfigurationError

# Local OpenAI-compatible servers: name -> (base URL env var, default base URL).
LOCAL_PRESETS: dict[str, tuple[str, str]] = {
    "ollama": ("OLLAMA_BASE_URL", "http://localhost:11434/v1"),
    "vllm": ("VLLM_BASE_URL", "http://localhost:8000/v1"),
    "lmstudio": ("LMSTUDIO_BASE_URL", "http://localhost:1234/v1"),
    "llamacpp": ("LLAMACPP_BASE_URL", "http://localhost:8080/v1"),
}
# Bare model names that name their vendor.
_BARE = (
    (re.compile(r"^(gpt-|o[134](-|$)|chatgpt-|text-)"), "openai"),
    (re.compile(r"^claude-"), "anthropic"),
    (re.compile(r"^gemini-"), "google"),
)
# Vendors with an adapter of their own (the rest speak OpenAI's chat completions).
NATIVE = ("anthropic", "google")


@dataclass(frozen=True)
class Route:
    """A resolved model: the provider and the model name to send it."""

    provider: Provider
    model: str
    label: str  # "provider/model", as recorded on steps and in logs


class ProviderRouter:
    """Resolves model names to providers, sharing one `httpx.AsyncClient` between them."""

    def __init__(
        self,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        extra: dict[str, Provider] | None = None,
    ) -> None:
        self.settings = settings
        self._http = http
        self._providers: dict[str, Provider] = {"test": TestModel()}
        self._providers.update(extra or {})
        self._check_aliases()

    def _check_aliases(self) -> None:
        aliases = self.settings.model_aliases
        for start in aliases:
            seen = [start]
            name = start
            while name in aliases and aliases[name] != name:
                name = aliases[name]
                if name in seen:
                    raise ConfigurationError(
                        f"Model aliases form a cycle: {' -> '.join([*seen, name])}."
                    )
                seen.append(name)
            if aliases.get(name) == name:
                raise ConfigurationError(f"The model alias {name!r} points at itself.")
        for alias, target in aliases.items():
            if self._route(self._alias(target)) is None:
                raise ConfigurationError(
                    f"The model alias {alias!r} points at {target!r}, which no configured "
                    "provider serves: use 'provider/model' with a known provider (openai, "
                    "anthropic, google, ollama, vllm, lmstudio, llamacpp, test) or a named "
                    "endpoint from the settings."
                )

    @property
    def http(self) -> httpx.AsyncClient:
        """The client every HTTP adapter shares (made on first use, closed by `aclose`): one
        connection per run the worker may run at once, reads bounded by the provider timeout."""
        if self._http is None:
            self._http = new_http_client(
                read_timeout=self.settings.provider_timeout_seconds,
                max_connections=max(MIN_CONNECTIONS, self.settings.max_concurrent_runs),
                transport=self.settings.provider_http_transport,
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def register(self, name: str, provider: Provider) -> None:
        """Serve `name/...` (and the bare name `name`) with `provider`."""
        self._providers[name] = provider

    def resolve(self, model: str) -> Route:
        """The route for `model`, or a `BadRequestError` naming it.

        Order: an exact alias (followed through chains), then `provider/model`, then bare-name
        detection, then the `*` alias.
        """
        route = self._route(self._alias(model))
        if route is not None:
            return route
        star = self.settings.model_aliases.get("*")
        if star is not None:
            route = self._route(self._alias(star))
            if route is not None:
                return route
        raise BadRequestError(
            f"The model '{model}' does not exist or is not configured here. Use a "
            "'provider/model' name (openai/..., ollama/..., vllm/..., lmstudio/..., llamacpp/..., "
            "test), a named endpoint from the settings, or map it with a model alias "
            f"(ASSISTANTS_MODEL_ALIASES='{model}=ollama/llama3.2').",
            param="model",
            code="model_not_found",
        )

    def _route(self, name: str) -> Route | None:
        provider_name, sep, rest = name.partition("/")
        if sep and rest:
            provider = self._provider(provider_name)
            if provider is not None:
                return Route(provider, rest, name)
        if name in self._providers:
            return Route(self._providers[name], name, name)
        for pattern, vendor in _BARE:
            if pattern.match(name):
                provider = self._provider(vendor)
                if provider is not None:
                    return Route(provider, name, f"{vendor}/{name}")
        return None

    def _alias(self, model: str) -> str:
        aliases = self.settings.model_aliases
        name = model
        for _ in range(len(aliases) + 1):
            if name in aliases and name != "*":
                name = aliases[name]
            else:
                break
        return name

    def _provider(self, provider_name: str) -> Provider | None:
        if provider_name in self._providers:
            return self._providers[provider_name]
        if provider_name in NATIVE and provider_name not in self.settings.endpoints:
            native = self._native(provider_name)
            self._providers[provider_name] = native
            return native
        config = self._endpoint_config(provider_name)
        if config is None:
            return None
        from runtime.providers.openai_compat import OpenAICompatibleProvider  # noqa: PLC0415

        provider = OpenAICompatibleProvider(
            provider_name,
            base_url=config["base_url"],
            api_key=config.get("api_key"),
            client=self.http,
            extra_headers=config.get("headers"),
            max_retries=self.settings.provider_max_retries,
            timeout=self.settings.provider_timeout_seconds,
            max_tokens_param="max_completion_tokens" if provider_name == "openai" else "max_tokens",
            named_tool_choice=provider_name != "llamacpp",
            base_url_source=config.get("base_url_source"),
        )
        self._providers[provider_name] = provider
        return provider

    def _native(self, name: str) -> Provider:
        """A vendor's own API (not OpenAI-compatible), configured from its env vars."""
        options: dict[str, Any] = {
            "client": self.http,
            "max_retries": self.settings.provider_max_retries,
            "timeout": self.settings.provider_timeout_seconds,
        }
        if name == "anthropic":
            from runtime.providers.anthropic import AnthropicProvider  # noqa: PLC0415

            return AnthropicProvider(
                base_url=os.environ.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
                api_key=os.environ.get("ANTHROPIC_API_KEY"),
                base_url_source=_source("ANTHROPIC_BASE_URL"),
                **options,
            )
        from runtime.providers.gemini import GeminiProvider  # noqa: PLC0415

        return GeminiProvider(
            base_url=os.environ.get(
                "GEMINI_BASE_URL", "https://generativelanguage.googleapis.com/v1beta"
            ),
            api_key=os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY"),
            base_url_source=_source("GEMINI_BASE_URL"),
            **options,
        )

    def _endpoint_config(self, name: str) -> dict[str, Any] | None:
        if name in self.settings.endpoints:
            spec = dict(self.settings.endpoints[name])
            key_env = spec.get("api_key_env")
            return {
                "base_url": spec["base_url"],
                "api_key": os.environ.get(key_env) if key_env else spec.get("api_key"),
                "headers": spec.get("headers"),
            }
        if name == "openai":
            return {
                "base_url": os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
                "api_key": os.environ.get("OPENAI_API_KEY"),
                "base_url_source": _source("OPENAI_BASE_URL"),
            }
        if name in LOCAL_PRESETS:
            env, default = LOCAL_PRESETS[name]
            return {
                "base_url": os.environ.get(env, default),
                "api_key": None,
                "base_url_source": _source(env),
            }
        return None


def _source(variable: str) -> str:
    """Where a base URL read from `variable` came from, for a server that cannot be reached."""
    if variable in os.environ:
        return f"set by {variable}"
    return f"the default; set {variable} to use another"

"""The providers a `provider/model` name may name: the vendors and local servers this runtime
knows (their env vars and default base URLs), the bare names that name a vendor, and how an
adapter for each is configured and made. Which one serves a model is `runtime.providers.router`.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from runtime.providers.base import Provider
from runtime.settings import Settings

if TYPE_CHECKING:
    import httpx

# Local OpenAI-compatible servers: name -> (base URL env var, default base URL).
LOCAL_PRESETS: dict[str, tuple[str, str]] = {
    "ollama": ("OLLAMA_BASE_URL", "http://localhost:11434/v1"),
    "vllm": ("VLLM_BASE_URL", "http://localhost:8000/v1"),
    "lmstudio": ("LMSTUDIO_BASE_URL", "http://localhost:1234/v1"),
    "llamacpp": ("LLAMACPP_BASE_URL", "http://localhost:8080/v1"),
}
# Vendors with API keys: name -> (key env vars, base URL env var, default base URL).
VENDORS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "openai": (("OPENAI_API_KEY",), "OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": (("ANTHROPIC_API_KEY",), "ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
    "google": (
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        "GEMINI_BASE_URL",
        "https://generativelanguage.googleapis.com/v1beta",
    ),
}
# Bare model names that name their vendor.
BARE = (
    (re.compile(r"^(gpt-|o[134](-|$)|chatgpt-|text-)"), "openai"),
    (re.compile(r"^claude-"), "anthropic"),
    (re.compile(r"^gemini-"), "google"),
)
# Vendors with an adapter of their own (the rest speak OpenAI's chat completions).
NATIVE = ("anthropic", "google")


def env(name: str) -> str | None:
    """An environment variable's value; set but empty counts as unset."""
    return os.environ.get(name) or None


def source(variable: str) -> str:
    """Where a base URL read from `variable` came from, for a server that cannot be reached."""
    if variable in os.environ:
        return f"set by {variable}"
    return f"the default; set {variable} to use another"


def endpoint_config(settings: Settings, name: str) -> dict[str, Any] | None:
    """The base URL, key and headers of an OpenAI-compatible provider: a named endpoint of the
    settings, OpenAI, or a local preset (from its env vars); None for any other name."""
    if name in settings.endpoints:
        spec = dict(settings.endpoints[name])
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
            "base_url_source": source("OPENAI_BASE_URL"),
        }
    if name in LOCAL_PRESETS:
        env, default = LOCAL_PRESETS[name]
        return {
            "base_url": os.environ.get(env, default),
            "api_key": None,
            "base_url_source": source(env),
        }
    return None


def compatible(
    name: str, config: dict[str, Any], settings: Settings, http: httpx.AsyncClient, max_retries: int
) -> Provider:
    """An OpenAI-compatible adapter for the endpoint `config` describes."""
    from runtime.providers.openai_compat import OpenAICompatibleProvider  # noqa: PLC0415

    return OpenAICompatibleProvider(
        name,
        base_url=config["base_url"],
        api_key=config.get("api_key"),
        client=http,
        extra_headers=config.get("headers"),
        max_retries=max_retries,
        timeout=settings.provider_timeout_seconds,
        max_tokens_param="max_completion_tokens" if name == "openai" else "max_tokens",
        named_tool_choice=name != "llamacpp",
        base_url_source=config.get("base_url_source"),
    )


def native(
    name: str,
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    api_key: str | None = None,
    api_base: str | None = None,
    max_retries: int | None = None,
) -> Provider:
    """A vendor's own API (not OpenAI-compatible), configured from its env vars; `api_key`,
    `api_base` and `max_retries` replace them (the env key is never sent to `api_base`)."""
    options: dict[str, Any] = {
        "client": http,
        "max_retries": settings.provider_max_retries if max_retries is None else max_retries,
        "timeout": settings.provider_timeout_seconds,
    }
    if name == "anthropic":
        from runtime.providers.anthropic import AnthropicProvider  # noqa: PLC0415

        return AnthropicProvider(
            base_url=api_base or os.environ.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
            api_key=api_key or (None if api_base else os.environ.get("ANTHROPIC_API_KEY")),
            base_url_source=None if api_base else source("ANTHROPIC_BASE_URL"),
            **options,
        )
    from runtime.providers.gemini import GeminiProvider  # noqa: PLC0415

    env_key = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
    return GeminiProvider(
        base_url=api_base
        or os.environ.get("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com/v1beta"),
        api_key=api_key or (None if api_base else env_key),
        base_url_source=None if api_base else source("GEMINI_BASE_URL"),
        **options,
    )

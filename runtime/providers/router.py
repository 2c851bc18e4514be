"""Which provider serves a model name: `provider/model` strings and bare-name auto-detection.

Resolution order: an exact model alias from settings, then `provider/model`, then bare-name
detection (`gpt-*`, `o1*`/`o3*`/`o4*` → openai; `claude-*` → anthropic; `gemini-*` → google;
`test` → the built-in test double), then the `*` alias. A name that resolves to nothing, or to
a provider that cannot serve it here (no API key; with `only_configured_providers`, a local
server the operator did not configure), is a 400 at assistant or run creation naming the model
and saying what to configure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runtime.providers import names, presets
from runtime.providers.base import Provider
from runtime.providers.presets import BARE, LOCAL_PRESETS, NATIVE, VENDORS
from runtime.providers.testmodel import TestModel
from runtime.settings import Settings
from store.errors import BadRequestError, ConfigurationError

__all__ = ["LOCAL_PRESETS", "ProviderRouter", "Route"]  # LOCAL_PRESETS: first named here

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Route:
    """A resolved model: the provider and the model name to send it."""

    provider: Provider
    model: str
    label: str  # "provider/model", as recorded on steps and in logs


class ProviderRouter:
    """Resolves model names to providers, sharing one `httpx.AsyncClient` between them.

    A provider serves a model only when it can: a vendor needs its API key (or a base URL of the
    operator's own), a named endpoint the key its `api_key_env` names, and with
    `only_configured_providers` a local preset needs its base URL in the environment, an endpoint
    of its name, or an alias pointing at it. Anything else is a 400 naming what to configure.
    """

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
        self._registered = set(self._providers)  # served as given, whatever the environment
        self._aliased = {t.partition("/")[0] for t in settings.model_aliases.values() if "/" in t}
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
            try:
                names.model_name(target, "model")
            except BadRequestError:
                raise ConfigurationError(
                    f"The model alias {alias!r} points at {target!r}, which is not a valid model "
                    "name (letters, digits and . _ : @ / + -, without empty, '.' or '..' "
                    "segments)."
                ) from None
            found = self._target(self._alias(target))
            if found is None:
                raise ConfigurationError(
                    f"The model alias {alias!r} points at {target!r}, which no configured "
                    "provider serves: use 'provider/model' with a known provider (openai, "
                    "anthropic, google, ollama, vllm, lmstudio, llamacpp, test) or a named "
                    "endpoint from the settings."
                )
            problem = self._refusal(found[0], target, self._alias(target))
            if problem is not None:
                raise ConfigurationError(f"The model alias {alias!r}: {problem}")

    @property
    def http(self) -> httpx.AsyncClient:
        """The client every HTTP adapter shares (made on first use, closed by `aclose`): one
        connection per run the worker may run at once, reads bounded by the provider timeout."""
        if self._http is None:
            # httpx and the adapters' HTTP layer load with the first HTTP provider: an app that
            # only runs the `test` model (or imports the package for its types) never pays ~50 ms
            from runtime.providers.http_client import MIN_CONNECTIONS, new_http_client  # noqa: PLC0415

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
        self._registered.add(name)

    def resolve(self, model: str, *, param: str = "model") -> Route:
        """The route for `model`, or a `BadRequestError` naming it (and `param`).

        Order: an exact alias (followed through chains), then `provider/model`, then bare-name
        detection, then the `*` alias, which also takes names whose provider is not usable here.
        """
        names.model_name(model, param)
        name = self._alias(model)
        found = self._target(name)
        problem = None if found is None else self._refusal(found[0], model, name)
        if found is not None and problem is None:
            return self._make_route(name, *found)
        star = self.settings.model_aliases.get("*")
        if star is not None:
            star_name = self._alias(star)
            star_found = self._target(star_name)
            if star_found is not None and self._refusal(star_found[0], star, star_name) is None:
                return self._make_route(star_name, *star_found)
        if problem is not None:
            raise BadRequestError(problem, param=param, code="model_not_found")
        prefixes = ", ".join(f"{name}/..." for name in self.provider_names)
        raise BadRequestError(
            f"The model '{model}' does not exist or is not configured here. Use a "
            f"'provider/model' name ({prefixes}), 'test', or map it with a model alias "
            f"(ASSISTANTS_MODEL_ALIASES='{model}=ollama/llama3.2').",
            param=param,
            code="model_not_found",
        )

    def resolve_call(
        self,
        model: str,
        *,
        provider: str | None = None,
        api_key: str | None = None,
        api_base: str | None = None,
        max_retries: int | None = None,
        param: str = "model",
    ) -> Route:
        """The route of one stateless call: `resolve`, in the completion API's terms.

        `provider` names the provider of a custom model name (no alias applies). `api_key` and
        `api_base` replace the configured key and base URL, `max_retries` the settings' retry
        count, on an adapter made for this call: the configured key is never sent to another
        `api_base`. Errors (400s): "Cannot resolve provider for model '...'", "Unknown provider:
        ...", "No API key for ..." (before any request is made).
        """
        names.model_name(model, param)
        if provider is not None:
            if provider != "test" and not self._known(provider):
                raise BadRequestError(
                    f"Unknown provider: {provider}. Known providers: "
                    f"{', '.join(['test', *self.provider_names])}.",
                    param="provider",
                    code="unknown_provider",
                )
            found: tuple[str, str] | None = (provider, model)
            name = f"{provider}/{model}"
        else:
            name = self._alias(model)
            found = self._target(name)
            if found is None and "*" in self.settings.model_aliases:
                return self.resolve(model, param=param)
        if found is None:
            raise BadRequestError(
                f"Cannot resolve provider for model '{model}': use 'provider/model' "
                f"({', '.join(f'{n}/...' for n in self.provider_names)}), pass 'provider', or "
                "map the name with a model alias.",
                param=param,
                code="model_not_found",
            )
        provider_name, target = found
        if provider_name in self._registered:
            return self._make_route(name, provider_name, target)
        problem = self._refusal(provider_name, model, name)
        overridden = api_key is not None or api_base is not None
        if problem is not None and not overridden and "*" in self.settings.model_aliases:
            return self.resolve(model, param=param)  # the `*` alias takes unusable names too
        keyed = provider_name in (*VENDORS, *self.settings.endpoints)
        if problem is not None and keyed and not overridden:
            raise BadRequestError(
                f"No API key for {provider_name}: {problem}",
                param="api_key",
                code="missing_api_key",
            )
        if problem is not None and not keyed:
            raise BadRequestError(problem, param=param, code="model_not_found")
        if not overridden and max_retries is None:
            return self._make_route(name, provider_name, target)
        label = name if "/" in name else f"{provider_name}/{name}"
        adapter = self._adapter(provider_name, api_key, api_base, max_retries)
        return Route(adapter, target, label)

    def configured_base_urls(self) -> set[str]:
        """The base URLs the operator configured: named endpoints, configured local servers, and
        vendors whose base URL is set in the environment (without a trailing slash)."""
        urls = {str(c["base_url"]).rstrip("/") for c in self.local_servers().values()}
        for _, url_env, _ in VENDORS.values():
            if presets.env(url_env):
                urls.add(str(presets.env(url_env)).rstrip("/"))
        return urls

    def _adapter(
        self, name: str, api_key: str | None, api_base: str | None, max_retries: int | None
    ) -> Provider:
        """A fresh adapter for `name` with this call's key, base URL and retry count."""
        retries = self.settings.provider_max_retries if max_retries is None else max_retries
        if name in NATIVE and name not in self.settings.endpoints:
            return presets.native(
                name,
                self.settings,
                self.http,
                api_key=api_key,
                api_base=api_base,
                max_retries=retries,
            )
        config = presets.endpoint_config(self.settings, name)
        assert config is not None  # `_target` only names known providers
        if api_base is not None:
            config = {"base_url": api_base, "api_key": api_key, "headers": config.get("headers")}
        elif api_key is not None:
            config = {**config, "api_key": api_key}
        return presets.compatible(name, config, self.settings, self.http, retries)

    @property
    def provider_names(self) -> list[str]:
        """Every provider a `provider/model` name may start with: vendors, local presets, and
        the named endpoints and in-process providers of this runtime."""
        names = ["openai", *NATIVE, *LOCAL_PRESETS]
        names += [n for n in (*self.settings.endpoints, *self._registered) if n not in names]
        return [n for n in names if n != "test"]

    @property
    def registered(self) -> list[str]:
        """The providers served as given (`test`, and those registered in-process), by name."""
        return sorted(self._registered)

    def local_servers(self) -> dict[str, dict[str, Any]]:
        """The OpenAI-compatible servers the operator configured: the local presets given a base
        URL or named by an alias, and the named endpoints (name -> base_url, api_key, headers)."""
        names = [
            n for n, (env, _) in LOCAL_PRESETS.items() if presets.env(env) or n in self._aliased
        ]
        names += [n for n in self.settings.endpoints if n not in names]
        return {
            name: config
            for name in names
            if (config := presets.endpoint_config(self.settings, name))
        }

    def _target(self, name: str) -> tuple[str, str] | None:
        """(provider name, model name to send it) for `name`, or None if no provider is known."""
        provider_name, sep, rest = name.partition("/")
        if sep and rest and self._known(provider_name):
            return provider_name, rest
        if name in self._registered:
            return name, name
        for pattern, vendor in BARE:
            if pattern.match(name):
                return vendor, name
        return None

    def _known(self, provider_name: str) -> bool:
        return (
            provider_name in self._registered
            or provider_name in self.settings.endpoints
            or provider_name in VENDORS
            or provider_name in LOCAL_PRESETS
        )

    def _refusal(self, provider_name: str, model: str, name: str) -> str | None:
        """Why `provider_name` may not serve `model` (resolved to `name`) here; None if it may."""
        missing = self._missing(provider_name)
        if missing is None:
            return None
        shown = f"Model '{model}'" + (f" (alias of '{name}')" if name != model else "")
        return (
            f"{shown} needs provider '{provider_name}', {missing}, or map the model to a "
            f"configured one with --model-alias '{model}=MODEL' (ASSISTANTS_MODEL_ALIASES)."
        )

    def _missing(self, provider_name: str) -> str | None:
        """What `provider_name` lacks to be used here (its key, its configuration), if anything."""
        if provider_name in self._registered:
            return None
        if provider_name in self.settings.endpoints:
            key_env = self.settings.endpoints[provider_name].get("api_key_env")
            if key_env and not presets.env(str(key_env)):
                return f"whose API key is not set: set {key_env} (the endpoint's api_key_env)"
            return None
        if provider_name in VENDORS:
            keys, url_env, default_url = VENDORS[provider_name]
            keyed = any(presets.env(key) for key in keys)
            if keyed or presets.env(url_env) not in (None, default_url):
                return None  # a key, or a base URL of the operator's own (a proxy, a local server)
            return f"whose API key is not set: set {' or '.join(keys)}"
        if provider_name in LOCAL_PRESETS and self.settings.only_configured_providers:
            env, _ = LOCAL_PRESETS[provider_name]
            if not presets.env(env) and provider_name not in self._aliased:
                return (
                    f"which is not configured on this server: set {env} (or add an endpoint "
                    f"named '{provider_name}' to the settings)"
                )
        return None

    def _make_route(self, name: str, provider_name: str, model: str) -> Route:
        provider = self._provider(provider_name)
        assert provider is not None  # `_target` only names known providers
        label = name if "/" in name or provider_name == name else f"{provider_name}/{name}"
        return Route(provider, model, label)

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
            native = presets.native(provider_name, self.settings, self.http)
            self._providers[provider_name] = native
            return native
        config = presets.endpoint_config(self.settings, provider_name)
        if config is None:
            return None
        provider = presets.compatible(
            provider_name, config, self.settings, self.http, self.settings.provider_max_retries
        )
        self._providers[provider_name] = provider
        return provider

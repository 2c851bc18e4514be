"""Which models a router accepts: valid names, providers with their keys, configured servers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistants import AsyncClient
from assistants.cli_config import operator_settings
from assistants.errors import BadRequestError, ConfigurationError
from runtime.providers.router import LOCAL_PRESETS, ProviderRouter
from runtime.settings import Settings
from tests.helpers import api_error, error_fields

PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_BASE_URL",
    *(env for env, _ in LOCAL_PRESETS.values()),
)

REAL_NAMES = [
    "test",
    "ollama/llama3.2:1b",
    "openai/gpt-4o-mini",
    "vllm/meta-llama/Llama-3.1-8B-Instruct",
    "anthropic/claude-sonnet-4-5@20250929",
    "llamacpp/qwen2.5+tools_v1",
]
BAD_NAMES = [
    "",
    "ollama/../x",
    "../etc/passwd",
    "vllm/org/..",
    "ollama/./x",
    "ollama//x",
    "ollama/",
    "/x",
    "ollama/x?y=1",
    "ollama/x#frag",
    "ollama/x%2e%2e",
    "ollama/llama 3",
    "ollama/x\ty",
    "ollama/x\ny",
    "ollama/x\x00",
    "ollama\\x",
    "ollama/é",
]


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no provider configured in the environment."""
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ASSISTANTS_ONLY_CONFIGURED_PROVIDERS", raising=False)


def _router(**settings: object) -> ProviderRouter:
    return ProviderRouter(Settings.model_validate(settings))


def _refused(router: ProviderRouter, model: str, param: str = "model") -> BadRequestError:
    with pytest.raises(BadRequestError) as info:
        router.resolve(model, param=param)
    assert info.value.param == param
    return info.value


# --- model names ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL_NAMES)
def test_model_name__real_names_resolve(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Names as vendors and local servers spell them (tags, orgs, dates) pass validation."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    assert _router().resolve(name).model == name.partition("/")[2] or name == "test"


@pytest.mark.parametrize("name", BAD_NAMES)
def test_model_name__refuses_path_tricks_and_unsafe_characters(name: str) -> None:
    """`..`/`.`/empty segments, `?`, `#`, `%`, whitespace, control characters, backslash: 400."""
    error = _refused(_router(), name)
    assert error.code == "invalid_value"
    assert error.message.startswith("Invalid 'model': ")
    # A NUL is refused by the check every string gets first, in its own words.
    assert "is not a valid model name" in error.message or "NUL character" in error.message


def test_model_name__a_bad_fallback_names_its_index() -> None:
    """A fallback is checked like the model, and the error names `fallbacks[i]`."""
    error = _refused(_router(), "ollama/../admin", param="fallbacks[1]")
    assert error.message.startswith("Invalid 'fallbacks[1]': 'ollama/../admin' is not a valid")


def test_model_name__too_long_for_the_router_is_refused_with_the_name_cut_short() -> None:
    """Past 256 characters a name is refused by the router itself (an alias target or a listed
    model never passes the request checks), and the message shows only its first 256."""
    name = "ollama/" + "a" * 500
    error = _refused(_router(), name)
    assert error.code == "invalid_value"
    assert f"'{name[:256]}...' is not a valid model name" in error.message
    assert name not in error.message
    assert _router().resolve(name[:256]).model == name[len("ollama/") : 256]


def test_model_name__an_alias_target_is_checked_at_start_up() -> None:
    """An alias pointing at a malformed name is a configuration error before any request."""
    with pytest.raises(ConfigurationError, match="not a valid model name"):
        _router(model_aliases={"gpt-4o": "ollama/../x"})


async def test_model_name__refused_at_every_creation(anyio_backend: str) -> None:
    """Assistant create and update, run create, create_and_run and fallbacks all refuse it."""
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        assistant = await client.assistants.create(model="test")
        thread = await client.threads.create()
        bad = "ollama/x?admin=1"
        calls = {
            "model": [
                lambda: client.assistants.create(model=bad),
                lambda: client.assistants.update(assistant.id, model=bad),
                lambda: client.threads.runs.create(thread.id, assistant_id=assistant.id, model=bad),
                lambda: client.threads.create_and_run(assistant_id=assistant.id, model=bad),
            ],
            "fallbacks[0]": [
                lambda: client.assistants.create(model="test", extra_body={"fallbacks": [bad]}),
                lambda: client.threads.runs.create(
                    thread.id, assistant_id=assistant.id, extra_body={"fallbacks": [bad]}
                ),
            ],
        }
        for param, makers in calls.items():
            for make in makers:
                status, message, got_param, code = error_fields(await api_error(make))
                assert (status, got_param, code) == (400, param, "invalid_value")
                assert f"'{bad}' is not a valid model name" in message
        assert [a.id for a in (await client.assistants.list()).data] == [assistant.id]


# --- API keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "provider", "env"),
    [
        ("gpt-4o", "openai", "OPENAI_API_KEY"),
        ("openai/gpt-4o-mini", "openai", "OPENAI_API_KEY"),
        ("claude-sonnet-4-5", "anthropic", "ANTHROPIC_API_KEY"),
        ("anthropic/claude-haiku-4-5", "anthropic", "ANTHROPIC_API_KEY"),
        ("gemini-2.5-flash", "google", "GEMINI_API_KEY or GOOGLE_API_KEY"),
        ("google/gemini-2.5-pro", "google", "GEMINI_API_KEY or GOOGLE_API_KEY"),
    ],
)
def test_missing_key__a_vendor_without_its_key_is_400_naming_it(
    model: str, provider: str, env: str
) -> None:
    """Without the vendor's key, the model is refused naming the variable and --model-alias."""
    error = _refused(_router(), model)
    assert error.code == "model_not_found"
    assert error.message == (
        f"Model '{model}' needs provider '{provider}', whose API key is not set: set {env}, "
        f"or map the model to a configured one with --model-alias '{model}=MODEL' "
        "(ASSISTANTS_MODEL_ALIASES)."
    )


@pytest.mark.parametrize(
    ("model", "env"),
    [
        ("gpt-4o", "OPENAI_API_KEY"),
        ("claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
        ("gemini-2.5-flash", "GEMINI_API_KEY"),
        ("gemini-2.5-flash", "GOOGLE_API_KEY"),
        ("openai/my-model", "OPENAI_BASE_URL"),
        ("anthropic/claude-x", "ANTHROPIC_BASE_URL"),
        ("google/gemini-x", "GEMINI_BASE_URL"),
    ],
)
def test_missing_key__the_key_or_a_base_url_of_ones_own_makes_it_routable(
    model: str, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key, or a base URL other than the vendor's (a proxy, a local server), is enough."""
    monkeypatch.setenv(env, "http://127.0.0.1:9/v1" if env.endswith("_URL") else "secret")
    assert _router().resolve(model).model == model.rpartition("/")[2]


def test_missing_key__the_vendors_own_base_url_still_needs_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Setting OPENAI_BASE_URL to api.openai.com itself does not replace the key."""
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    assert "OPENAI_API_KEY" in _refused(_router(), "gpt-4o").message


def test_missing_key__a_named_endpoint_whose_key_env_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An endpoint naming `api_key_env` needs that variable; one without it needs no key."""
    endpoints = {
        "corp": {"base_url": "http://127.0.0.1:9/v1", "api_key_env": "CORP_LLM_KEY"},
        "open": {"base_url": "http://127.0.0.1:9/v1"},
    }
    monkeypatch.delenv("CORP_LLM_KEY", raising=False)
    router = _router(endpoints=endpoints)
    error = _refused(router, "corp/qwen")
    assert "set CORP_LLM_KEY (the endpoint's api_key_env)" in error.message
    assert "--model-alias 'corp/qwen=MODEL'" in error.message
    assert router.resolve("open/qwen").label == "open/qwen"
    monkeypatch.setenv("CORP_LLM_KEY", "secret")
    assert router.resolve("corp/qwen").label == "corp/qwen"


def test_missing_key__the_star_alias_takes_a_model_it_cannot_serve() -> None:
    """`*` means any name this server cannot serve, a keyless vendor's included."""
    router = _router(model_aliases={"*": "test"})
    assert router.resolve("gpt-4o").label == "test"
    assert router.resolve("anthropic/claude-x").label == "test"


def test_missing_key__an_alias_to_a_keyless_vendor_fails_at_start_up() -> None:
    """The operator learns of a missing key when the server starts, not from a tenant's 400."""
    with pytest.raises(ConfigurationError, match="set OPENAI_API_KEY"):
        _router(model_aliases={"smart": "openai/gpt-4o"})


async def test_missing_key__refused_at_assistant_run_and_fallback_creation(
    anyio_backend: str,
) -> None:
    """In-process too: the assistant, the run override and each fallback are 400s at once."""
    async with AsyncClient(database_url="sqlite+aiosqlite:///:memory:", worker=False) as client:
        err = await api_error(lambda: client.assistants.create(model="gpt-4o"))
        assert (err.status_code, err.param, err.code) == (400, "model", "model_not_found")
        assert "set OPENAI_API_KEY" in err.message
        assistant = await client.assistants.create(model="test")
        thread = await client.threads.create()
        err = await api_error(
            lambda: client.threads.runs.create(
                thread.id, assistant_id=assistant.id, model="claude-sonnet-4-5"
            )
        )
        assert (err.status_code, err.param) == (400, "model")
        assert "set ANTHROPIC_API_KEY" in err.message
        err = await api_error(
            lambda: client.assistants.create(
                model="test", extra_body={"fallbacks": ["test", "gemini-2.5-flash"]}
            )
        )
        assert (err.status_code, err.param) == (400, "fallbacks[1]")
        assert "set GEMINI_API_KEY or GOOGLE_API_KEY" in err.message
        err = await api_error(
            lambda: client.threads.create_and_run(
                assistant_id=assistant.id, extra_body={"fallbacks": ["openai/gpt-4o"]}
            )
        )
        assert (err.status_code, err.param) == (400, "fallbacks[0]")
        assert (await client.threads.runs.list(thread.id)).data == []


# --- configured-only providers --------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(LOCAL_PRESETS))
def test_configured_only__an_unconfigured_preset_is_400_naming_its_variable(preset: str) -> None:
    """With `only_configured_providers`, `preset/x` without its base URL is refused."""
    env = LOCAL_PRESETS[preset][0]
    error = _refused(_router(only_configured_providers=True), f"{preset}/x")
    assert error.code == "model_not_found"
    assert error.message == (
        f"Model '{preset}/x' needs provider '{preset}', which is not configured on this server: "
        f"set {env} (or add an endpoint named '{preset}' to the settings), or map the model to a "
        f"configured one with --model-alias '{preset}/x=MODEL' (ASSISTANTS_MODEL_ALIASES)."
    )


def test_configured_only__the_ways_an_operator_configures_a_preset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its base URL in the environment, an endpoint of its name, or an alias pointing at it."""
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:9/v1")
    router = _router(
        only_configured_providers=True,
        endpoints={"vllm": {"base_url": "http://127.0.0.1:9/v1"}},
        model_aliases={"gpt-4o": "lmstudio/qwen2.5"},
    )
    assert router.resolve("ollama/x").label == "ollama/x"
    assert router.resolve("vllm/x").label == "vllm/x"
    assert router.resolve("lmstudio/other").label == "lmstudio/other"
    assert "LLAMACPP_BASE_URL" in _refused(router, "llamacpp/x").message
    servers = {name: c["base_url"] for name, c in router.local_servers().items()}
    assert servers == {
        "ollama": "http://127.0.0.1:9/v1",
        "lmstudio": "http://localhost:1234/v1",
        "vllm": "http://127.0.0.1:9/v1",
    }


def test_configured_only__in_process_the_presets_defaults_work() -> None:
    """Off (the in-process default), `ollama/x` goes to the preset's default URL."""
    router = _router()
    assert not router.settings.only_configured_providers
    assert router.resolve("ollama/x").label == "ollama/x"
    assert router.local_servers() == {}


def test_configured_only__on_for_serve_and_worker_unless_the_settings_say_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`assistants serve`/`worker` settings turn it on; ASSISTANTS_ONLY_CONFIGURED_PROVIDERS wins."""
    assert operator_settings().only_configured_providers
    assert not Settings.load().only_configured_providers
    monkeypatch.setenv("ASSISTANTS_ONLY_CONFIGURED_PROVIDERS", "false")
    assert not operator_settings().only_configured_providers


def test_configured_only__an_endpoint_flag_configures_a_preset() -> None:
    """`--endpoint ollama=URL` makes `ollama/x` routable on the server, at that URL."""
    settings = operator_settings(["ollama=http://127.0.0.1:9/v1", " gpu-box = https://gpu/v1 "])
    assert settings.only_configured_providers
    assert settings.endpoints == {
        "ollama": {"base_url": "http://127.0.0.1:9/v1"},
        "gpu-box": {"base_url": "https://gpu/v1"},
    }
    router = ProviderRouter(settings)
    assert router.resolve("ollama/x").label == "ollama/x"
    assert router.resolve("gpu-box/qwen").model == "qwen"
    assert "LMSTUDIO_BASE_URL" in _refused(router, "lmstudio/x").message


@pytest.mark.parametrize(
    "flag",
    ["ollama", "=http://x/v1", "oll ama=http://x/v1", "ollama=ftp://x", "ollama=", "a/b=http://x"],
)
def test_configured_only__a_malformed_endpoint_flag_is_refused(flag: str) -> None:
    """`--endpoint` takes NAME=BASE_URL with a plain name and an http(s) URL."""
    with pytest.raises(ConfigurationError, match="Invalid endpoint"):
        operator_settings([flag])


def test_configured_only__the_worker_command_refuses_a_malformed_endpoint(tmp_path: Path) -> None:
    """`assistants worker --endpoint nonsense` exits 2 naming the expected form."""
    result = subprocess.run(
        [sys.executable, "-m", "assistants.cli", "worker", "--endpoint", "nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Invalid endpoint 'nonsense': expected NAME=BASE_URL" in result.stderr


def test_unknown_model__the_400_names_every_provider_prefix() -> None:
    """An unresolvable name lists every provider it could have named, endpoints included."""
    router = ProviderRouter(Settings(endpoints={"corp": {"base_url": "http://127.0.0.1:9/v1"}}))
    with pytest.raises(BadRequestError) as caught:
        router.resolve("nope")
    message = str(caught.value)
    for prefix in ("openai", "anthropic", "google", *LOCAL_PRESETS, "corp"):
        assert f"{prefix}/..." in message
    assert caught.value.param == "model"

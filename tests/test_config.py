"""Configuration layers and their precedence (DESIGN.md "Configuration")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import llmplex
from llmplex._calls import CallFactory
from llmplex._requests import Timeout


@pytest.fixture(autouse=True)
def clean_runtime() -> Iterator[None]:
    llmplex.config.clear()
    yield
    llmplex.config.clear()


def settings(client: llmplex.Client, model: str, **options: object) -> object:
    calls: CallFactory = client._calls
    route = calls.route(model)
    return calls.settings(route, options)


def test_precedence_env_yaml_runtime_constructor_request(tmp_path: Path) -> None:
    path = tmp_path / "llmplex.yaml"
    env = {"GROQ_API_KEY": "from-env", "LLMPLEX_TIMEOUT": "11", "LLMPLEX_MAX_RETRIES": "4"}
    client = llmplex.Client(env=env, config_file=path if path.exists() else None)
    s = settings(client, "groq/llama")
    assert s.api_key.reveal() == "from-env" and s.timeout == Timeout(11, 11, 11, 11) and s.max_retries == 4  # type: ignore[attr-defined]

    path.write_text("timeout: 12\nproviders:\n  groq:\n    api_key: from-yaml\n    max_retries: 1\n")
    client = llmplex.Client(env=env, config_file=path)
    s = settings(client, "groq/llama")
    assert s.api_key.reveal() == "from-yaml" and s.timeout == Timeout(12, 12, 12, 12) and s.max_retries == 1  # type: ignore[attr-defined]

    llmplex.config.set("groq.api_key", "from-runtime")
    llmplex.config.set("timeout", 13)
    s = settings(client, "groq/llama")
    assert s.api_key.reveal() == "from-runtime" and s.timeout == Timeout(13, 13, 13, 13)  # type: ignore[attr-defined]

    client = llmplex.Client(env=env, config_file=path, providers={"groq": {"api_key": "from-ctor"}}, timeout=14)
    s = settings(client, "groq/llama")
    assert s.api_key.reveal() == "from-ctor" and s.timeout == Timeout(14, 14, 14, 14)  # type: ignore[attr-defined]

    s = settings(client, "groq/llama", api_key="from-request", timeout=(1, 2))
    assert s.api_key.reveal() == "from-request" and s.timeout == Timeout(1, 2)  # type: ignore[attr-defined]

    sources = {row.name: row.source for row in client.describe_settings("groq")}
    assert sources["api_key"] == "constructor" and sources["timeout"] == "constructor"
    assert sources["max_retries"].startswith("file ")


def test_describe_settings_shows_sources_and_hides_keys() -> None:
    client = llmplex.Client(env={"OPENAI_API_KEY": "sk-secret-value-1", "OPENAI_ORG_ID": "org-1"})
    rows = {row.name: row for row in client.describe_settings("openai")}
    assert rows["api_key"].value == "***" and rows["api_key"].source == "environment"
    assert rows["base_url"].value == "https://api.openai.com/v1" and rows["base_url"].source == "built-in"
    assert rows["organization"].value == "org-1"
    assert rows["max_retries"].source == "default"


def test_missing_key_names_the_variable() -> None:
    client = llmplex.Client(env={})
    with pytest.raises(llmplex.ConfigurationError, match=r"\$GROQ_API_KEY"):
        client.chat.completions.create(model="groq/llama", messages=[{"role": "user", "content": "x"}])


def test_unknown_provider_and_setting_are_clear_errors(tmp_path: Path) -> None:
    client = llmplex.Client(env={})
    with pytest.raises(llmplex.ConfigurationError, match="Known providers: .*groq.*openai"):
        client.chat.completions.create(model="nosuch/model", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(llmplex.ConfigurationError, match="did you mean 'timeout'"):
        llmplex.Client(providers={"openai": {"timout": 3}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("providers: [1, 2]\n")
    with pytest.raises(llmplex.ConfigurationError, match="bad.yaml"):
        llmplex.Client(config_file=bad, env={})
    with pytest.raises(llmplex.ConfigurationError, match="provider="):
        llmplex.Client(api_key="sk-x")


def test_model_names() -> None:
    client = llmplex.Client(env={})
    calls: CallFactory = client._calls
    route = calls.route("openrouter/anthropic/claude-3.5-sonnet")
    assert (route.provider, route.model) == ("openrouter", "anthropic/claude-3.5-sonnet")
    assert calls.route("gpt-4o-mini").provider == "openai"
    assert calls.route("grok-4").provider == "xai"
    assert calls.route("mistral-large-latest").provider == "mistral"
    with pytest.raises(llmplex.ConfigurationError, match="provider/model"):
        calls.route("some-unknown-model")
    with_default = llmplex.Client(provider="together", env={})
    assert with_default._calls.route("meta-llama/Llama-3-8b").provider == "together"


def test_alias_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("providers:\n  local:\n    type: openai_compatible\n    base_url: http://127.0.0.1:1234/v1\n")
    client = llmplex.Client(config_file=path, env={})
    route = client._calls.route("local/qwen2.5-7b")
    assert route.provider == "local" and route.spec.name == "openai_compatible" and route.model == "qwen2.5-7b"
    assert settings(client, "local/qwen2.5-7b").base_url == "http://127.0.0.1:1234/v1"  # type: ignore[attr-defined]


def test_unknown_call_parameter_suggests_the_right_one() -> None:
    client = llmplex.Client()
    with pytest.raises(llmplex.InvalidRequestError, match="did you mean 'temperature'"):
        client.chat.completions.create(model="mock/x", messages=[{"role": "user", "content": "x"}],
                                       temprature=0.1)  # type: ignore[call-overload]
    with pytest.raises(llmplex.InvalidRequestError, match="messages"):
        client.chat.completions.create(model="mock/x", messages=[])
    with pytest.raises(llmplex.InvalidRequestError, match="role"):
        client.chat.completions.create(model="mock/x", messages=[{"content": "x"}])  # type: ignore[list-item]


def test_unsupported_parameters_raise_unless_dropped(caplog: pytest.LogCaptureFixture) -> None:
    client = llmplex.Client(providers={"groq": {"api_key": "gsk_x", "base_url": "mock://llmplex/v1"}})
    msgs = [{"role": "user", "content": "x"}]
    with pytest.raises(llmplex.UnsupportedParameterError, match="logprobs.*drop_unsupported"):
        client.chat.completions.create(model="groq/llama", messages=msgs, logprobs=True)
    with pytest.raises(llmplex.UnsupportedParameterError, match="n=3"):
        client.chat.completions.create(model="groq/llama", messages=msgs, n=3)
    with caplog.at_level("WARNING", logger="llmplex"):
        r = client.chat.completions.create(model="groq/llama", messages=msgs, logprobs=True, drop_unsupported=True)
    assert r.choices[0].message.content == "Echo: x"
    assert "dropped parameter 'logprobs'" in caplog.text


def test_bad_per_request_options_are_typed_errors() -> None:
    client = llmplex.Client()
    msgs = [{"role": "user", "content": "x"}]
    with pytest.raises(llmplex.InvalidRequestError, match="max_retries"):
        client.chat.completions.create(model="mock/x", messages=msgs, max_retries=-1)
    with pytest.raises(llmplex.InvalidRequestError, match="timeout"):
        client.chat.completions.create(model="mock/x", messages=msgs, timeout="soon")  # type: ignore[call-overload]
    with pytest.raises(llmplex.InvalidRequestError, match="extra_headers"):
        client.chat.completions.create(model="mock/x", messages=msgs, extra_headers=["x"])  # type: ignore[call-overload]


def test_a_credential_that_cannot_go_in_a_header_is_refused_clearly() -> None:
    for bad in ("sk-abc…", "sk-abc def", "sk-abc\n", " sk-abc"):
        with pytest.raises(llmplex.ConfigurationError, match="api_key contains spaces, control or non-ASCII") as info:
            llmplex.Client(provider="openai", api_key=bad)
        assert bad.strip() not in str(info.value)  # the value itself is never shown
    with pytest.raises(llmplex.InvalidRequestError, match="api_key contains"):
        llmplex.Client(provider="openai", api_key="sk-ok").chat.completions.create(
            model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}], api_key="sk-…")

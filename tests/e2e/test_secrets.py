"""Secrets never leak (RELIABILITY G1–G3): exceptions, reprs, DEBUG logs, redirects."""

from __future__ import annotations

import logging
import pickle
import traceback
from collections.abc import Iterator

import pytest

import llmplex
from llmplex._http import HttpRequest
from llmplex.testing import Emulator, Fault, Reply
from tests.conftest import Api

CANARY = "sk-CANARY0123456789abcdefXYZ"
USER = [{"role": "user", "content": "hi"}]


def leaks(text: str) -> bool:
    """The canary or any 8-character run of it appears in text."""
    return any(CANARY[i : i + 8] in text for i in range(len(CANARY) - 7))


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def debug_logs() -> Iterator[Capture]:
    capture = Capture()
    root = logging.getLogger()
    old = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    for name in ("llmplex", "urllib3", "aiohttp", "asyncio"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(capture)
    root.setLevel(old)


def assert_clean(error: BaseException) -> None:
    text = "".join(traceback.format_exception(error))
    for shown in (str(error), repr(error), repr(error.args), text, repr(pickle.loads(pickle.dumps(error)).__dict__)):
        assert not leaks(shown), shown


_EXTRA_SETTINGS = {"vertex_ai": {"project": "canary-project"}}  # Vertex AI needs a project to build its URL


@pytest.mark.parametrize(
    "provider",
    ["openai", "azure", "groq", "openrouter", "mistral", "deepseek", "anthropic", "ollama", "cohere", "gemini",
     "vertex_ai", "bedrock", "huggingface", "hf_endpoint"],
)
def test_canary_key_never_leaks_through_errors_or_logs(
    mode: str, emu: Emulator, debug_logs: Capture, provider: str
) -> None:
    base = emu.url if provider == "azure" else emu.base_url
    settings = {"api_key": CANARY, "base_url": base, **_EXTRA_SETTINGS.get(provider, {})}
    api = Api(mode, providers={provider: settings}, max_retries=0)
    model = f"{provider}/some-model"
    assert not leaks(repr(api.client))
    echoed = f"Incorrect API key provided: {CANARY}. You can find your API key at https://x."
    emu.enqueue(
        Reply.error(401, echoed, code="invalid_api_key"),
        Reply.error(500, f"internal error for key {CANARY[:12]}"),
        Reply(fault=Fault(reset_after_bytes=0)),
        Reply(fault=Fault(no_response=True)),
        Reply.stream_error(2, f"boom {CANARY}"),
    )
    errors: list[BaseException] = []
    for kwargs in ({}, {}, {}, {"timeout": (1.0, 0.2)}):
        with pytest.raises(llmplex.LLMError) as info:
            api.chat(model=model, messages=USER, **kwargs)
        errors.append(info.value)
    _, stream_error = api.stream_until_error(model=model, messages=USER)
    assert stream_error is not None
    errors.append(stream_error)
    assert isinstance(errors[0], llmplex.AuthenticationError)
    for error in errors:
        assert_clean(error)
    for record in debug_logs.records:
        rendered = record.getMessage() + repr(record.args) + (
            "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
        )
        assert not leaks(rendered), rendered
    api.close()


@pytest.mark.parametrize("secret", ["aws_secret_access_key", "aws_session_token"])
def test_bedrock_sigv4_secrets_and_signatures_never_leak(
    mode: str, emu: Emulator, debug_logs: Capture, secret: str
) -> None:
    settings = {"base_url": emu.base_url, "aws_access_key_id": "AKIDCANARYTEST", "region": "us-east-1",
                "aws_secret_access_key": "plain-secret-0123456789", secret: CANARY}
    if secret == "aws_secret_access_key":
        emu.require_api_key(CANARY)  # the emulator verifies the signature made with the canary
    api = Api(mode, providers={"bedrock": settings}, max_retries=0)
    assert not leaks(repr(api.client))
    emu.enqueue(
        Reply.error(403, f"The security token included in the request is invalid: {CANARY}",
                    type="UnrecognizedClientException"),
        Reply.error(500, f"internal error for {CANARY[:12]}"),
        Reply(fault=Fault(reset_after_bytes=0)),
        Reply(fault=Fault(no_response=True)),
        Reply.stream_error(2, f"boom {CANARY}", type="modelStreamErrorException"),
    )
    errors: list[BaseException] = []
    for kwargs in ({}, {}, {}, {"timeout": (1.0, 0.2)}):
        with pytest.raises(llmplex.LLMError) as info:
            api.chat(model="bedrock/anthropic.claude-v2", messages=USER, **kwargs)
        errors.append(info.value)
    _, stream_error = api.stream_until_error(model="bedrock/anthropic.claude-v2", messages=USER)
    assert stream_error is not None
    errors.append(stream_error)
    assert isinstance(errors[0], llmplex.AuthenticationError)
    signatures = {r.headers["authorization"].rsplit("Signature=", 1)[1] for r in emu.requests}
    assert len(emu.requests) == 5 and all("Signature=" in r.headers["authorization"] for r in emu.requests)
    for error in errors:
        assert_clean(error)
        assert not any(sig in "".join(traceback.format_exception(error)) for sig in signatures)
    for record in debug_logs.records:
        rendered = record.getMessage() + repr(record.args) + (
            "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
        )
        assert not leaks(rendered), rendered
        assert not any(sig in rendered for sig in signatures), rendered
    api.close()


def test_reprs_hide_credentials() -> None:
    req = HttpRequest("POST", "https://x/v1", {"authorization": f"Bearer {CANARY}", "api-key": CANARY}, b"{}")
    assert not leaks(repr(req))
    client = llmplex.Client(provider="openai", api_key=CANARY)
    assert not leaks(repr(client))
    for row in client.describe_settings("openai"):
        assert not leaks(str(row))
    assert not leaks(repr(llmplex.Secret(CANARY))) and not leaks(str(llmplex.Secret(CANARY)))
    assert not leaks(repr(pickle.loads(pickle.dumps(llmplex.Secret(CANARY)))).__repr__())


@pytest.mark.parametrize(
    "location",
    ["{attacker}/v1/chat/completions", "//127.0.0.1:{port}/steal", "http://user@127.0.0.1:{port}/x"],
)
def test_redirects_are_not_followed(mode: str, emu: Emulator, location: str) -> None:
    with Emulator() as attacker:
        target = location.format(attacker=attacker.url, port=attacker.port)
        emu.enqueue(Reply(status=307, headers={"location": target}, body=b""))
        api = Api(mode, provider="openai", api_key=CANARY, base_url=emu.base_url, max_retries=0)
        with pytest.raises(llmplex.APIStatusError) as info:
            api.chat(model="openai/gpt-4o", messages=USER)
        assert info.value.status_code == 307
        assert "redirect" in str(info.value)
        assert attacker.requests == []
        api.close()


def test_describe_settings_hides_credentials_in_headers_and_bodies() -> None:
    client = llmplex.Client(
        default_headers={"Authorization": f"Bearer {CANARY}", "X-Api-Key": CANARY},
        providers={"openai": {"api_key": CANARY, "extra_body": {"token": CANARY}}},
    )
    shown = "\n".join(str(row) for row in client.describe_settings("openai"))
    assert not leaks(shown), shown

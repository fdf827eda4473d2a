"""Vertex AI with Application Default Credentials, end to end over loopback (sync|async).

A real service-account key file (an RSA key made here) is found through GOOGLE_APPLICATION_CREDENTIALS;
google-auth signs a JWT with it and trades it at a loopback OAuth token endpoint (``TokenEndpoint``,
a real HTTP server); the access token goes to the emulator's Vertex AI route as a bearer token.
Nothing in google-auth or llmplex is patched.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import pickle
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import llmplex
from llmplex.testing import Emulator, Reply
from tests.conftest import Api

MODEL = "vertex_ai/gemini-2.5-flash"
USER = [{"role": "user", "content": "hello there"}]
EMAIL = "llmplex-test@adc-proj.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ONE = "adc-one-Q7w3k9Zr2Lm5Xp8vT4n"  # shapes no redaction pattern knows: only the exact value can hide them
TWO = "adc-two-H2j6s1Yc9Vb4Nq7Rd3e"


class TokenEndpoint:
    """An OAuth 2.0 token endpoint on 127.0.0.1: records each grant, answers the scripted tokens in
    order and, with ``gate`` set, holds each answer until the gate opens (up to 10 s)."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, int]] = []  # (access token, expires_in)
        self.grants: list[dict[str, str]] = []
        self.arrived = threading.Event()
        self.gate: threading.Event | None = None
        self.opened_in_time: list[bool] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"])).decode()
                endpoint.grants.append({k: v[0] for k, v in parse_qs(body).items()})
                endpoint.arrived.set()
                if endpoint.gate is not None:
                    endpoint.opened_in_time.append(endpoint.gate.wait(10))
                token, expires_in = endpoint.answers.pop(0)
                answer = json.dumps({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # small: a test key, made fast


@pytest.fixture
def adc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: rsa.RSAPrivateKey) -> Iterator[TokenEndpoint]:
    """A service-account key file as ADC, whose token_uri is a loopback ``TokenEndpoint``."""
    endpoint = TokenEndpoint()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "adc-proj", "private_key_id": "key-1", "private_key": pem,
            "client_email": EMAIL, "client_id": "1", "token_uri": endpoint.url}
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    for name in ("VERTEX_AI_ACCESS_TOKEN", "LLMPLEX_VERTEX_AI_API_KEY"):
        monkeypatch.delenv(name, raising=False)  # no static token: ADC it is
    yield endpoint
    endpoint.close()


def vertex_settings(emu: Emulator) -> dict[str, Any]:
    return {"vertex_ai": {"base_url": emu.base_url, "project": "my-proj", "location": "us-central1"}}


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_jwt_grant(grant: dict[str, str], key: rsa.RSAPrivateKey) -> None:
    """An RFC 7523 JWT bearer grant, signed RS256 by the service account's key."""
    assert grant["grant_type"] == JWT_GRANT
    header, claims, signature = grant["assertion"].split(".")
    key.public_key().verify(_b64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert json.loads(_b64(header)) == {"alg": "RS256", "typ": "JWT", "kid": "key-1"}
    payload = json.loads(_b64(claims))
    # google-auth names Google's token endpoint as the audience whatever token_uri says
    assert (payload["iss"], payload["aud"], payload["scope"]) == (EMAIL, GOOGLE_TOKEN_URI, SCOPE)
    assert payload["exp"] - payload["iat"] == 3600


def test_adc_token_is_fetched_sent_cached_and_refreshed(
    mode: str, emu: Emulator, adc: TokenEndpoint, key: rsa.RSAPrivateKey
) -> None:
    # ONE expires in 60 s: inside google-auth's refresh margin (3m45s), so it is stale once used
    adc.answers += [(ONE, 60), (TWO, 3600)]
    api = Api(mode, providers=vertex_settings(emu))
    try:
        assert api.chat(model=MODEL, messages=USER).choices[0].message.content == "Echo: hello there"
        assert len(adc.grants) == 1  # fetched once, though it is already inside the refresh margin
        check_jwt_grant(adc.grants[0], key)
        assert emu.last_request.path == ("/v1/projects/my-proj/locations/us-central1/publishers/google/models/"
                                         "gemini-2.5-flash:generateContent")
        api.chat(model=MODEL, messages=USER)  # ONE is stale: refreshed before the call
        assert len(adc.grants) == 2
        check_jwt_grant(adc.grants[1], key)
        _, streamed = api.stream(model=MODEL, messages=USER)
        assert streamed.choices[0].message.content == "Echo: hello there"
        assert len(api.embed(model="vertex_ai/gemini-embedding-001", input=["a", "b"]).data) == 2
        assert len(adc.grants) == 2  # TWO is good for an hour: reused, no third grant
    finally:
        api.close()
    sent = [r.headers["authorization"] for r in emu.requests]
    assert sent == [f"Bearer {ONE}", f"Bearer {TWO}", f"Bearer {TWO}", f"Bearer {TWO}"]
    assert all("x-goog-api-key" not in r.headers for r in emu.requests)


def test_async_refresh_leaves_the_event_loop_free(emu: Emulator, adc: TokenEndpoint) -> None:
    """The token endpoint holds its answer until a coroutine on the client's loop opens the gate:
    that coroutine can run only if the refresh is not blocking the loop."""
    adc.answers.append((ONE, 3600))
    gate = adc.gate = threading.Event()

    async def go() -> Any:
        client = llmplex.AsyncClient(providers=vertex_settings(emu))
        try:
            call = asyncio.ensure_future(client.chat.completions.create(model=MODEL, messages=USER))
            assert await asyncio.to_thread(adc.arrived.wait, 10)
            gate.set()
            return await call
        finally:
            await client.close()

    assert asyncio.run(go()).choices[0].message.content == "Echo: hello there"
    assert adc.opened_in_time == [True]
    assert emu.last_request.headers["authorization"] == f"Bearer {ONE}"


def _leaks(text: str, token: str) -> bool:
    """Whether the token, or any 8-character run of it, is in the text (RELIABILITY.md G1)."""
    return any(token[i:i + 8] in text for i in range(len(token) - 7))


def test_the_adc_token_never_leaks(
    mode: str, emu: Emulator, adc: TokenEndpoint, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="google")
    monkeypatch.setattr(logging.getLogger("google"), "propagate", True)  # google-auth turns it off on first use
    adc.answers.append((ONE, 3600))
    echo = f"Request had invalid authentication credentials: {ONE}"  # a body that echoes the token
    emu.enqueue(Reply.error(401, echo), Reply.stream_error(1, f"token {ONE} revoked", text="one two"))
    api = Api(mode, providers=vertex_settings(emu))
    try:
        with pytest.raises(llmplex.AuthenticationError) as info:
            api.chat(model=MODEL, messages=USER)
        assert emu.last_request.headers["authorization"] == f"Bearer {ONE}"  # the token was really used
        _, mid_stream = api.stream_until_error(model=MODEL, messages=USER)
        assert mid_stream is not None
        shown = [repr(api.client), str(api.client.chat)]
        for error in (info.value, mid_stream):
            shown += [str(error), repr(error), repr(error.args), *traceback.format_exception(error),
                      repr(pickle.loads(pickle.dumps(error)).__dict__)]
        shown += [f"{r.getMessage()} {r.args!r} {r.exc_text}" for r in caplog.records]
    finally:
        api.close()
    assert "[REDACTED]" in str(info.value) and "[REDACTED]" in str(mid_stream)
    assert any(r.name == "google.auth.transport.urllib3" for r in caplog.records)  # its token exchange, logged
    assert not [text for text in shown if _leaks(text, ONE)]
    assert len(adc.grants) == 1

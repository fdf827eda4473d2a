"""SigV4 signing against AWS's published test-suite vectors, and how the Bedrock adapter finds
credentials and signs each attempt (pure: no sockets)."""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import llmplex
from llmplex._requests import CallSettings, ChatRequest
from llmplex._types import Secret
from llmplex.errors import ConfigurationError
from llmplex.providers import _sigv4
from llmplex.providers._aws_credentials import ProfileFiles, parse_profile
from llmplex.providers.bedrock import BEDROCK_SPEC, BedrockAdapter
from llmplex.testing._bedrock import _signature_problem
from llmplex.testing._plan import RecordedRequest

SUITE = json.loads((Path(__file__).parent / "data" / "sigv4_vectors.json").read_text(encoding="utf-8"))
WHEN = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
CASES = {case["name"]: case for case in SUITE["cases"]}


@pytest.mark.parametrize("name", sorted(CASES))
def test_aws_test_suite_vector(name: str) -> None:
    case = CASES[name]
    body = case["body"].encode()
    added = _sigv4.sign_headers(
        case["method"], case["url"], case["headers"], body,
        access_key_id=SUITE["access_key_id"], secret_access_key=SUITE["secret_access_key"],
        session_token=case.get("session_token"), region=SUITE["region"], service=SUITE["service"], when=WHEN,
    )
    assert added["authorization"] == case["authz"]
    assert added["x-amz-date"] == "20150830T123600Z"
    if "creq" in case:
        headers = {**case["headers"], "host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}
        creq, signed = _sigv4.canonical_request(case["method"], case["url"], headers, hashlib.sha256(body).hexdigest())
        assert creq == case["creq"]
        assert signed == case["authz"].split("SignedHeaders=")[1].split(",")[0]
    if "sts" in case and "creq" in case:
        assert _sigv4.string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", creq) == case["sts"]
    if case.get("session_token"):
        assert added["x-amz-security-token"] == case["session_token"]


def test_signing_key_matches_the_aws_documentation_example() -> None:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html (derived key example)
    key = _sigv4.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


# -- the adapter: credentials, per-attempt signatures ------------------------------------------

MODEL = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
SECRET = "s3cr3t-Access-Key-0123456789abcdefXYZ"
TOKEN = "FwoGZXIvYXdzEXAMPLE-session-token-0123456789"
HI = [{"role": "user", "content": "Hi"}]


def _cfg(**options: Any) -> CallSettings:
    secret = ("aws_secret_access_key", "aws_session_token")
    normalised = {k: Secret(v) if k in secret else v for k, v in options.items()}
    return CallSettings(provider="bedrock", base_url=BEDROCK_SPEC.base_url, options=normalised)


def _recorded(req: Any) -> RecordedRequest:
    """The request as the emulator's server would record it (Host added by the HTTP client)."""
    from urllib.parse import urlsplit

    parts = urlsplit(req.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {k.lower(): v for k, v in req.headers.items()} | {"host": parts.netloc}
    return RecordedRequest("POST", parts.path, {}, headers, req.body or b"", target=target)


def test_each_attempt_is_signed_with_its_own_time() -> None:
    times = iter([1_700_000_000.0, 1_700_000_007.0])
    adapter = BedrockAdapter(clock=lambda: next(times), profiles=ProfileFiles())
    cfg = _cfg(aws_access_key_id="AKIDTEST", aws_secret_access_key=SECRET, aws_session_token=TOKEN, region="eu-west-3")
    first, second = (adapter.build_chat_request(ChatRequest(MODEL, HI, {}), cfg) for _ in range(2))
    assert first.url == ("https://bedrock-runtime.eu-west-3.amazonaws.com/model/"
                         "us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse")
    assert (first.headers["x-amz-date"], second.headers["x-amz-date"]) == ("20231114T221320Z", "20231114T221327Z")
    assert first.headers["authorization"] != second.headers["authorization"]
    assert "/eu-west-3/bedrock/aws4_request" in first.headers["authorization"]
    assert first.headers["x-amz-security-token"] == TOKEN
    for req in (first, second):  # the emulator's independent verifier accepts both, a wrong secret neither
        stamp = datetime.datetime.strptime(req.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        assert _signature_problem(_recorded(req), SECRET, stamp) is None
        assert _signature_problem(_recorded(req), SECRET + "x", stamp) is not None
        assert SECRET not in repr(req) and TOKEN not in repr(req) and req.headers["authorization"] not in repr(req)


def test_bearer_token_wins_and_is_not_signed() -> None:
    adapter = BedrockAdapter(clock=lambda: 0.0)
    cfg = CallSettings(provider="bedrock", base_url=BEDROCK_SPEC.base_url, api_key=Secret("ABSKbedrock-api-key"),
                       options={"aws_access_key_id": "AKID", "aws_secret_access_key": Secret(SECRET),
                                "region": "us-west-2"})
    req = adapter.build_chat_request(ChatRequest(MODEL, HI, {}, stream=True), cfg)
    assert req.headers["authorization"] == "Bearer ABSKbedrock-api-key"
    assert "x-amz-date" not in req.headers
    assert req.url.endswith("/converse-stream") and req.stream == "aws-eventstream"
    assert req.headers["accept"] == "application/vnd.amazon.eventstream"


def _write_profiles(tmp_path: Path) -> tuple[str, str]:
    creds = tmp_path / "credentials"
    config = tmp_path / "config"
    creds.write_text("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = default-secret\n\n"
                     "[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = work-secret\n"
                     "aws_session_token = work-token\n", encoding="utf-8")
    config.write_text("[default]\nregion = us-west-2\n\n[profile work]\nregion = ap-south-1\n\n"
                      "[profile cfgonly]\naws_access_key_id = AKIDCFG\naws_secret_access_key = cfg-secret\n",
                      encoding="utf-8")
    return str(creds), str(config)


def test_profiles_from_the_shared_files(tmp_path: Path) -> None:
    creds, config = _write_profiles(tmp_path)
    adapter = BedrockAdapter(clock=lambda: 1_700_000_000.0)
    for profile, key_id, region in ((None, "AKIDDEFAULT", "us-west-2"), ("work", "AKIDWORK", "ap-south-1"),
                                    ("cfgonly", "AKIDCFG", "us-east-1")):
        cfg = _cfg(aws_profile=profile, aws_shared_credentials_file=creds, aws_config_file=config)
        req = adapter.build_chat_request(ChatRequest(MODEL, HI, {}), cfg)
        assert f"Credential={key_id}/20231114/{region}/bedrock/aws4_request" in req.headers["authorization"]
        assert f"bedrock-runtime.{region}.amazonaws.com" in req.url
        assert ("x-amz-security-token" in req.headers) == (profile == "work")
    # explicit options beat the files; the region option beats the profile's
    cfg = _cfg(aws_access_key_id="AKIDOPT", aws_secret_access_key=SECRET, region="eu-north-1",
               aws_shared_credentials_file=creds, aws_config_file=config)
    assert "Credential=AKIDOPT/20231114/eu-north-1/" in adapter.build_chat_request(ChatRequest(MODEL, HI, {}),
                                                                                    cfg).headers["authorization"]


def test_profile_secrets_print_nothing_and_are_redacted_from_errors(tmp_path: Path) -> None:
    creds, config = _write_profiles(tmp_path)
    found = parse_profile(Path(creds).read_text(), Path(config).read_text(), "work").credentials
    assert found is not None and "work-secret" not in repr(found) and "work-token" not in repr(found)
    adapter = BedrockAdapter(clock=lambda: 1_700_000_000.0)
    adapter.build_chat_request(ChatRequest(MODEL, HI, {}), _cfg(aws_profile="work", aws_shared_credentials_file=creds,
                                                                aws_config_file=config))
    err = adapter.error_for("UnrecognizedClientException", "bad token work-token for work-secret")
    assert "work-token" not in str(err) and "work-secret" not in str(err)


def test_no_credentials_is_a_configuration_error(tmp_path: Path) -> None:
    adapter = BedrockAdapter()
    cfg = _cfg(aws_shared_credentials_file=str(tmp_path / "none"), aws_config_file=str(tmp_path / "none"))
    with pytest.raises(ConfigurationError, match="AWS_ACCESS_KEY_ID"):
        adapter.build_chat_request(ChatRequest(MODEL, HI, {}), cfg)


def test_environment_variables_reach_the_signer(tmp_path: Path) -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN,
           "AWS_DEFAULT_REGION": "ca-central-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    client = llmplex.Client(env=env)
    cfg = client._calls.settings(client._calls.route("bedrock/m"), {})  # the resolved settings
    assert cfg.options["aws_access_key_id"] == "AKIDENV" and cfg.options["region"] == "ca-central-1"
    assert isinstance(cfg.options["aws_secret_access_key"], Secret)
    assert isinstance(cfg.options["aws_session_token"], Secret)
    assert SECRET in cfg.secrets() and TOKEN in cfg.secrets()
    assert SECRET not in repr(client) and TOKEN not in repr(client)

"""The ``llmplex`` command: in-process through ``main([...])`` and as a real subprocess.

Chat tests point the CLI at the provider emulator over loopback; the demo starts its own.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import llmplex
from llmplex.cli import main
from llmplex.cli._demo_cast import CAST, DEFAULT_PROVIDERS, chat_tokens, stream_tokens, tools_tokens
from llmplex.cli._output import RICH_MISSING
from llmplex.registry import builtin_specs
from llmplex.testing import Emulator, Reply
from llmplex.testing._bedrock import BedrockProtocol

CANARY = "sk-CANARY-5f1e0c2a9b7d4e3f"


@pytest.fixture(scope="module")
def _emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(_emulator: Emulator) -> Iterator[Emulator]:
    _emulator.reset(close_connections=True)
    yield _emulator


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No provider key, config file or forced colour leaks in from the developer's shell."""
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_TOKEN")) or name.startswith(("LLMPLEX_", "OPENAI_")):
            monkeypatch.delenv(name)
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.chdir(tmp_path)  # no ./llmplex.yaml


def _run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "llmplex", *args],
        capture_output=True, text=True, timeout=60, env=full_env, input=stdin,
    )


# -- demo -------------------------------------------------------------------------------------------


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def test_demo_subprocess_shows_every_provider_the_summary_and_unified_errors() -> None:
    proc = _run("demo", "--fast", "--no-color", env={"COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name in DEFAULT_PROVIDERS:
        act = CAST[name]
        assert act.model in out
        assert _squeeze(act.tip) in _squeeze(out)  # each provider's answer
    assert "Six providers point at it" in _squeeze(out)
    assert "thinking: " + CAST["gemini"].reasoning[:40] in out  # Gemini's thought summary
    assert "AWS Bedrock  bedrock/amazon.nova-pro-v1:0" in out  # a colon inside the model id
    assert "Summary" in out and "TTFT" in out and "1,536" in out and "3,072" in out
    assert "RateLimitError (retry_after=2.0)" in out
    assert "AuthenticationError" in out
    assert "26 calls, six providers, no failures" in out
    assert "\x1b[" not in out and "Traceback" not in proc.stderr


def test_demo_help_names_the_default_tour(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--help"]) == 0
    assert "default: " + ",".join(DEFAULT_PROVIDERS) + ";" in _squeeze(capsys.readouterr().out)


@pytest.mark.parametrize("name", list(CAST))
def test_demo_each_provider_answers_with_its_usage_tool_call_and_typed_errors(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a user sees for one provider: its answer, the usage its own wire protocol reported
    (the same counts whatever the usage shape), the tool call, the embedding and the typed errors."""
    monkeypatch.setenv("COLUMNS", "250")  # no wrapping: every row on one line
    act, caps = CAST[name], builtin_specs()[name].capabilities
    assert main(["demo", "--fast", "--no-color", "--providers", name]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ ") and len(line.split()) > 1}
    chat, stream, tools = chat_tokens(act), stream_tokens(act), tools_tokens(act)
    assert f"· {chat.prompt} → {chat.output} tok" in rows["chat"] and act.tip in out
    if act.reasoning:
        assert f"thinking: {act.reasoning}" in rows["chat"]
    assert (act.stream_reasoning or act.haiku.splitlines()[0]) in rows["stream"] and "TTFT" in rows["stream"]
    assert all(line in out for line in act.haiku.splitlines())
    total = chat.total + stream.total
    if caps.tools:
        assert "→ get_weather(" in out and '"Paris"' in out
        assert f"· {tools.prompt} → {tools.output} tok" in rows["tools"]
        total += tools.total
    else:
        assert "does not offer tool calls" in rows["tools"]
    if act.embed_model:
        assert act.embed_model.partition("/")[2] in rows["embed"] and f"{act.embed_dims:,} dims" in rows["embed"]
    summary = next(line for line in out.split("Summary", 1)[1].splitlines() if act.model in line)
    assert f" {total:,} " in summary  # chat + stream + tools, as each provider counted them
    assert "RateLimitError (retry_after=2.0)" in out and "AuthenticationError" in out
    assert "no failures" in out


def test_demo_all_runs_every_provider_each_over_its_own_protocol(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Emulator] = []

    class Recording(Emulator):
        def start(self) -> Emulator:
            started.append(self)
            return super().start()

    monkeypatch.setattr(llmplex.testing, "Emulator", Recording)
    monkeypatch.setenv("COLUMNS", "250")
    for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_SESSION_TOKEN", "AWS_PROFILE", "OLLAMA_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(name, CANARY)  # the user's own credentials stay out of the demo
    assert main(["demo", "--fast", "--no-color", "--providers", "all"]) == 0
    out = capsys.readouterr().out
    assert all(act.model in out for act in CAST.values())
    assert f"{len(CAST)} providers, no failures" in out
    paths = [request.path for request in started[0].requests]
    for native in ("/v1/models/gemini-2.5-flash:generateContent", "/v1/models/gemini-2.5-flash:streamGenerateContent",
                   "/v2/chat", "/v2/embed", "/api/chat", "/api/embed", "/v1/messages",
                   "/v1/model/amazon.nova-pro-v1%3A0/converse", "/v1/model/amazon.nova-pro-v1%3A0/converse-stream",
                   "/v1/model/amazon.titan-embed-text-v2%3A0/invoke",
                   "/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/feature-extraction"):
        assert any(path.startswith(native) for path in paths), native
    signed = [r for r in started[0].requests if r.path.startswith("/v1/model/")]
    secret = (CAST["bedrock"].settings or {})["aws_secret_access_key"]
    assert signed and all(BedrockProtocol().authorized(r, secret) for r in signed)  # SigV4, checked
    assert all("x-amz-security-token" not in r.headers for r in signed)
    assert all(CANARY not in str(r.headers) for r in started[0].requests)


def test_demo_in_process_narrow_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["demo", "--fast", "--no-color", "--providers", "deepseek,openrouter,perplexity"]) == 0
    out = capsys.readouterr().out
    assert "deepseek/deepseek-reasoner" in out and "perplexity/sonar" in out
    assert "thinking: The user wants a single" in out  # reasoning_content shown
    assert "→ get_weather({" in out  # a tool call
    assert "Perplexity does not offer tool calls" in out  # from capabilities: no call was made
    assert "RateLimitError" in out and "AuthenticationError" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_demo_exits_1_when_a_step_fails(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from llmplex.cli import _demo_cast

    monkeypatch.setattr(_demo_cast, "chat_reply", lambda act: Reply.error(400, "scripted failure"))
    assert main(["demo", "--fast", "--no-color", "--providers", "groq"]) == 1
    out = capsys.readouterr().out
    assert "error: BadRequestError: scripted failure" in out
    assert "step(s) failed: groq/llama-3.3-70b-versatile chat" in out
    assert "Fast as falling light" in out  # the steps after the failure still ran


def test_demo_failed_native_step_shows_the_typed_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmplex.cli import _demo_cast

    monkeypatch.setattr(_demo_cast, "tools_reply", lambda act: Reply.error(400, "scripted failure"))
    assert main(["demo", "--fast", "--no-color", "--providers", "bedrock"]) == 1
    out = capsys.readouterr().out
    assert "error: BadRequestError: scripted failure" in out
    assert "step(s) failed: bedrock/amazon.nova-pro-v1:0 tools" in out


def test_demo_rejects_an_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--fast", "--providers", "openai,nope"]) == 2
    assert "nope" in capsys.readouterr().err


# -- chat -------------------------------------------------------------------------------------------


def _chat_args(emu: Emulator, *extra: str, model: str = "openai/gpt-4o-mini") -> list[str]:
    return ["chat", "-m", model, "--base-url", emu.base_url, "--api-key", "sk-test", *extra]


def test_chat_streams_the_scripted_reply(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    emu.enqueue(Reply("Bonjour from the emulator", reasoning="Greet back in French."))
    code = main(_chat_args(emu, "--system", "Be brief.", "--temperature", "0.2", "--max-tokens", "20", "Hi"))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == "Bonjour from the emulator\n"  # stdout holds the reply only
    assert "Greet back in French." in err  # reasoning on stderr
    assert "tokens" in err and "first token" in err
    sent = emu.last_request.json()
    assert sent["stream"] is True and sent["model"] == "gpt-4o-mini"
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 20


def test_chat_reads_the_prompt_from_stdin(
    emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a piped prompt\n"))
    assert main(_chat_args(emu, "-", "--no-stream")) == 0
    assert capsys.readouterr().out == "Echo: a piped prompt\n"
    assert "stream" not in emu.last_request.json()


@pytest.mark.parametrize("stream", [True, False])
def test_chat_json_prints_a_chat_completion(emu: Emulator, capsys: pytest.CaptureFixture[str], stream: bool) -> None:
    emu.enqueue(Reply("forty-two"))
    assert main(_chat_args(emu, "--json", "What is the answer?", *([] if stream else ["--no-stream"]))) == 0
    data = json.loads(capsys.readouterr().out)
    completion = llmplex.types.chat.ChatCompletion.model_validate(data)
    assert data["object"] == "chat.completion"
    assert completion.choices[0].message.content == "forty-two"
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_chat_bare_model_with_base_url_needs_no_key(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "llama3.2", "--base-url", emu.base_url, "Hello"]) == 0
    assert capsys.readouterr().out == "Echo: Hello\n"
    assert emu.last_request.json()["model"] == "llama3.2"
    assert "authorization" not in emu.last_request.headers


def test_chat_401_is_one_clean_line(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    emu.enqueue(Reply.error(401, "Incorrect API key provided"))
    assert main(_chat_args(emu, "Hi", model="openai/gpt-4o")) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: AuthenticationError: Incorrect API key provided (status=401")
    assert "model=openai/gpt-4o" in lines[0]


def test_chat_401_in_a_real_process_has_no_traceback(emu: Emulator) -> None:
    emu.enqueue(Reply.error(401, "Incorrect API key provided"))
    proc = _run(*_chat_args(emu, "Hi", model="openai/gpt-4o"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: AuthenticationError:")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_chat_without_a_key_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-m", "openai/gpt-4o", "Hi"]) == 2
    assert capsys.readouterr().err.startswith("error: ConfigurationError: no API key for openai")


def test_chat_usage_errors(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["chat", "Hi"]) == 2  # no -m
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["chat", "-m", "openai/gpt-4o", "-"]) == 2  # empty prompt
    assert "no prompt" in capsys.readouterr().err


# -- config, providers, version ----------------------------------------------------------------------


def test_config_shows_sources_and_never_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    assert main(["config", "openai", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "***" in out and "environment" in out and "https://api.openai.com/v1" in out
    assert "CANARY" not in out
    assert main(["config"]) == 0
    listing = capsys.readouterr().out
    assert "OPENAI_API_KEY" in listing and "✓ environment" in listing and "CANARY" not in listing


def test_config_subprocess_never_prints_the_canary() -> None:
    proc = _run("config", "openai", env={"OPENAI_API_KEY": CANARY})
    assert proc.returncode == 0, proc.stderr
    assert "***" in proc.stdout and "environment" in proc.stdout
    assert "CANARY" not in proc.stdout + proc.stderr


def test_config_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: ConfigurationError: unknown provider 'nope'")


@pytest.mark.parametrize("columns", ["80", "120"])
def test_providers_lists_every_provider(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["providers", "--no-color"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for name, spec in builtin_specs().items():
        assert name in rows
        assert rows[name].count("✓") == sum(
            bool(getattr(spec.capabilities, f))
            for f in ("chat", "stream", "tools", "vision", "embeddings", "completions", "reasoning", "json_schema")
        )
    assert max(len(line) for line in out.splitlines()) <= int(columns)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"llmplex {llmplex.__version__}"


def test_without_rich_one_line_and_exit_1(
    emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # makes `import rich` raise ImportError
    assert main(["providers"]) == 1
    assert capsys.readouterr().err == RICH_MISSING + "\n"
    assert main(_chat_args(emu, "still works")) == 0  # chat needs no rich
    assert capsys.readouterr().out == "Echo: still works\n"


def test_import_llmplex_does_not_load_the_cli() -> None:
    code = "import sys, llmplex; assert not any(m.startswith('llmplex.cli') or m == 'rich' for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)

"""Every ```python block in README.md, docs/*.md and docs/providers/*.md runs, unchanged, against the emulator.

Each block runs in its own subprocess, in a fresh temporary directory, with an environment that
sends every provider to one loopback emulator: the provider's key variable holds a dummy key,
``LLMPLEX_<NAME>_BASE_URL`` is the emulator's ``base_url`` (Azure: ``AZURE_OPENAI_ENDPOINT`` is
its root URL), ``LLMPLEX_CONFIG`` and real credentials are removed. The emulator echoes, so an
example that works with a real key works here without a line changed. The blocks run in parallel
(a module fixture) and each is reported as its own test. Each runs in a child forked from a
"fork server" that has imported llmplex once (set ``LLMPLEX_DOCS_NO_FORK=1``, or run on a platform
without ``os.fork``, for a fresh ``python`` per block): about 3 s instead of 20 s for them all.

Markers, written on the line before a fence:

- ``<!-- not-tested: reason -->`` skips the block (use sparingly; ```` ```python notest ```` too);
- ``<!-- file: NAME -->`` before any fenced block writes its text to ``NAME`` in the working
  directory of every later python block of the same page, with ``http://localhost:PORT`` and
  ``http://127.0.0.1:PORT`` pointed at the emulator (how an ``llmplex.yaml`` example is tested).

The tests at the end pin documented behaviour found broken while the docs were written.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import llmplex
from llmplex.registry import builtin_specs
from llmplex.testing import Emulator, Fault, Reply

DOCS = Path(__file__).resolve().parent.parent / "docs"
TIMEOUT = 60.0

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_NOT_TESTED = re.compile(r"^<!--\s*not-tested:\s*(?P<reason>.+?)\s*-->$")
_FILE = re.compile(r"^<!--\s*file:\s*(?P<name>[\w./-]+)\s*-->$")
_LOCAL_URL = re.compile(r"http://(?:localhost|127\.0\.0\.1):\d+")


@dataclass(frozen=True)
class Block:
    """One fenced block of a docs page."""

    page: str
    line: int
    info: str
    code: str
    skip: str | None = None
    file_name: str | None = None

    @property
    def language(self) -> str:
        return self.info.split()[0].lower() if self.info.split() else ""


@dataclass(frozen=True)
class Example:
    """A python block to run, with the files the page asked for."""

    page: str
    line: int
    code: str
    files: tuple[tuple[str, str], ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def parse_blocks(path: Path, root: Path = DOCS) -> list[Block]:
    """The fenced blocks of a markdown file, with the marker comment before each."""
    page = path.relative_to(root).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    previous = ""
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        fence, indent, info = match["fence"], match["indent"], match["info"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (
            lines[j].strip().startswith(fence) and set(lines[j].strip()) == {fence[0]}
        ):
            line = lines[j]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            j += 1
        skip = _NOT_TESTED.match(previous)
        file_marker = _FILE.match(previous)
        blocks.append(Block(
            page=page,
            line=i + 1,
            info=info,
            code="\n".join(body) + "\n",
            skip=skip["reason"] if skip else ("notest" if "notest" in info.split() else None),
            file_name=file_marker["name"] if file_marker else None,
        ))
        previous = ""
        i = j + 1
    return blocks


def doc_pages() -> list[Path]:
    """docs/*.md and docs/providers/*.md."""
    return sorted([*DOCS.glob("*.md"), *DOCS.glob("providers/*.md")])


def collect_examples() -> list[Example]:
    """Every python block that is not marked not-tested."""
    examples: list[Example] = []
    readme = DOCS.parent / "README.md"
    for path, root in [*((p, DOCS) for p in doc_pages()), (readme, DOCS.parent)]:
        files: list[tuple[str, str]] = []
        for block in parse_blocks(path, root):
            if block.file_name is not None:
                files.append((block.file_name, block.code))
            if block.language not in ("python", "py") or block.skip is not None:
                continue
            examples.append(Example(block.page, block.line, block.code, tuple(files)))
    return examples


EXAMPLES = collect_examples()


def example_env(emu: Emulator) -> dict[str, str]:
    """The process environment that sends every provider to the emulator with dummy keys."""
    specs = builtin_specs()
    managed: set[str] = {"LLMPLEX_CONFIG"}
    for spec in specs.values():
        managed.update(spec.api_key_env)
        managed.update(spec.base_url_env)
        for names in spec.option_env.values():
            managed.update(names)
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in managed and not name.startswith("LLMPLEX_")
    }
    for spec in specs.values():
        if spec.name == "mock":
            continue  # answered in-process: never send it over the network
        if spec.api_key_env:
            env[spec.api_key_env[0]] = f"dummy-{spec.name}-key-for-docs"
        if spec.name == "azure":
            env["AZURE_OPENAI_ENDPOINT"] = emu.url
        else:
            env[f"LLMPLEX_{spec.name.upper()}_BASE_URL"] = emu.base_url
    env["NO_COLOR"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _prepare(example: Example, cwd: str, emu: Emulator) -> Path:
    """Write the example and the files its page asked for into ``cwd``; returns the script."""
    for name, text in example.files:
        target = Path(cwd, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_LOCAL_URL.sub(emu.url, text), encoding="utf-8")
    script = Path(cwd, "_example.py")
    script.write_text(example.code, encoding="utf-8")
    return script


def run_example(example: Example, env: dict[str, str], emu: Emulator) -> subprocess.CompletedProcess[str]:
    """Run one example in a fresh interpreter and directory; returns the finished process."""
    with tempfile.TemporaryDirectory(prefix="llmplex-docs-") as cwd:
        script = _prepare(example, cwd, emu)
        try:
            return subprocess.run(
                [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True,
                timeout=TIMEOUT, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(
                exc.cmd, -1, _text(exc.stdout), _text(exc.stderr) + f"\n[timed out after {TIMEOUT}s]"
            )


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


# A fork server: one interpreter imports llmplex once, then forks a fresh child per example, which
# chdirs, redirects stdout/stderr to files and runs the script as __main__. Each example still runs
# in its own process with its own state; only the ~0.2 s of importing pydantic models is shared.
_FORK_SERVER = r"""
import json, os, runpy, signal, sys, traceback
import llmplex, llmplex._calls, llmplex.client, llmplex.legacy, llmplex.streaming, llmplex.testing
print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(int(job["timeout"]))
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the job pipe is the server's, not the example's
            for fd, name in ((1, "stdout"), (2, "stderr")):
                os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
            os.chdir(job["cwd"])
            sys.argv = [job["script"]]
            sys.path[0] = job["cwd"]
            runpy.run_path(job["script"], run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class ForkServer:
    """Runs examples in children forked from one warmed-up interpreter (POSIX only)."""

    def __init__(self, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _FORK_SERVER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, cwd=tempfile.gettempdir(),
        )
        assert self._proc.stdout is not None and self._proc.stdout.readline().strip() == "ready"

    def run(self, example: Example, emu: Emulator) -> subprocess.CompletedProcess[str]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with tempfile.TemporaryDirectory(prefix="llmplex-docs-") as cwd:
            script = _prepare(example, cwd, emu)
            out, err = Path(cwd, "_stdout.txt"), Path(cwd, "_stderr.txt")
            job = {"script": str(script), "cwd": cwd, "stdout": str(out), "stderr": str(err), "timeout": TIMEOUT}
            self._proc.stdin.write(json.dumps(job) + "\n")
            self._proc.stdin.flush()
            returncode = json.loads(self._proc.stdout.readline())["returncode"]
            stderr = err.read_text(encoding="utf-8", errors="replace") if err.exists() else ""
            if returncode == -14:  # SIGALRM
                stderr += f"\n[timed out after {TIMEOUT}s]"
            stdout = out.read_text(encoding="utf-8", errors="replace") if out.exists() else ""
            return subprocess.CompletedProcess([str(script)], returncode, stdout, stderr)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=10)


@pytest.fixture(scope="module")
def docs_emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def example_results(
    request: pytest.FixtureRequest, docs_emulator: Emulator
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run every selected example once, in parallel."""
    selected = {
        item.callspec.params["example"].id
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_example" and hasattr(item, "callspec")
    }
    todo = [e for e in EXAMPLES if e.id in selected]
    env = example_env(docs_emulator)
    workers = max(2, min(8, (os.cpu_count() or 2) * 2))
    if not hasattr(os, "fork") or os.environ.get("LLMPLEX_DOCS_NO_FORK"):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return dict(pool.map(lambda e: (e.id, run_example(e, env, docs_emulator)), todo))
    servers: queue.Queue[ForkServer] = queue.Queue()
    started = [ForkServer(env) for _ in range(min(workers, max(1, len(todo))))]
    for server in started:
        servers.put(server)

    def run(example: Example) -> tuple[str, subprocess.CompletedProcess[str]]:
        server = servers.get()
        try:
            return example.id, server.run(example, docs_emulator)
        finally:
            servers.put(server)

    try:
        with ThreadPoolExecutor(max_workers=len(started)) as pool:
            return dict(pool.map(run, todo))
    finally:
        for server in started:
            server.close()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example(example: Example, example_results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = example_results[example.id]
    assert result.returncode == 0, (
        f"{example.id} exited with {result.returncode}\n--- code ---\n{example.code}"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


# -- the docs cover what they should -------------------------------------------------------------


def test_every_provider_has_a_page_with_a_runnable_example() -> None:
    tested_pages = {e.page for e in EXAMPLES}
    for name in builtin_specs():
        page = f"providers/{name}.md"
        assert (DOCS / page).is_file(), f"no docs/{page}"
        assert page in tested_pages, f"docs/{page} has no tested python example"


def test_every_provider_page_names_its_key_and_base_url_variables() -> None:
    for name, spec in builtin_specs().items():
        text = (DOCS / "providers" / f"{name}.md").read_text(encoding="utf-8")
        for variable in (*spec.api_key_env, *spec.base_url_env):
            assert variable in text, f"docs/providers/{name}.md does not mention ${variable}"
        if spec.name != "mock":
            assert f"LLMPLEX_{name.upper()}_BASE_URL" in text, f"{name}.md lacks LLMPLEX_{name.upper()}_BASE_URL"
        for param in spec.unsupported_params:
            assert f"`{param}`" in text, f"docs/providers/{name}.md does not list the rejected `{param}`"
        for option in spec.options:
            assert f"`{option}`" in text, f"docs/providers/{name}.md does not document the option `{option}`"


def test_index_links_every_page() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for path in doc_pages():
        page = path.relative_to(DOCS).as_posix()
        if page != "index.md":
            assert f"({page})" in index, f"docs/index.md does not link {page}"


def test_relative_links_resolve() -> None:
    link = re.compile(r"\]\((?!https?://|#|mailto:)([^)#\s]+)(?:#[^)]*)?\)")
    for path in doc_pages():
        for target in link.findall(path.read_text(encoding="utf-8")):
            assert (path.parent / target).exists(), f"{path.relative_to(DOCS)} links to missing {target}"


def test_the_parser_honours_the_markers(tmp_path: Path) -> None:
    page = tmp_path / "probe.md"
    page.write_text(
        "<!-- file: llmplex.yaml -->\n```yaml\nx: http://localhost:1234/v1\n```\n\n"
        "<!-- not-tested: needs a GPU -->\n```python\nraise SystemExit(1)\n```\n"
        "```python notest\nraise SystemExit(1)\n```\n- item\n\n  ```python\n  print('indented')\n  ```\n",
        encoding="utf-8",
    )
    blocks = parse_blocks(page, tmp_path)
    assert [(b.language, b.skip, b.file_name) for b in blocks] == [
        ("yaml", None, "llmplex.yaml"),
        ("python", "needs a GPU", None),
        ("python", "notest", None),
        ("python", None, None),
    ]
    assert blocks[3].code == "print('indented')\n"


@pytest.mark.parametrize("fork", [True, False], ids=["fork-server", "subprocess"])
def test_the_runner_reports_output_and_failures(fork: bool, docs_emulator: Emulator) -> None:
    if fork and not hasattr(os, "fork"):
        pytest.skip("no os.fork on this platform")
    cases = {
        "print('hi', __name__)\n": (0, "hi __main__"),
        "import sys\nprint('out')\nsys.exit(3)\n": (3, "out"),
        "raise ValueError('boom')\n": (1, ""),
        "import os\nprint(os.environ['GROQ_API_KEY'], open('llmplex.yaml').read())\n": (0, "dummy-groq"),
    }
    env = example_env(docs_emulator)
    server = ForkServer(env) if fork else None
    try:
        for code, (returncode, output) in cases.items():
            example = Example("probe.md", 1, code, (("llmplex.yaml", "base_url: http://localhost:1234/v1\n"),))
            result = server.run(example, docs_emulator) if server else run_example(example, env, docs_emulator)
            assert result.returncode == returncode, (code, result.stderr)
            assert output in result.stdout
            if "boom" in code:
                assert "ValueError: boom" in result.stderr
            if "llmplex.yaml" in code:
                assert docs_emulator.url + "/v1" in result.stdout
    finally:
        if server is not None:
            server.close()


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 40, [e.id for e in EXAMPLES]


# -- documented behaviour the library does not deliver yet ------------------------------------------


@pytest.fixture
def emu(docs_emulator: Emulator) -> Iterator[Emulator]:
    docs_emulator.reset(close_connections=True)
    yield docs_emulator
    docs_emulator.reset(close_connections=True)


_HI = [{"role": "user", "content": "2+2?"}]


def test_openrouter_reasoning_becomes_reasoning_content_and_stays_out_of_history(emu: Emulator) -> None:
    body = {
        "id": "gen-1", "object": "chat.completion", "created": 1, "model": "deepseek/deepseek-r1",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "4", "reasoning": "2 plus 2 is 4"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
    }
    chunks = [
        {"id": "gen-2", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "reasoning": "2 plus 2"}}]},
        {"id": "gen-2", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"content": "4"}, "finish_reason": "stop"}]},
    ]
    sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    emu.enqueue(Reply(body=body), Reply(body=sse, headers={"content-type": "text/event-stream"}))
    client = llmplex.Client(provider="openrouter", api_key="sk-or-test", base_url=emu.base_url)
    r = client.chat.completions.create(model="openrouter/deepseek/deepseek-r1", messages=_HI)
    streamed = client.chat.completions.create(model="openrouter/deepseek/deepseek-r1", messages=_HI, stream=True)
    final = streamed.get_final_completion()
    assert r.choices[0].message.reasoning_content == "2 plus 2 is 4"
    assert final.choices[0].message.reasoning_content == "2 plus 2"
    history = [*_HI, r.choices[0].message, {"role": "user", "content": "ok"}]
    client.chat.completions.create(model="openrouter/deepseek/deepseek-r1", messages=history)
    sent = emu.last_request.json()["messages"][1]
    assert sent["content"] == "4" and "reasoning_content" not in sent and "reasoning" not in sent


def test_deepseek_keeps_reasoning_content_in_history(emu: Emulator) -> None:
    emu.enqueue(Reply("4", reasoning="2 plus 2"))
    client = llmplex.Client(provider="deepseek", api_key="k", base_url=emu.base_url)
    r = client.chat.completions.create(model="deepseek/deepseek-reasoner", messages=_HI)
    assert r.choices[0].message.reasoning_content == "2 plus 2"
    client.chat.completions.create(
        model="deepseek/deepseek-reasoner", messages=[*_HI, r.choices[0].message, {"role": "user", "content": "ok"}]
    )
    assert emu.last_request.json()["messages"][1]["reasoning_content"] == "2 plus 2"


def test_azure_token_refreshed_through_the_runtime_layer(emu: Emulator) -> None:
    client = llmplex.Client(env={"AZURE_OPENAI_ENDPOINT": emu.url})
    try:
        for token in ("token-one-abcdefgh", "token-two-abcdefgh"):
            llmplex.config.set("azure.azure_ad_token", token)
            client.chat.completions.create(model="azure/gpt-4o-mini", messages=_HI)
            request = emu.last_request
            assert request.headers["authorization"] == f"Bearer {token}" and "api-key" not in request.headers
            assert request.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    finally:
        llmplex.config.unset("azure.azure_ad_token")


def test_n_equal_one_is_accepted_where_n_is_unsupported(emu: Emulator) -> None:
    for provider in ("deepseek", "groq", "perplexity"):
        client = llmplex.Client(provider=provider, api_key="k", base_url=emu.base_url)
        r = client.chat.completions.create(model=f"{provider}/m", messages=_HI, n=1)
        assert r.choices[0].message.content == "Echo: 2+2?"


def test_client_provider_wins_over_the_catalog_for_bare_names(emu: Emulator) -> None:
    client = llmplex.Client(provider="openai_compatible", base_url=emu.base_url)
    # LM Studio and llama.cpp ids often start like a cloud model's: mistral-…, gpt-oss-…
    r = client.chat.completions.create(model="mistral-7b-instruct-v0.3", messages=_HI)
    assert r.choices[0].message.content == "Echo: 2+2?"


def test_timeout_none_means_no_limit(emu: Emulator) -> None:
    emu.enqueue(Reply("late", fault=Fault(delay_before_headers=0.6)))
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url, timeout=0.2, max_retries=0)
    r = client.chat.completions.create(model="openai/gpt-4o", messages=_HI, timeout=None)
    assert r.choices[0].message.content == "late"
    unlimited = llmplex.Client(provider="openai", api_key="k", timeout=None)
    timeout = next(row for row in unlimited.describe_settings("openai") if row.name == "timeout")
    assert timeout.source == "constructor"


def test_timeout_none_workaround_is_a_tuple(emu: Emulator) -> None:
    emu.enqueue(Reply("late", fault=Fault(delay_before_headers=0.4)))
    client = llmplex.Client(provider="openai", api_key="k", base_url=emu.base_url, timeout=0.2, max_retries=0)
    r = client.chat.completions.create(model="openai/gpt-4o", messages=_HI, timeout=(None, None))
    assert r.choices[0].message.content == "late"


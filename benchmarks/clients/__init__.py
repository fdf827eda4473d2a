"""The registry of benchmarked clients: plain data, importable without any client library."""

from __future__ import annotations

from dataclasses import dataclass

ALL_OPS = ("chat", "stream", "embed")


@dataclass(frozen=True)
class ClientSpec:
    name: str  # what --only takes (a family prefix such as "llmplex" or "openai" matches all variants)
    label: str  # the report's row label
    module: str  # module under clients/
    factory: str  # create_async / create_sync / ...
    is_async: bool
    imports: str  # the module `import` time is measured for
    package: str  # the distribution whose version the report records
    api: str = "openai"  # which bodies it talks to: openai | anthropic
    ops: tuple[str, ...] = ALL_OPS


CLIENTS: list[ClientSpec] = [
    ClientSpec("aiohttp", "raw aiohttp (async floor)", "raw_aiohttp", "create_async", True, "aiohttp", "aiohttp"),
    ClientSpec("urllib3", "raw urllib3 (sync floor)", "raw_urllib3", "create_sync", False, "urllib3", "urllib3"),
    ClientSpec(
        "http.client", "raw http.client (sync floor)", "raw_httpclient", "create_sync", False, "http.client", ""
    ),
    ClientSpec("httpx-async", "raw httpx async", "raw_httpx", "create_async", True, "httpx", "httpx"),
    ClientSpec("httpx-sync", "raw httpx sync", "raw_httpx", "create_sync", False, "httpx", "httpx"),
    ClientSpec("openai-async", "openai SDK async", "sdk_openai", "create_async", True, "openai", "openai"),
    ClientSpec("openai-sync", "openai SDK sync", "sdk_openai", "create_sync", False, "openai", "openai"),
    ClientSpec(
        "anthropic-async",
        "anthropic SDK async",
        "sdk_anthropic",
        "create_async",
        True,
        "anthropic",
        "anthropic",
        api="anthropic",
        ops=("chat", "stream"),
    ),
    ClientSpec("litellm-async", "litellm async", "peer_litellm", "create_async", True, "litellm", "litellm"),
    ClientSpec("litellm-sync", "litellm sync", "peer_litellm", "create_sync", False, "litellm", "litellm"),
    ClientSpec(
        "anyllm-async", "any-llm (client reused)", "peer_anyllm", "create_async", True, "any_llm", "any-llm-sdk"
    ),
    ClientSpec(
        "aisuite-async",
        "aisuite async",
        "peer_aisuite",
        "create_async",
        True,
        "aisuite",
        "aisuite",
        ops=("chat", "stream"),
    ),
    ClientSpec("onellm-pooled", "onellm pooled", "peer_onellm", "create_pooled", True, "onellm", "onellm"),
    ClientSpec("onellm-default", "onellm default", "peer_onellm", "create_default", True, "onellm", "onellm"),
    ClientSpec("llmplex-async", "**llmplex async**", "llmplex_client", "create_async", True, "llmplex", "llmplex"),
    ClientSpec("llmplex-sync", "**llmplex sync**", "llmplex_client", "create_sync", False, "llmplex", "llmplex"),
    ClientSpec(
        "llmplex-preloaded-async", "llmplex async, after `llmplex.preload()`", "llmplex_preloaded", "create_async",
        True, "llmplex", "llmplex",
    ),
    ClientSpec(
        "llmplex-preloaded-sync", "llmplex sync, after `llmplex.preload()`", "llmplex_preloaded", "create_sync",
        False, "llmplex", "llmplex",
    ),
]

BY_NAME = {spec.name: spec for spec in CLIENTS}


def select(only: str | None) -> list[ClientSpec]:
    """Clients named by --only: exact names, or a family prefix ("llmplex" -> llmplex-async, llmplex-sync)."""
    if not only:
        return list(CLIENTS)
    wanted = [token.strip() for token in only.split(",") if token.strip()]
    unknown = [t for t in wanted if not any(s.name == t or s.name.startswith(t + "-") for s in CLIENTS)]
    if unknown:
        raise SystemExit(f"unknown client(s): {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    return [s for s in CLIENTS if any(s.name == t or s.name.startswith(t + "-") for t in wanted)]

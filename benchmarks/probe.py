"""Run in the peers venv by run.py: the installed versions and whether each client's module imports.

Prints one JSON object: {"python": ..., "versions": {dist: version}, "import_errors": {module: error}}.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import platform
import sys

DISTS = [
    "aiohttp", "urllib3", "httpx", "httpcore", "openai", "anthropic", "litellm", "any-llm-sdk",
    "aisuite", "onellm", "pydantic", "psutil", "llmplex",
]  # fmt: skip


def main() -> None:
    versions: dict[str, str | None] = {}
    for dist in DISTS:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    errors: dict[str, str] = {}
    for module in sys.argv[1:]:
        try:
            importlib.import_module(module)
        except Exception as exc:  # a module that fails to import is reported, not fatal
            errors[module] = f"{type(exc).__qualname__}: {exc}"[:300]
    print(json.dumps({"python": platform.python_version(), "versions": versions, "import_errors": errors}))


if __name__ == "__main__":
    main()

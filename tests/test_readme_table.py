"""The README's provider table says what each provider's capabilities say: a row per provider, and
no ✓ that the code does not back (nor a — where it does)."""

from __future__ import annotations

import re
from pathlib import Path

from llmplex.providers.base import Capabilities
from llmplex.registry import builtin_specs

README = Path(__file__).resolve().parent.parent / "README.md"
_ROW = re.compile(r"^\| \[[^\]]+\]\(docs/providers/(?P<name>\w+)\.md\)[^|]* \|(?P<cells>.*)\|$")
COLUMNS = ("chat", "stream", "tools", "vision", "embeddings", "text completions", "reasoning",
           "JSON mode", "JSON schema")


def _expected(caps: Capabilities) -> list[str]:
    def mark(flag: bool) -> str:
        return "✓" if flag else "—"

    return [mark(caps.chat), mark(caps.stream), mark(caps.tools), mark(caps.vision), mark(caps.embeddings),
            "native" if caps.completions else "via chat", mark(caps.reasoning), mark(caps.json_mode),
            mark(caps.json_schema)]


def _table() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("| provider | model string | key variable |"):
            assert [c.strip() for c in line.strip("|").split("|")][3:] == list(COLUMNS)
        if match := _ROW.match(line):
            rows[match["name"]] = [c.strip() for c in match["cells"].split("|")][2:]
    return rows


def test_every_provider_has_a_row_that_matches_its_capabilities() -> None:
    table = _table()
    specs = builtin_specs()
    assert sorted(table) == sorted(specs), "README provider table and registered providers differ"
    for name, cells in table.items():
        assert cells == _expected(specs[name].capabilities), f"README row of {name}"

"""The ``mock`` provider: for users' own tests. No network: requests are answered in-process by
the emulator's OpenAI renderer (``llmplex.testing``), through the same adapter and parsing code
as a real provider.

- ``model="mock/<anything>"`` echoes the last user message (``"Echo: …"``), streaming included;
- ``extra_body={"mock_response": "text"}`` scripts the reply;
- ``extra_body={"mock_error": {"status": 429, "message": "slow down"}}`` scripts an error.
"""

from __future__ import annotations

from .base import Capabilities, ProviderSpec

__all__ = ["MOCK_BASE_URL", "MOCK_SPEC"]

MOCK_BASE_URL = "mock://llmplex/v1"

MOCK_SPEC = ProviderSpec(
    name="mock",
    title="Mock (in-process, for tests)",
    adapter="llmplex.providers.openai:OpenAIAdapter",
    base_url=MOCK_BASE_URL,
    key_required=False,
    capabilities=Capabilities(completions=True, embeddings=True, vision=True, json_schema=True, reasoning=True),
)

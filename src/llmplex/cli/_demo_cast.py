"""The script of ``llmplex demo``: which providers appear, and what the emulator answers for each.

Pure data and `Reply` builders; no I/O and no rich. Token counts are estimated the way a reader
would (about four characters per token) so the usage figures look like a real provider's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmplex.testing import Fault, Reply, ToolCall
from llmplex.types.chat_params import ChatCompletionToolParam

__all__ = [
    "CAST",
    "CHAT_PROMPT",
    "DEFAULT_PROVIDERS",
    "EMBED_INPUT",
    "STREAM_PROMPT",
    "TOOLS_PROMPT",
    "WEATHER_TOOL",
    "Act",
    "auth_error",
    "chat_reply",
    "embed_reply",
    "rate_limit_error",
    "stream_reply",
    "tools_reply",
]

CHAT_PROMPT = "One tip for a good commit message?"
STREAM_PROMPT = "A haiku about tokens streaming in."
TOOLS_PROMPT = "Umbrella in Paris today?"
EMBED_INPUT = ["One API over every LLM provider."]
WEATHER_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
_TOOL_SCHEMA_TOKENS = 64  # what the tool definition above adds to the prompt
_CHUNK_DELAY = 0.025  # seconds between streamed words, so the stream is visible


@dataclass(frozen=True)
class Act:
    """One provider's part: its model string and what the emulator says as that model."""

    provider: str
    model: str
    tip: str
    haiku: str
    reasoning: str | None = None
    stream_reasoning: str | None = None
    tool_preamble: str | None = None
    embed_model: str | None = None
    embed_dims: int = 0
    template_tokens: int = 8
    """Tokens the provider's chat template adds around a message (they differ by tokenizer)."""


CAST: dict[str, Act] = {
    act.provider: act
    for act in (
        Act(
            "openai", "openai/gpt-4o-mini",
            tip='Write the subject in the imperative mood and keep it under 50 characters: '
                '"Fix race in cache eviction", not "Fixed some bugs".',
            haiku="Tokens fall like rain\neach word arrives on its own\nthe sentence takes shape",
            embed_model="openai/text-embedding-3-small", embed_dims=1536, template_tokens=7,
        ),
        Act(
            "anthropic", "anthropic/claude-sonnet-4-5",
            tip="Write the body for the reviewer six months from now: the constraint you hit and the "
                "alternative you rejected.",
            haiku="A native protocol\nevents, deltas, then a stop\nthe same chunks arrive",
            tool_preamble="Let me look up today's forecast for Paris.",
            template_tokens=10,
        ),
        Act(
            "groq", "groq/llama-3.3-70b-versatile",
            tip="Explain why the change was made, not just what changed: the diff already shows the what.",
            haiku="Fast as falling light\nthe model thinks out loud and\nwords race to the screen",
            template_tokens=11,
        ),
        Act(
            "mistral", "mistral/mistral-small-latest",
            tip="Separate a short summary line from the body with a blank line, and wrap the body at 72 columns.",
            haiku="The mistral wind blows\none syllable, then the next\na poem arrives",
            embed_model="mistral/mistral-embed", embed_dims=1024, template_tokens=6,
        ),
        Act(
            "deepseek", "deepseek/deepseek-reasoner",
            reasoning="The user wants a single practical tip. The habit with the biggest payoff is one logical "
                      "change per commit: the message becomes easy to write and the history easy to bisect.",
            tip="Keep each commit to one logical change; a precise message then almost writes itself.",
            stream_reasoning="Five, seven, five syllables. Theme: tokens arriving one at a time.",
            haiku="Thought before the word\nreasoning hums, then settles\ninto quiet verse",
            template_tokens=9,
        ),
        Act(
            "openrouter", "openrouter/anthropic/claude-3.5-sonnet",
            tip="Lead with the intent of the change, then use the body for context a future reader "
                "cannot recover from the code itself.",
            haiku="Packets cross the wire\nfragments gathering meaning\nthe last token lands",
            tool_preamble="I'll check the current weather in Paris for you.",
            template_tokens=12,
        ),
        Act(
            "together", "together/meta-llama/Llama-3.3-70B-Instruct-Turbo",
            tip="Reference the issue it resolves, so the reasoning behind the change is one click away.",
            haiku="Many hands, one voice\nthe llama speaks in pieces\nwhole by the last line",
            embed_model="together/BAAI/bge-large-en-v1.5", embed_dims=1024, template_tokens=11,
        ),
        Act(
            "fireworks", "fireworks/accounts/fireworks/models/llama-v3p1-70b-instruct",
            tip='Avoid vague messages like "updates": name the component and the behaviour you changed.',
            haiku="Sparks rise one by one\neach token a small ember\nthe whole sky glowing",
            embed_model="fireworks/nomic-ai/nomic-embed-text-v1.5", embed_dims=768, template_tokens=11,
        ),
        Act(
            "cerebras", "cerebras/llama-3.3-70b",
            tip="Start with a verb (Add, Fix, Remove, Refactor) so the log reads like a changelog.",
            haiku="Wafer-scale silence\nthen a flood of tokens pours\nfaster than you read",
            template_tokens=11,
        ),
        Act(
            "perplexity", "perplexity/sonar",
            tip="Follow a convention such as Conventional Commits (feat:, fix:, docs:) so tools can "
                "generate release notes.",
            haiku="Sources gather round\nthe answer forms, cited, clear\none word at a time",
            template_tokens=10,
        ),
        Act(
            "deepinfra", "deepinfra/meta-llama/Meta-Llama-3.1-70B-Instruct",
            tip="Mention any side effects or migrations in the body, so reviewers know what to watch for.",
            haiku="Deep in the server\nweights align and tokens flow\nsurfacing as text",
            embed_model="deepinfra/BAAI/bge-base-en-v1.5", embed_dims=768, template_tokens=11,
        ),
    )
}

DEFAULT_PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "groq", "mistral", "deepseek", "openrouter")


def _tokens(text: str | None) -> int:
    return max(1, round(len(text) / 4)) if text else 0


def _usage(act: Act, prompt: str, text: str | None, reasoning: str | None, extra_prompt: int = 0) -> dict[str, Any]:
    thinking = _tokens(reasoning)
    prompt_tokens = _tokens(prompt) + act.template_tokens + extra_prompt
    if act.provider == "anthropic":  # the emulator sends usage verbatim, in each protocol's own shape
        return {"input_tokens": prompt_tokens, "output_tokens": _tokens(text) + thinking,
                "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": _tokens(text) + thinking,
        "completion_tokens_details": {"reasoning_tokens": thinking},
    }


def chat_reply(act: Act) -> Reply:
    """The answer to `CHAT_PROMPT` (with reasoning text for reasoning models)."""
    return Reply(text=act.tip, reasoning=act.reasoning, usage=_usage(act, CHAT_PROMPT, act.tip, act.reasoning))


def stream_reply(act: Act, *, fast: bool) -> Reply:
    """The streamed answer to `STREAM_PROMPT`, one word per chunk, paced unless `fast`."""
    return Reply(
        text=act.haiku,
        reasoning=act.stream_reasoning,
        usage=_usage(act, STREAM_PROMPT, act.haiku, act.stream_reasoning),
        fault=None if fast else Fault(delay_between_chunks=_CHUNK_DELAY),
    )


def tools_reply(act: Act) -> Reply:
    """A call of `WEATHER_TOOL` in answer to `TOOLS_PROMPT`."""
    call = ToolCall("get_weather", {"city": "Paris", "unit": "celsius"})
    usage = _usage(act, TOOLS_PROMPT, (act.tool_preamble or "") + str(call.arguments), None, _TOOL_SCHEMA_TOKENS)
    return Reply(text=act.tool_preamble, tool_calls=[call], usage=usage)


def embed_reply(act: Act) -> Reply:
    """Unit vectors of the model's real dimension."""
    return Reply(embedding_dims=act.embed_dims or None)


def rate_limit_error(act: Act) -> Reply:
    """The 429 the provider sends when a per-minute limit is hit, with ``retry-after: 2``."""
    model_id = act.model.partition("/")[2]
    return Reply.error(
        429,
        f"Rate limit reached for {model_id} on requests per minute (RPM): Limit 30, Used 30, Requested 1. "
        "Please try again in 2s.",
        headers={"retry-after": "2"},
    )


def auth_error(act: Act) -> Reply:
    """The 401 the provider sends for a revoked key."""
    return Reply.error(401, f"Invalid API key. Check the key for {act.provider} and try again.")

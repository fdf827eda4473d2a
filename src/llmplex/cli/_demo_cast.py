"""The script of ``llmplex demo``: which providers appear, and what the emulator answers for each.

Pure data and `Reply` builders; no I/O and no rich. Token counts are estimated the way a reader
would (about four characters per token) so the usage figures look like a real provider's; each
provider's emulator protocol sends `Reply.usage` verbatim, so the counts are written in the usage
shape of the provider's own wire protocol (`USAGE_SHAPES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    "USAGE_SHAPES",
    "WEATHER_TOOL",
    "Act",
    "Tokens",
    "auth_error",
    "chat_reply",
    "chat_tokens",
    "embed_reply",
    "provider_settings",
    "rate_limit_error",
    "stream_reply",
    "stream_tokens",
    "tools_reply",
    "tools_tokens",
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
    wire: str = "openai"
    """The provider's wire protocol, which names its usage shape in `USAGE_SHAPES`."""
    settings: Mapping[str, Any] | None = field(default=None, hash=False)
    """The provider's settings besides ``base_url``, as for the real one; None: an API key. An empty
    value shadows the user's environment (``AWS_BEARER_TOKEN_BEDROCK`` would replace SigV4 signing by a
    bearer token, ``AWS_SESSION_TOKEN`` would be signed in, ``OLLAMA_API_KEY`` sent)."""
    url_path: str = "/v1"
    """Appended to the emulator's root URL to make ``base_url`` (the real base URL's path)."""
    unasked_stream_usage: bool = False
    """The provider streams usage without being asked (Mistral: llmplex sends no ``stream_options``).
    The emulator's OpenAI protocol sends it only when asked, so the scripted usage rides on the chunks."""


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
            template_tokens=10, wire="anthropic",
        ),
        Act(
            "gemini", "gemini/gemini-2.5-flash",
            reasoning="One tip, and the most useful one: the diff already records what changed, so the message "
                      "should carry what the diff cannot, the reason.",
            tip="Answer the question a future git blame reader will ask: why did this line change? "
                "Put that reason in the body.",
            stream_reasoning="Three lines, five-seven-five. Image: text arriving part by part.",
            haiku="Thoughts first, then the parts\ncandidates arrive in turn\nthe last chunk says STOP",
            embed_model="gemini/gemini-embedding-001", embed_dims=3072, template_tokens=4, wire="gemini",
            settings={"api_key": "sk-demo-gemini", "include_thoughts": True},
        ),
        Act(
            "bedrock", "bedrock/amazon.nova-pro-v1:0",
            tip="Make the subject line complete the sentence \"If applied, this commit will …\", "
                "e.g. \"Retry uploads on throttling\".",
            haiku="Signed at the border\nevent-stream frames, checksummed, pass\nwords cross, one by one",
            tool_preamble="I'll check today's weather in Paris with the get_weather tool.",
            embed_model="bedrock/amazon.titan-embed-text-v2:0", embed_dims=1024, template_tokens=5, wire="bedrock",
            settings={"aws_access_key_id": "AKIAEMULATORDEMO0000", "region": "us-east-1",
                      "aws_secret_access_key": "demo/Emulator+Secret/Access/Key0123456789",
                      "api_key": "", "aws_session_token": ""},
        ),
        Act(
            "cohere", "cohere/command-a-03-2025",
            tip="Keep the subject to one line that summarises the change, and let the body say why it was needed.",
            haiku="Command, then reply\ncontent deltas, one by one\nmessage-end arrives",
            tool_preamble="I will look up the current weather in Paris.",
            embed_model="cohere/embed-v4.0", embed_dims=1536, template_tokens=12, wire="cohere",
        ),
        Act(
            "ollama", "ollama/llama3.2",
            tip="Commit early and often on your branch, then squash into commits that each tell one clear story.",
            haiku="Weights on my own disk\nno key, no cloud, just a port\nthe llama answers",
            embed_model="ollama/nomic-embed-text", embed_dims=768, template_tokens=26, wire="ollama",
            settings={"api_key": ""}, url_path="",
        ),
        Act(
            "huggingface", "huggingface/meta-llama/Llama-3.3-70B-Instruct",
            tip="Use the body to list what you tested, so a reviewer knows what was verified and what was not.",
            haiku="Routed through the hub\none of many providers\nanswers, word by word",
            embed_model="huggingface/sentence-transformers/all-MiniLM-L6-v2", embed_dims=384, template_tokens=11,
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
            embed_model="mistral/mistral-embed", embed_dims=1024, template_tokens=6, unasked_stream_usage=True,
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

DEFAULT_PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "gemini", "bedrock", "cohere", "groq")


def provider_settings(act: Act, emulator_url: str) -> dict[str, Any]:
    """`act`'s provider settings: its own kind of credentials, and the emulator (its root URL,
    ``http://127.0.0.1:PORT``) as base URL."""
    settings = {"api_key": f"sk-demo-{act.provider}"} if act.settings is None else dict(act.settings)
    return {**settings, "base_url": emulator_url + act.url_path}


# -- usage, in each wire protocol's own shape ----------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """What one call costs: prompt tokens (the chat template included), output tokens (thinking
    included) and the thinking among them. The OpenAI-shaped usage the demo shows is these counts."""

    prompt: int
    output: int
    thinking: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.output


def _openai_usage(t: Tokens, act: Act) -> dict[str, Any]:
    return {"prompt_tokens": t.prompt, "completion_tokens": t.output, "total_tokens": t.total,
            "completion_tokens_details": {"reasoning_tokens": t.thinking}}


def _anthropic_usage(t: Tokens, act: Act) -> dict[str, Any]:
    return {"input_tokens": t.prompt, "output_tokens": t.output,
            "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}


def _gemini_usage(t: Tokens, act: Act) -> dict[str, Any]:
    """``candidatesTokenCount`` leaves the thoughts out; they are ``thoughtsTokenCount``."""
    usage = {"promptTokenCount": t.prompt, "candidatesTokenCount": t.output - t.thinking,
             "totalTokenCount": t.total}
    return {**usage, "thoughtsTokenCount": t.thinking} if t.thinking else usage


def _bedrock_usage(t: Tokens, act: Act) -> dict[str, Any]:
    return {"inputTokens": t.prompt, "outputTokens": t.output, "totalTokens": t.total}


def _cohere_usage(t: Tokens, act: Act) -> dict[str, Any]:
    """``tokens`` counts what the model processed; ``billed_units`` leaves the chat template out."""
    return {"billed_units": {"input_tokens": t.prompt - act.template_tokens, "output_tokens": t.output},
            "tokens": {"input_tokens": t.prompt, "output_tokens": t.output}}


def _ollama_usage(t: Tokens, act: Act) -> dict[str, Any]:
    return {"prompt_eval_count": t.prompt, "eval_count": t.output}


USAGE_SHAPES: dict[str, Callable[[Tokens, Act], dict[str, Any]]] = {
    "openai": _openai_usage,
    "anthropic": _anthropic_usage,
    "gemini": _gemini_usage,
    "bedrock": _bedrock_usage,
    "cohere": _cohere_usage,
    "ollama": _ollama_usage,
}
"""`Reply.usage` for each wire protocol (`Act.wire`), from the neutral counts."""


def _tokens(text: str | None) -> int:
    return max(1, round(len(text) / 4)) if text else 0


def _count(act: Act, prompt: str, text: str | None, reasoning: str | None, extra_prompt: int = 0) -> Tokens:
    thinking = _tokens(reasoning)
    return Tokens(_tokens(prompt) + act.template_tokens + extra_prompt, _tokens(text) + thinking, thinking)


def _usage(act: Act, tokens: Tokens) -> dict[str, Any]:
    return USAGE_SHAPES[act.wire](tokens, act)


_CALL = ToolCall("get_weather", {"city": "Paris", "unit": "celsius"})


def chat_tokens(act: Act) -> Tokens:
    """What the chat call costs."""
    return _count(act, CHAT_PROMPT, act.tip, act.reasoning)


def stream_tokens(act: Act) -> Tokens:
    """What the streamed call costs."""
    return _count(act, STREAM_PROMPT, act.haiku, act.stream_reasoning)


def tools_tokens(act: Act) -> Tokens:
    """What the tool call costs (the tool definition counts as prompt)."""
    return _count(act, TOOLS_PROMPT, (act.tool_preamble or "") + str(_CALL.arguments), None, _TOOL_SCHEMA_TOKENS)


def chat_reply(act: Act) -> Reply:
    """The answer to `CHAT_PROMPT` (with reasoning text for reasoning models)."""
    return Reply(text=act.tip, reasoning=act.reasoning, usage=_usage(act, chat_tokens(act)))


def stream_reply(act: Act, *, fast: bool) -> Reply:
    """The streamed answer to `STREAM_PROMPT`, one word per chunk, paced unless `fast`."""
    usage = _usage(act, stream_tokens(act))
    return Reply(
        text=act.haiku,
        reasoning=act.stream_reasoning,
        usage=usage,
        extra={"usage": usage} if act.unasked_stream_usage else {},
        fault=None if fast else Fault(delay_between_chunks=_CHUNK_DELAY),
    )


def tools_reply(act: Act) -> Reply:
    """A call of `WEATHER_TOOL` in answer to `TOOLS_PROMPT`."""
    return Reply(text=act.tool_preamble, tool_calls=[_CALL], usage=_usage(act, tools_tokens(act)))


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

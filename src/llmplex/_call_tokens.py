"""The tokens of one chat call, counted at most once and only when something asks: the client-side
rate limiter (tokens per minute), the context-window check before sending, and the usage of a
response that came without one.

**Context-window check.** Before the first attempt of each model of a call (a fallback's too),
when ``context_check`` is on (the default) and the catalog knows the model's context window, the
prompt must fit with the output asked for (``max_completion_tokens`` / ``max_tokens``, when
given): ``prompt + max_tokens <= context_window``. Otherwise
:class:`~llmplex.ContextWindowExceededError` is raised before any byte is sent, with the counts,
and a call with fallbacks moves on to a model with a larger window, as after the provider's 400.

- An **exact** count (``llmplex.count_tokens`` for OpenAI models with ``llmplex[tokens]``)
  refuses exactly: one token over is refused.
- An **estimate** refuses only when it is clearly over: when ``SAFETY_MARGIN`` (90 %) of it
  does not fit. Estimates run low on code and non-Latin text and high on plain English; a
  request that might fit is left to the provider to judge.
- Most prompts are not counted at all: :func:`~llmplex.catalog.tokens.upper_bound` (UTF-8 bytes
  plus framing, a few µs, no encoding to load) is never below either count, so a prompt whose
  bound fits is sent at once with the same decision.

**Usage estimate.** A response without usage (a host that ignores ``stream_options``, a stream
without ``include_usage``, a protocol that reports none) gets one counted here, flagged
``usage.estimated``: the prompt as above, the reply's text, refusal, reasoning and tool calls
(name and arguments) with :func:`~llmplex.catalog.tokens.count_text`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._requests import ChatRequest
from .catalog.tokens import SAFETY_MARGIN, TokenCount, count_text, count_tokens, upper_bound
from .errors import ContextWindowExceededError
from .types.usage import CompletionTokensDetails, CompletionUsage

__all__ = ["PromptTokens", "TextTokens"]

_UNKNOWN: Any = object()


class _ModelTokens:
    """What every call's token counter knows: the model, and its context window from the catalog
    (``catalog()`` gives the client's overrides, read only when the window is looked up)."""

    __slots__ = ("_count", "_window", "catalog", "model", "provider")

    def __init__(self, provider: str, model: str, catalog: Callable[[], Mapping[str, Any]]) -> None:
        self.provider = provider
        self.model = model
        self.catalog = catalog
        self._count: TokenCount | None = None
        self._window: Any = _UNKNOWN

    @property
    def key(self) -> str:
        """``provider/model``, as ``count_tokens`` takes it."""
        return f"{self.provider}/{self.model}"

    def window(self) -> int | None:
        """The model's context window from the catalog (the client's entries first), or ``None``."""
        if self._window is _UNKNOWN:
            from .catalog import model_info

            info = model_info(self.provider, self.model, self.catalog())  # every layer, the runtime one too
            self._window = info.context_window if info is not None else None
        return self._window  # type: ignore[no-any-return]


class PromptTokens(_ModelTokens):
    """The prompt of one chat call to one model."""

    __slots__ = ("request",)

    def __init__(self, provider: str, model: str, request: ChatRequest,
                 catalog: Callable[[], Mapping[str, Any]]) -> None:
        super().__init__(provider, model, catalog)
        self.request = request

    def messages(self) -> list[Mapping[str, Any]]:
        """The request's messages as dicts (read when asked: image inlining may replace them)."""
        return [m if type(m) is dict or isinstance(m, Mapping) else m.model_dump(exclude_none=True)
                for m in self.request.messages]

    def tools(self) -> Sequence[Mapping[str, Any]] | None:
        tools = self.request.params.get("tools")
        return tools if isinstance(tools, (list, tuple)) and tools else None

    def count(self) -> TokenCount:
        """``llmplex.count_tokens`` of the messages and tools, made once."""
        if self._count is None:
            self._count = count_tokens(self.key, self.messages(), self.tools())
        return self._count

    def tokens(self) -> int:
        """The counted prompt tokens (what the rate limiter charges)."""
        return self.count().tokens

    def max_tokens(self) -> int | None:
        """The output asked for: ``max_completion_tokens``, else ``max_tokens``, else ``None``."""
        params = self.request.params
        value = params.get("max_completion_tokens", params.get("max_tokens"))
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def check(self) -> None:
        """Raise :class:`~llmplex.ContextWindowExceededError` when the prompt cannot fit the
        model's context window (see the module docstring for the rule)."""
        window = self.window()
        if window is None:
            return
        out = self.max_tokens()
        room = window - (out or 0)
        if upper_bound(self.messages(), self.tools()) <= room:
            return
        count = self.count()
        if (count.tokens if count.exact else count.tokens * SAFETY_MARGIN) <= room:
            return
        how = f"exactly ({count.method})" if count.exact else "by estimate (at least 90 % of it would not fit)"
        asked = f" + max_tokens={out:,}" if out else ""
        error = ContextWindowExceededError(
            f"the prompt is {count.tokens:,} tokens, counted {how}{asked}, over the {window:,}-token context "
            f"window of {self.key}; nothing was sent: shorten the messages, lower max_tokens, pick a model with "
            f"a larger window (model=[...] falls back to one), or pass context_check=False to send it anyway",
            provider=self.provider, model=self.model, code="context_length_exceeded",
            prompt_tokens=count.tokens, context_window=window, max_tokens=out, exact=count.exact,
        )
        object.__setattr__(error, "status_code", None)  # not a provider's 400 (typed int there): nothing was sent
        raise error

    def usage(self, result: Any) -> CompletionUsage:
        """The estimated usage of ``result`` (a ``ChatCompletion`` that came without one)."""
        texts: list[str] = []
        reasoning: list[str] = []
        for choice in getattr(result, "choices", None) or ():
            message = choice.message
            texts += [t for t in (message.content, message.refusal) if t]
            texts += [f"{c.function.name}{c.function.arguments}" for c in message.tool_calls or ()
                      if getattr(c, "function", None) is not None]
            if message.reasoning_content:
                reasoning.append(message.reasoning_content)
        prompt = self.tokens()
        thought = count_text(self.key, reasoning).tokens if reasoning else 0
        completion = count_text(self.key, texts).tokens + thought
        return CompletionUsage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
            completion_tokens_details=CompletionTokensDetails(reasoning_tokens=thought) if thought else None,
            estimated=True,
        )


class TextTokens(_ModelTokens):
    """The input of a legacy text completion or an embeddings call: a string, strings, or token id
    lists (counted as their length). Counted once, for the token rate limiter and for the usage of
    a response that came without one; no context-window check (the chat endpoints have it)."""

    __slots__ = ("inputs",)

    def __init__(self, provider: str, model: str, inputs: Any, catalog: Callable[[], Mapping[str, Any]]) -> None:
        super().__init__(provider, model, catalog)
        self.inputs = inputs

    def tokens(self) -> int:
        """The input's tokens (:func:`~llmplex.catalog.tokens.count_text`; token ids as given)."""
        if self._count is None:
            items = [self.inputs] if isinstance(self.inputs, str) or not isinstance(self.inputs, Sequence) \
                else list(self.inputs)
            if items and all(isinstance(i, int) for i in items):
                items = [items]  # one prompt given as token ids
            ids = sum(len(i) for i in items if isinstance(i, Sequence) and not isinstance(i, str))
            texts = [i if isinstance(i, str) else str(i) for i in items if isinstance(i, str) or not isinstance(
                i, Sequence)]
            counted = count_text(self.key, texts)
            self._count = TokenCount(counted.tokens + ids, counted.exact, counted.method)
        return self._count.tokens

    def check(self) -> None:
        """Nothing to check before sending (see the class docstring)."""

    def usage(self, result: Any) -> Any:
        """The estimated usage of ``result`` (a ``Completion`` or ``CreateEmbeddingResponse`` that
        came without one), flagged ``estimated``."""
        prompt = self.tokens()
        choices = getattr(result, "choices", None)
        if choices is None:  # embeddings: input only
            from .types.embedding import EmbeddingUsage

            return EmbeddingUsage(prompt_tokens=prompt, total_tokens=prompt, estimated=True)
        completion = count_text(self.key, [c.text for c in choices if c.text]).tokens
        return CompletionUsage(prompt_tokens=prompt, completion_tokens=completion,
                               total_tokens=prompt + completion, estimated=True)

"""``Conversation`` and ``AsyncConversation``: one thread's history, sent through a client.

The two are twins over one pure core (:class:`_Thread`): it turns "send this" into a
:class:`_Plan` — the request's messages for the target provider (:func:`history_for`), trimmed by
the context strategy when the estimate exceeds the budget — and commits the reply. The drivers only
call the model: once for a summary when the plan needs one, once for the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from ..catalog import model_limits
from ..catalog.tokens import REPLY_OVERHEAD, SAFETY_MARGIN, estimate_message_tokens
from ..errors import InvalidRequestError
from .history import Entry, history_for
from .stores import ConversationStore, open_store
from .window import ContextStrategy, DropOldest, Fit, SummaryRequest

if TYPE_CHECKING:
    from ..client import AsyncClient, Client
    from ..registry import Route
    from ..types.chat import ChatCompletion, ChatCompletionChunk

__all__ = ["AsyncConversation", "Conversation"]

DEFAULT_RESERVE = 4096
"""Tokens kept free for the reply when the call sets no ``max_tokens`` / ``max_completion_tokens``."""

_DROP_OLDEST = DropOldest()


@dataclass
class _Plan:
    """One send, decided: where it goes and what history it carries."""

    model: str
    provider: str
    model_id: str
    entries: list[Entry]
    """The history to send (the new message included), trimmed if the strategy had to."""
    new: list[Entry]
    """Entries not stored yet (the new message)."""
    fit: Fit | None = None
    accepts_reasoning: bool = False
    replaced: bool = False


def _as_message(message: Any, role: str = "user") -> dict[str, Any]:
    if isinstance(message, str):
        return {"role": role, "content": message}
    if isinstance(message, Mapping):
        return dict(message)
    to_param = getattr(message, "to_param", None)
    if callable(to_param):
        param: dict[str, Any] = to_param()
        return param
    raise InvalidRequestError(f"a message is a str, a dict or a ChatCompletionMessage, not {type(message).__name__}")


class _Thread:
    """The state and pure decisions both conversation classes share."""

    def __init__(
        self,
        *,
        model: str | None = None,
        system: str | None = None,
        messages: Sequence[Any] = (),
        strategy: ContextStrategy | None = _DROP_OLDEST,
        context_window: int | None = None,
        reserve_tokens: int = DEFAULT_RESERVE,
        store: ConversationStore | str | Path | None = None,
        id: str | None = None,
    ) -> None:
        self.model = model
        self.strategy = strategy
        self.context_window = context_window
        self.reserve_tokens = reserve_tokens
        self.id = id or uuid4().hex
        self.store = open_store(store)
        self._entries = self.store.load(self.id)
        if not self._entries:
            initial = [Entry({"role": "system", "content": system})] if system else []
            initial += [Entry(_as_message(m)) for m in messages]
            self._append(initial)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r} messages={len(self._entries)} model={self.model!r}>"

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history as stored (copies): every message with every provider extra it came with."""
        return [dict(e.message) for e in self._entries]

    @property
    def entries(self) -> list[Entry]:
        """The history with who wrote each reply (provider, model)."""
        return list(self._entries)

    def add(self, *messages: Any, provider: str | None = None, model: str | None = None) -> None:
        """Append messages without sending: tool results, an assistant tool-call message, a turn
        from elsewhere. A ``ChatCompletionMessage`` is added as its ``to_param()``; name the
        ``provider`` that wrote a reply so its extras go back to it alone.

        >>> conv.add({"role": "tool", "tool_call_id": call.id, "content": "sunny"})  # doctest: +SKIP
        """
        self._append([Entry(_as_message(m), provider, model) for m in messages])

    def history_for(self, provider: str, *, accepts_reasoning_content: bool = False) -> list[dict[str, Any]]:
        """The messages this conversation would send to ``provider`` (see :func:`history_for`)."""
        return history_for(self._entries, provider, accepts_reasoning_content=accepts_reasoning_content)

    def clear(self) -> None:
        """Forget every message (in the store too)."""
        self.store.delete(self.id)
        self._entries = []

    def close(self) -> None:
        """Close the store's connection."""
        self.store.close()

    # -- the pure core ------------------------------------------------------------------------------

    def _append(self, entries: list[Entry]) -> None:
        if entries:
            self.store.append(self.id, entries)
            self._entries += entries

    def _window(self, route: Route) -> int | None:
        if self.context_window is not None:
            return self.context_window
        limits = model_limits(route.spec.name, route.model)
        return limits.context_window if limits else None

    def _plan(self, route: Route, model: str, message: Any, kwargs: Mapping[str, Any]) -> _Plan:
        """Decide one send: the new message, the history for the provider, and the trimming."""
        for key in ("messages", "stream"):
            if kwargs.get(key):
                raise InvalidRequestError(
                    f"Conversation.send() takes no {key}=: the conversation is the history "
                    f"(use conv.add(...) to add messages, conv.stream(...) to stream a turn)"
                )
        new = [] if message is None else [Entry(_as_message(message))]
        plan = _Plan(model, route.provider, route.model, [*self._entries, *new], new,
                     accepts_reasoning=route.spec.accepts_reasoning_content)
        window = self._window(route)
        if window is None or self.strategy is None:
            return plan
        reserve = kwargs.get("max_completion_tokens") or kwargs.get("max_tokens") or self.reserve_tokens
        budget = int(window * SAFETY_MARGIN) - int(reserve) - REPLY_OVERHEAD
        messages = self._messages(plan)
        sizes = [estimate_message_tokens(m) for m in messages]
        if sum(sizes) > budget:
            plan.fit = self.strategy.fit(messages, sizes, budget)
        return plan

    def _messages(self, plan: _Plan) -> list[dict[str, Any]]:
        return history_for(plan.entries, plan.provider, accepts_reasoning_content=plan.accepts_reasoning)

    def _summary_call(self, plan: _Plan) -> dict[str, Any] | None:
        """The ``chat.completions.create`` arguments of the summary the plan needs, if any."""
        request = plan.fit.summary if plan.fit else None
        if request is None:
            return None
        return {"model": request.model or plan.model, "messages": request.messages, "max_tokens": request.max_tokens}

    def _apply_fit(self, plan: _Plan, summary: str | None) -> list[dict[str, Any]]:
        """The plan's trimming applied to its entries; returns the messages to send."""
        fit = plan.fit
        if fit is not None:
            first = fit.summarize[0] if fit.summarize else None
            keep = set(fit.keep)
            kept: list[Entry] = []
            for i, entry in enumerate(plan.entries):
                if i == first and summary is not None:
                    kept.append(Entry(SummaryRequest.message(summary)))
                if i in keep:
                    kept.append(entry)
            plan.entries = kept
            plan.replaced = True
        return self._messages(plan)

    def _commit(self, plan: _Plan, completion: ChatCompletion) -> None:
        reply = Entry(completion.choices[0].message.to_param(), plan.provider, plan.model_id)
        if plan.replaced:
            self.store.replace(self.id, [*plan.entries, reply])
        else:
            self.store.append(self.id, [*plan.new, reply])
        self._entries = [*plan.entries, reply]

    def _model(self, model: str | None) -> str:
        chosen = model or self.model
        if not chosen:
            raise InvalidRequestError("no model: pass model= to send() or to the conversation")
        return chosen


class Conversation(_Thread):
    """One conversation thread, sent through a :class:`~llmplex.Client`; each reply is appended.

    >>> conv = llmplex.Conversation(client, model="anthropic/claude-sonnet-4-5", system="Be brief.")
    >>> r = conv.send("What is the capital of France?")  # doctest: +SKIP
    >>> r = conv.send("And of Italy?", model="gemini/gemini-2.5-flash")  # doctest: +SKIP

    ``client``: defaults to a new ``llmplex.Client()``. ``model``: the default for :meth:`send`.
    ``system``, ``messages``: the opening history (used when the store has none for ``id``).
    ``strategy``: what to do when the history would not fit the context window — :class:`DropOldest`
    (default), :class:`Summarize`, or ``None`` to send as is. ``context_window``: tokens, overriding
    the catalog (unknown models are never trimmed unless set). ``reserve_tokens``: room kept for the
    reply when a call sets no ``max_tokens``. ``store``: a :class:`ConversationStore`, a SQLite path,
    or a ``postgresql://`` URL (default: memory); ``id``: the conversation's key there.
    """

    def __init__(self, client: Client | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if client is None:
            from ..client import Client

            client = Client()
        self.client = client

    def send(self, message: Any = None, *, model: str | None = None, **kwargs: Any) -> ChatCompletion:
        """Append ``message`` (text, a message dict, or none after tool results), send the history
        to ``model`` and append the reply; returns the ``ChatCompletion``. Any
        ``chat.completions.create`` keyword (``tools``, ``temperature`` …) passes through."""
        chosen, plan, messages = self._prepare(message, model, kwargs)
        completion: ChatCompletion = self.client.chat.completions.create(model=chosen, messages=messages, **kwargs)
        self._commit(plan, completion)
        return completion

    def stream(self, message: Any = None, *, model: str | None = None, **kwargs: Any) -> Iterator[ChatCompletionChunk]:
        """Like :meth:`send`, streamed: yields the chunks; when the stream completes, the message and
        the whole reply are appended (a stream that fails or is left early appends nothing).

        >>> for chunk in conv.stream("Tell me more"):  # doctest: +SKIP
        ...     print(chunk.choices[0].delta.content or "", end="")
        """
        chosen, plan, messages = self._prepare(message, model, kwargs)
        with self.client.chat.completions.create(model=chosen, messages=messages, stream=True, **kwargs) as chunks:
            yield from chunks
            completion = chunks.get_final_completion()
        self._commit(plan, completion)

    def _prepare(self, message: Any, model: str | None, kwargs: Mapping[str, Any]) -> tuple[str, _Plan, list[Any]]:
        """The model, the plan and the messages to send (running the summary call a plan needs)."""
        chosen = self._model(model)
        plan = self._plan(self.client._calls.route(chosen), chosen, message, kwargs)
        call = self._summary_call(plan)
        summary = None
        if call is not None:
            summary = self.client.chat.completions.create(**call).choices[0].message.content or ""
        return chosen, plan, self._apply_fit(plan, summary)  # plain dicts, as the TypedDicts describe

    def __enter__(self) -> Conversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncConversation(_Thread):
    """The async twin of :class:`Conversation`: ``await conv.send(...)`` through an
    :class:`~llmplex.AsyncClient` (the store is called directly: SQLite and in-memory calls are
    local and short)."""

    def __init__(self, client: AsyncClient | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if client is None:
            from ..client import AsyncClient

            client = AsyncClient()
        self.client = client

    async def send(self, message: Any = None, *, model: str | None = None, **kwargs: Any) -> ChatCompletion:
        """See :meth:`Conversation.send`."""
        chosen, plan, messages = await self._prepare(message, model, kwargs)
        completion: ChatCompletion = await self.client.chat.completions.create(
            model=chosen, messages=messages, **kwargs)
        self._commit(plan, completion)
        return completion

    async def stream(
        self, message: Any = None, *, model: str | None = None, **kwargs: Any
    ) -> AsyncIterator[ChatCompletionChunk]:
        """See :meth:`Conversation.stream`: ``async for chunk in conv.stream(...)``."""
        chosen, plan, messages = await self._prepare(message, model, kwargs)
        chunks = await self.client.chat.completions.create(model=chosen, messages=messages, stream=True, **kwargs)
        async with chunks:
            async for chunk in chunks:
                yield chunk
            completion = await chunks.get_final_completion()
        self._commit(plan, completion)

    async def _prepare(
        self, message: Any, model: str | None, kwargs: Mapping[str, Any]
    ) -> tuple[str, _Plan, list[Any]]:
        """See :meth:`Conversation._prepare`."""
        chosen = self._model(model)
        plan = self._plan(self.client._calls.route(chosen), chosen, message, kwargs)
        call = self._summary_call(plan)
        summary = None
        if call is not None:
            summary = (await self.client.chat.completions.create(**call)).choices[0].message.content or ""
        return chosen, plan, self._apply_fit(plan, summary)

    async def __aenter__(self) -> AsyncConversation:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

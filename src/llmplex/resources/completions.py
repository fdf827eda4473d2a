"""``client.completions``: legacy text completions, sync and async."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

from typing_extensions import Unpack

from .._pipeline import run_async, run_stream_async, run_stream_sync, run_sync
from ..streaming import AsyncStream, Stream
from ..types.completion import Completion
from ..types.completion_params import CompletionCreateParams

if TYPE_CHECKING:
    from ..client import AsyncClient, Client

__all__ = ["AsyncCompletions", "Completions"]


class Completions:
    """``client.completions``: the provider's ``/completions`` endpoint where it has one,
    otherwise the prompt goes through chat as one user message."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    def create(self, *, stream: Literal[False] = False, **params: Unpack[CompletionCreateParams]) -> Completion: ...
    @overload
    def create(self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]) -> Stream[Completion]: ...
    @overload
    def create(
        self, *, stream: bool, **params: Unpack[CompletionCreateParams]
    ) -> Completion | Stream[Completion]: ...

    def create(self, *, stream: bool = False, **params: Any) -> Completion | Stream[Completion]:
        """Create a text completion.

        >>> client.completions.create(model="openai/gpt-3.5-turbo-instruct", prompt="Say hi")  # doctest: +SKIP
        """
        call = self._client._calls.completion(params, bool(stream))
        if stream:
            return run_stream_sync(call, self._client._transport)
        result: Completion = run_sync(call, self._client._transport)
        return result


class AsyncCompletions:
    """``async_client.completions``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    @overload
    async def create(
        self, *, stream: Literal[False] = False, **params: Unpack[CompletionCreateParams]
    ) -> Completion: ...
    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> AsyncStream[Completion]: ...
    @overload
    async def create(
        self, *, stream: bool, **params: Unpack[CompletionCreateParams]
    ) -> Completion | AsyncStream[Completion]: ...

    async def create(self, *, stream: bool = False, **params: Any) -> Completion | AsyncStream[Completion]:
        """Async twin of :meth:`Completions.create`."""
        call = self._client._calls.completion(params, bool(stream))
        if stream:
            return await run_stream_async(call, self._client._transport)
        result: Completion = await run_async(call, self._client._transport)
        return result

"""The one error tree of llmplex. Every public call raises only these.

::

    LLMError                              provider, model, status_code, request_id, message
    ├── ConfigurationError                 settings are missing or wrong (unknown provider, no key …)
    ├── InvalidRequestError                bad input caught before anything was sent
    │   ├── UnsupportedParameterError      the provider cannot honour a parameter
    │   ├── MediaFetchError                an image URL could not be downloaded to inline it
    │   └── SchemaError                    a tool or response schema cannot be built or expressed
    ├── APIConnectionError                 the network failed (refused, reset, TLS, truncated body)
    │   ├── APITimeoutError                connect / read / first-token / idle timeout
    │   │   └── DeadlineExceededError      the call's overall deadline passed (retries, fallbacks)
    │   └── StreamInterruptedError         a stream ended without its terminal event (.partial_text)
    ├── InvalidResponseError               the provider sent something we cannot parse
    │   └── StreamParseError               … inside a stream (.event_index)
    ├── APIStatusError                     the provider answered with an error status or event
    │   ├── BadRequestError                400 / 422
    │   │   ├── ContextWindowExceededError the prompt does not fit the model
    │   │   └── ContentFilterError         the provider's safety system refused
    │   ├── AuthenticationError            401
    │   ├── PermissionDeniedError          403
    │   ├── NotFoundError                  404
    │   ├── ConflictError                  409
    │   ├── RateLimitError                 429 (.retry_after)
    │   │   └── QuotaExceededError         quota / spend limit reached: waiting will not help
    │   └── InternalServerError            >= 500
    │       └── ServiceUnavailableError    503
    │           └── OverloadedError        529 / "overloaded"
    ├── CircuitOpenError                   a circuit breaker is open for the deployment
    ├── BudgetExceededError                a spend budget would be exceeded
    ├── StructuredOutputError              the reply does not validate against the schema
    │   └── ToolArgumentsError             a tool call's arguments are not JSON or do not validate
    ├── ToolExecutionError                 a tool run by run_tools raised (on_tool_error="raise")
    └── MaxTurnsExceededError              run_tools reached max_turns with the model still calling tools

Errors are mapped from the HTTP status and the JSON body, never from message text. Messages are
redacted: no credential appears in ``str``, ``repr``, ``args`` or a pickle of any of these.
"""

from __future__ import annotations

from typing import Any

from ._redact import redact

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "CircuitOpenError",
    "ConfigurationError",
    "ConflictError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "DeadlineExceededError",
    "InternalServerError",
    "InvalidRequestError",
    "InvalidResponseError",
    "LLMError",
    "MaxTurnsExceededError",
    "MediaFetchError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "SchemaError",
    "ServiceUnavailableError",
    "StreamInterruptedError",
    "StreamParseError",
    "StructuredOutputError",
    "ToolArgumentsError",
    "ToolExecutionError",
    "UnsupportedParameterError",
    "status_error_class",
]


class LLMError(Exception):
    """Base of every llmplex error.

    Attributes: ``message`` (redacted), ``provider``, ``model``, ``status_code`` (HTTP status or
    ``None``), ``request_id`` (the provider's, when it sent one), ``code`` / ``type`` / ``param``
    from the provider's error body, and ``retry_after`` (seconds, when the provider said).
    """

    status_code: int | None = None
    attempts: tuple[LLMError, ...] = ()
    """When a call with fallbacks (or a deadline) failed: the final error of every model tried,
    in order (this one last); each one's ``__cause__`` is the one before. Empty otherwise."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.model = model
        if status_code is not None:
            self.status_code = status_code
        self.request_id = request_id
        self.code = code
        self.type = type
        self.param = param
        self.retry_after = retry_after
        self.should_retry = should_retry

    def scrub(self, secrets: list[str]) -> None:
        """Remove the given secret values from the message (called before raising)."""
        if secrets:
            self.message = redact(self.message, secrets)
            self.args = (self.message,)

    def __str__(self) -> str:
        where = "/".join(p for p in (self.provider, self.model) if p)
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"status={self.status_code}")
        if where:
            parts.append(f"model={where}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[LLMError], message: str, state: dict[str, Any]) -> LLMError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ConfigurationError(LLMError, ValueError):
    """Settings are missing or wrong: an unknown provider, a missing API key, a bad config file."""


class InvalidRequestError(LLMError, ValueError):
    """The call's arguments are wrong; nothing was sent. The message says what to change."""


class UnsupportedParameterError(InvalidRequestError):
    """The provider cannot honour a parameter. Remove it, or pass ``drop_unsupported=True``."""


class MediaFetchError(InvalidRequestError):
    """An image URL could not be downloaded and inlined for a provider that only takes bytes.

    ``url`` is the image URL without its query string; ``image_status`` the HTTP status of the
    download, when there was one. Nothing was sent to the provider.
    """

    def __init__(self, message: str, *, url: str, image_status: int | None = None) -> None:
        super().__init__(message)
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self.image_status = image_status


class SchemaError(InvalidRequestError):
    """A tool's or a response format's JSON schema cannot be built from the Python type given, or
    cannot be expressed in what the provider accepts (OpenAI strict mode, Gemini's OpenAPI subset).
    The message names the type or keyword and what to do instead."""


class APIConnectionError(LLMError):
    """The connection failed: refused, reset, TLS error, or a body cut short."""


class APITimeoutError(APIConnectionError):
    """A connect, read, time-to-first-token or idle timeout expired."""


class DeadlineExceededError(APITimeoutError):
    """The call's overall ``deadline`` passed before it could finish. ``__cause__`` is the last
    attempt's error (when one was made); ``attempts`` lists the final error of each model tried."""


class StreamInterruptedError(APIConnectionError):
    """A stream ended before its terminal event. ``partial_text`` holds what had arrived."""

    def __init__(self, message: str, *, partial_text: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.partial_text = partial_text


class InvalidResponseError(LLMError):
    """The provider's response could not be parsed into the expected shape."""


class StreamParseError(InvalidResponseError):
    """An event inside a stream could not be parsed. ``event_index`` counts from 0."""

    def __init__(self, message: str, *, event_index: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.event_index = event_index


class APIStatusError(LLMError):
    """The provider answered with an error status (or an error event inside a stream)."""


class BadRequestError(APIStatusError):
    """400/422: the provider rejected the request as invalid."""

    status_code = 400


class ContextWindowExceededError(BadRequestError):
    """The prompt (plus requested output) does not fit the model's context window.

    Raised by the provider (a 400: ``status_code`` 400, the counts below ``None``), or by llmplex
    before sending when the catalog knows the window and the counted prompt cannot fit
    (``status_code`` ``None``: nothing was sent). Then ``prompt_tokens`` is the count,
    ``exact`` whether it is exact (``llmplex.count_tokens``) or an estimate, ``max_tokens`` the
    output asked for (``None`` when not given) and ``context_window`` the model's window.
    """

    def __init__(
        self,
        message: str,
        *,
        prompt_tokens: int | None = None,
        context_window: int | None = None,
        max_tokens: int | None = None,
        exact: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.prompt_tokens = prompt_tokens
        self.context_window = context_window
        self.max_tokens = max_tokens
        self.exact = exact


class ContentFilterError(BadRequestError):
    """The provider's content filter refused the prompt or the completion."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or expired."""

    status_code = 401


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but not allowed to do this."""

    status_code = 403


class NotFoundError(APIStatusError):
    """404: unknown model, deployment or path."""

    status_code = 404


class ConflictError(APIStatusError):
    """409: the provider reported a conflict (retryable)."""

    status_code = 409


class RateLimitError(APIStatusError):
    """429: too many requests or tokens; ``retry_after`` says how long to wait, when known."""

    status_code = 429


class QuotaExceededError(RateLimitError):
    """429 for an exhausted quota or spend limit: retrying will not help, so it is never retried."""


class InternalServerError(APIStatusError):
    """5xx: the provider failed."""

    status_code = 500


class ServiceUnavailableError(InternalServerError):
    """503: the provider is temporarily unavailable."""

    status_code = 503


class OverloadedError(ServiceUnavailableError):
    """529 or an "overloaded" error: the provider is shedding load."""

    status_code = 529


class CircuitOpenError(LLMError):
    """The circuit breaker for this deployment is open; the call failed fast without a request."""


class BudgetExceededError(LLMError):
    """The call would exceed a spend budget (``Client(budget=...)``, ``client.session(..., budget=...)``),
    or its cost cannot be estimated (a model without a price); nothing was sent.

    ``budget`` is the budget's name, ``limit`` its maximum in USD, ``spent`` what it had been
    charged and ``reserved`` what calls in flight held when the call was refused; ``estimate`` the
    call's estimated cost in USD (``None`` when the model's price is unknown), from
    ``prompt_tokens`` and ``output_tokens`` (``max_tokens``, or the budget's assumption).
    """

    def __init__(self, message: str, *, budget: str = "", limit: float = 0.0, spent: float = 0.0,
                 reserved: float = 0.0, estimate: float | None = None, prompt_tokens: int | None = None,
                 output_tokens: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.budget = budget
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.estimate = estimate
        self.prompt_tokens = prompt_tokens
        self.output_tokens = output_tokens


class StructuredOutputError(LLMError):
    """The model's reply does not validate against the requested schema (or is not JSON).

    ``raw`` is the reply text exactly as received; ``errors`` lists what did not validate, one
    ``"path: problem"`` line each.
    """

    def __init__(self, message: str, *, raw: str = "", errors: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.raw = raw
        self.errors = list(errors or [])


class ToolArgumentsError(StructuredOutputError):
    """A tool call's arguments are not a JSON object, or do not validate against the tool's
    signature. ``raw`` is the arguments text as the model sent it, ``errors`` one ``"path: problem"``
    line each, ``tool_name`` and ``call_id`` name the call.
    """

    def __init__(self, message: str, *, tool_name: str, call_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.tool_name = tool_name
        self.call_id = call_id


class ToolExecutionError(LLMError):
    """A tool that ``run_tools(..., on_tool_error="raise")`` called raised. The tool's exception
    is ``__cause__``; ``tool_name`` and ``call_id`` name the call, ``messages`` is the conversation
    up to the assistant message that made it."""

    def __init__(self, message: str, *, tool_name: str, call_id: str, messages: list[Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.tool_name = tool_name
        self.call_id = call_id
        self.messages = list(messages or [])


class MaxTurnsExceededError(LLMError):
    """``run_tools`` made ``max_turns`` model calls and the model still called tools. The tools of
    the last turn were run: ``messages`` is the whole conversation, ending with their results, so
    ``run_tools(messages=err.messages, ...)`` carries on; ``completion`` is the last completion."""

    def __init__(self, message: str, *, messages: list[Any], completion: Any, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.messages = messages
        self.completion = completion


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
    503: ServiceUnavailableError,
    529: OverloadedError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The error class for an HTTP status when the body says nothing more specific."""
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return InternalServerError
    return APIStatusError

"""AWS Bedrock: the ``Converse`` / ``ConverseStream`` API for chat, ``InvokeModel`` for embeddings.

References: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html,
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html (event
flow: ``messageStart``, ``contentBlockStart`` / ``contentBlockDelta`` / ``contentBlockStop``,
``messageStop``, ``metadata``; exceptions as ``:message-type: exception`` messages),
https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html (``x-amzn-errortype``).

Requests are signed with SigV4 (``_sigv4.py``) inside :meth:`BedrockAdapter.build_chat_request`,
which the pipeline calls once per attempt: every retry carries a fresh signature and time. A Bedrock
API key (``AWS_BEARER_TOKEN_BEDROCK``, the provider's ``api_key``) is sent as a bearer token instead.

Where the OpenAI shape has no field, the Bedrock fact is kept as an extra attribute:

* ``message.reasoning_blocks``: the ``reasoningContent`` blocks as sent (``reasoningText`` with its
  ``signature``, or ``redactedContent``); putting the message back into the history sends them back.
* ``message.citations``: the ``citations`` of ``citationsContent`` blocks (their text is content).
* ``choice.native_finish_reason``: Bedrock's ``stopReason``.

Bedrock sends no response id, creation time or model name: ``id`` is ``""``, ``created`` 0 and
``model`` the requested model id, streamed or not.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from .._http import HttpRequest, HttpResponse
from .._requests import CallSettings, ChatRequest, EmbeddingRequest
from ..errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ContextWindowExceededError,
    InternalServerError,
    InvalidResponseError,
    LLMError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServiceUnavailableError,
    UnsupportedParameterError,
    status_error_class,
)
from ..types.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionMessageToolCall, Choice, Function
from ..types.embedding import CreateEmbeddingResponse, Embedding, EmbeddingUsage
from ..types.usage import CompletionUsage
from . import _sigv4
from ._aws_credentials import DEFAULT_REGION, AwsCredentials, ProfileFiles, credentials_from_options
from ._bedrock_request import converse_body
from ._errors import extract_request_id
from ._json import dumps
from ._shared import cached_usage, drop_or_raise, invalid_response, json_arguments, load_json_object, with_extra
from .base import ProviderSpec
from .native import BEDROCK_SPEC

if TYPE_CHECKING:
    from ._bedrock_stream import BedrockStreamDecoder

__all__ = ["BEDROCK_SPEC", "FINISH_REASONS", "BedrockAdapter"]

_USER_AGENT = "llmplex/0.1.0"
_SERVICE = "bedrock"
_EVENTSTREAM = "application/vnd.amazon.eventstream"

FINISH_REASONS: Mapping[str, str] = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
    "model_context_window_exceeded": "length",
}
"""Bedrock ``stopReason`` -> OpenAI ``finish_reason``; any other (``malformed_model_output``,
``malformed_tool_use`` …) becomes ``stop``, and the native value is always in ``native_finish_reason``."""

# x-amzn-errortype (or an in-stream :exception-type, first letter upper-cased) -> (status, class).
_ERRORS: Mapping[str, tuple[int, type[APIStatusError]]] = {
    "ValidationException": (400, BadRequestError),
    "AccessDeniedException": (403, PermissionDeniedError),
    "UnrecognizedClientException": (403, AuthenticationError),
    "InvalidSignatureException": (403, AuthenticationError),
    "IncompleteSignatureException": (403, AuthenticationError),
    "MissingAuthenticationTokenException": (403, AuthenticationError),
    "ExpiredTokenException": (403, AuthenticationError),
    "ResourceNotFoundException": (404, NotFoundError),
    "ModelTimeoutException": (408, APIStatusError),
    "ConflictException": (409, ConflictError),
    "ModelErrorException": (424, InternalServerError),
    "ModelStreamErrorException": (424, InternalServerError),
    "ThrottlingException": (429, RateLimitError),
    "ModelNotReadyException": (429, ServiceUnavailableError),
    "ServiceQuotaExceededException": (400, QuotaExceededError),
    "InternalServerException": (500, InternalServerError),
    "ServiceUnavailableException": (503, ServiceUnavailableError),
}
_RETRYABLE_TYPES = frozenset({"ModelNotReadyException", "ModelTimeoutException", "ThrottlingException",
                              "InternalServerException", "ServiceUnavailableException"})
# Bedrock reports a prompt that does not fit as a plain ValidationException, with no code: these are
# the messages its documentation and model providers give for it (the only text we classify by).
_CONTEXT_MESSAGES = ("input is too long", "prompt is too long", "too many input tokens",
                     "model_context_window_exceeded", "maximum context length")


class BedrockAdapter:
    """Adapter for Bedrock Converse (chat) and InvokeModel (embeddings), sans-IO but for the clock
    it signs with (injectable) and the shared AWS profile files it may read.

    >>> cfg = CallSettings(provider="bedrock", base_url=BEDROCK_SPEC.base_url, options={"region": "eu-west-1"})
    >>> BedrockAdapter.endpoint(cfg, "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "converse")
    'https://bedrock-runtime.eu-west-1.amazonaws.com/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse'
    """

    def __init__(
        self,
        spec: ProviderSpec = BEDROCK_SPEC,
        *,
        clock: Callable[[], float] = time.time,
        profiles: ProfileFiles | None = None,
    ) -> None:
        self.spec = spec
        self._clock = clock
        self._profiles = profiles or ProfileFiles()
        self._loaded_secrets: list[str] = []

    # -- endpoint, credentials, signing --------------------------------------------------------

    @staticmethod
    def region(cfg: CallSettings, profile_region: str | None = None) -> str:
        """``region`` option (``AWS_REGION`` / ``AWS_DEFAULT_REGION``), else the profile's, else us-east-1."""
        value = cfg.options.get("region")
        return str(value) if value else profile_region or DEFAULT_REGION

    @staticmethod
    def endpoint(cfg: CallSettings, model: str, operation: str, region: str | None = None) -> str:
        """``{base_url}/model/{model id, URL-encoded}/{operation}``; ``{region}`` in the base URL is filled."""
        base = cfg.base_url.rstrip("/").replace("{region}", region or BedrockAdapter.region(cfg))
        url = f"{base}/model/{quote(model, safe='')}/{operation}"
        if cfg.extra_query:
            url += "?" + urlencode(dict(cfg.extra_query))
        return url

    def _request(self, operation: str, model: str, body: Mapping[str, Any], cfg: CallSettings,
                 stream: bool) -> HttpRequest:
        credentials = None if cfg.api_key else credentials_from_options(cfg.options)
        profile = None
        if not cfg.options.get("region") or (not cfg.api_key and credentials is None):
            profile = self._profiles.load(cfg.options.get("aws_profile"), cfg.options.get(
                "aws_shared_credentials_file"), cfg.options.get("aws_config_file"))
            if not cfg.api_key:
                credentials = credentials or profile.credentials
        region = self.region(cfg, profile.region if profile else None)
        url = self.endpoint(cfg, model, operation, region)
        data = dumps(body)
        headers = {
            "content-type": "application/json",
            "accept": _EVENTSTREAM if stream else "application/json",
            "user-agent": _USER_AGENT,
            **self.spec.headers,
            **{k.lower(): v for k, v in cfg.extra_headers.items()},
        }
        if cfg.api_key:
            headers["authorization"] = f"Bearer {cfg.api_key.reveal()}"
        elif credentials is not None:
            headers.update(self._sign(url, headers, data, credentials, region))
        else:
            raise ConfigurationError(
                "no AWS credentials for bedrock: set AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key), or "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials (AWS_PROFILE)")
        return HttpRequest("POST", url, headers, data, "aws-eventstream" if stream else None)

    def _sign(self, url: str, headers: Mapping[str, str], body: bytes, credentials: AwsCredentials,
              region: str) -> dict[str, str]:
        if credentials.source != "options":
            self._loaded_secrets = credentials.secrets()  # not in cfg.secrets(): remembered for redaction
        when = datetime.datetime.fromtimestamp(self._clock(), datetime.timezone.utc)
        return _sigv4.sign_headers(
            "POST", url, headers, body,
            access_key_id=credentials.access_key_id,
            secret_access_key=credentials.secret_access_key.reveal(),
            session_token=credentials.session_token.reveal() if credentials.session_token else None,
            region=region, service=_SERVICE, when=when,
        )

    # -- chat -----------------------------------------------------------------------------------

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest:
        """``POST /model/{id}/converse`` (or ``/converse-stream``), signed for this attempt."""
        body = converse_body(req, cfg, self.spec.name)
        return self._request("converse-stream" if req.stream else "converse", req.model, body, cfg, req.stream)

    def parse_chat_response(self, resp: HttpResponse, req: ChatRequest) -> ChatCompletion:
        """Map a Converse response body to a ``ChatCompletion``."""
        data = load_json_object(resp.body, self.spec.name)
        message = (data.get("output") or {}).get("message") if isinstance(data.get("output"), dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            raise invalid_response(self.spec.name, "no output.message.content list")
        stop = data.get("stopReason")
        choice = with_extra(Choice(index=0, message=message_from_blocks(message["content"], self.spec.name),
                                   finish_reason=finish_reason(stop)), native_finish_reason=stop)
        return ChatCompletion(id="", created=0, model=req.model, choices=[choice], usage=usage(data.get("usage")))

    def chat_stream_decoder(self, req: ChatRequest) -> BedrockStreamDecoder:
        """A decoder of the ConverseStream event stream."""
        from ._bedrock_stream import BedrockStreamDecoder

        return BedrockStreamDecoder(self, req.model)

    # -- errors ---------------------------------------------------------------------------------

    def parse_error(self, resp: HttpResponse) -> LLMError:
        """``x-amzn-errortype: ThrottlingException:http://…`` and ``{"message": …}`` -> the typed error."""
        try:
            data: Any = json.loads(resp.body)
        except ValueError:
            data = resp.body.decode("utf-8", "replace").strip()[:500]
        message = ""
        error_type = (resp.headers.get("x-amzn-errortype") or "").split(":", 1)[0]
        if isinstance(data, dict):
            message = str(data.get("message") or data.get("Message") or "")
            error_type = error_type or str(data.get("__type") or "").rsplit("#", 1)[-1]
        elif isinstance(data, str):
            message = data
        err = self.error_for(error_type, message, resp.status)
        err.request_id = extract_request_id(resp.headers)
        return err

    def error_for(self, error_type: str, message: str, status: int | None = None) -> APIStatusError:
        """The typed error for a Bedrock exception name (HTTP ``x-amzn-errortype`` or in-stream
        ``:exception-type``, whose first letter is lower case)."""
        name = error_type[:1].upper() + error_type[1:]
        known = _ERRORS.get(name)
        cls: type[APIStatusError]
        if known is not None:
            default_status, cls = known
            status = status or default_status
        else:
            status = status or 500
            cls = status_error_class(status)
        if cls is BadRequestError and any(m in message.lower() for m in _CONTEXT_MESSAGES):
            cls = ContextWindowExceededError
        err = cls(message or f"{name or 'HTTP ' + str(status)} from {self.spec.name}", provider=self.spec.name,
                  status_code=status, type=name or None, should_retry=True if name in _RETRYABLE_TYPES else None)
        err.scrub(self._loaded_secrets)
        return err

    # -- embeddings (InvokeModel) -----------------------------------------------------------------

    def build_embedding_request(self, req: EmbeddingRequest, cfg: CallSettings) -> HttpRequest:
        """``POST /model/{id}/invoke``: Titan text embeddings (one text per request) or Cohere embed (a batch)."""
        texts = [req.input] if isinstance(req.input, str) else req.input
        if not isinstance(texts, Sequence) or not all(isinstance(t, str) for t in texts):
            raise UnsupportedParameterError("bedrock embeds strings only (a string or a list of strings)",
                                            provider=self.spec.name, param="input")
        if "cohere.embed" in req.model:
            body: dict[str, Any] = {"texts": list(texts), "input_type": "search_document"}
        elif "amazon.titan-embed" in req.model:
            if len(texts) != 1:
                raise UnsupportedParameterError(
                    f"Titan embeddings take one text per request ({len(texts)} given): call once per input, "
                    f"or use a Cohere embed model for batches", provider=self.spec.name, param="input")
            body = {"inputText": texts[0]}
        else:
            raise UnsupportedParameterError(
                f"llmplex embeds with Amazon Titan text (amazon.titan-embed-…) and Cohere (cohere.embed-…) models "
                f"on Bedrock, not {req.model!r}", provider=self.spec.name, param="model")
        for key, value in req.params.items():
            if key == "dimensions" and "inputText" in body:
                body["dimensions"] = value
            elif key == "encoding_format" and value in (None, "float"):
                continue
            else:
                drop_or_raise(self.spec.name, key, cfg, "InvokeModel (normalize, input_type …)")
        body.update(cfg.extra_body)
        return self._request("invoke", req.model, body, cfg, False)

    def parse_embedding_response(self, resp: HttpResponse, req: EmbeddingRequest) -> CreateEmbeddingResponse:
        """Titan ``{"embedding", "inputTextTokenCount"}`` or Cohere ``{"embeddings": [[…]]}``."""
        data = load_json_object(resp.body, self.spec.name)
        if isinstance(data.get("embedding"), list):
            vectors = [data["embedding"]]
            tokens = int(data.get("inputTextTokenCount") or 0)
        else:
            raw = data.get("embeddings")
            if isinstance(raw, dict):  # Cohere with embedding_types: {"float": [[…]]}
                raw = raw.get("float")
            if not isinstance(raw, list):
                raise invalid_response(self.spec.name, "no 'embedding' or 'embeddings' in the InvokeModel body")
            vectors = raw
            tokens = _header_int(resp.headers.get("x-amzn-bedrock-input-token-count"))
        return CreateEmbeddingResponse(
            data=[Embedding(index=i, embedding=v) for i, v in enumerate(vectors)],
            model=req.model, usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
        )


def _header_int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


# -- response mapping (shared by the non-streamed parser and the stream decoder) ---------------


def finish_reason(stop: Any) -> str | None:
    """OpenAI ``finish_reason`` for a Bedrock ``stopReason`` (see :data:`FINISH_REASONS`)."""
    if stop is None:
        return None
    return FINISH_REASONS.get(str(stop), "stop")


def usage(raw: Any) -> CompletionUsage | None:
    """``inputTokens`` excludes the cache: OpenAI's ``prompt_tokens`` is input + cache read + cache write."""
    if not isinstance(raw, Mapping):
        return None
    return cached_usage(raw.get("inputTokens"), raw.get("outputTokens"), raw.get("cacheReadInputTokens"),
                        raw.get("cacheWriteInputTokens"))


def unsupported_block(kind: str, provider: str) -> InvalidResponseError:
    """The error for a content block llmplex does not know."""
    return InvalidResponseError(
        f"{provider} returned a {kind!r} content block, which llmplex cannot map to a chat completion",
        provider=provider)


def reasoning_text(block: Mapping[str, Any]) -> str:
    """The text of a ``reasoningContent`` block (empty when redacted)."""
    text = (block.get("reasoningText") or {}).get("text")
    return text if isinstance(text, str) else ""


def message_from_blocks(blocks: list[Any], provider: str) -> ChatCompletionMessage:
    """The assistant message of a Converse ``content`` list."""
    texts: list[str] = []
    reasoning: list[dict[str, Any]] = []
    citations: list[Any] = []
    server: list[dict[str, Any]] = []
    calls: list[ChatCompletionMessageToolCall] = []
    for block in blocks:
        if not isinstance(block, dict):
            raise invalid_response(provider, "a content block is not an object")
        if "text" in block:
            texts.append(block["text"] or "")
        elif "toolUse" in block and block["toolUse"].get("type", "tool_use") != "tool_use":
            server.append(dict(block))  # a server-side tool ran it (nova_code_interpreter …): not a call for you
        elif "toolUse" in block:
            use = block["toolUse"]
            calls.append(ChatCompletionMessageToolCall(
                id=use["toolUseId"], function=Function(name=use["name"], arguments=json_arguments(use.get("input")))))
        elif "toolResult" in block:
            server.append(dict(block))  # the server-side tool's result
        elif "reasoningContent" in block:
            reasoning.append(dict(block["reasoningContent"]))
        elif "citationsContent" in block:
            cited = block["citationsContent"]
            texts.extend(part.get("text") or "" for part in cited.get("content") or [])
            citations.extend(cited.get("citations") or [])
        else:
            raise unsupported_block(next(iter(block), "empty"), provider)
    text = "".join(texts)
    message = ChatCompletionMessage(
        content=text if text or not calls else None, tool_calls=calls or None,
        reasoning_content="".join(reasoning_text(b) for b in reasoning) or None)
    extra: dict[str, Any] = {}
    if reasoning:
        extra["reasoning_blocks"] = reasoning
    if citations:
        extra["citations"] = citations
    if server:
        extra["server_tool_blocks"] = server
    return with_extra(message, **extra) if extra else message


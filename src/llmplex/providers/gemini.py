"""Google Gemini (``generateContent``, ``streamGenerateContent``, ``embedContent``,
``batchEmbedContents``), mapped to and from the OpenAI shapes; one adapter for the Gemini API
(Google AI Studio) and Vertex AI, which differ only in URL and credentials.

References: https://ai.google.dev/api/generate-content, https://ai.google.dev/api/embeddings,
https://ai.google.dev/gemini-api/docs/thought-signatures,
https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent.

Where the OpenAI shape has no field, the Gemini fact is kept as an extra attribute:

* ``message.thought_signatures``: ``[{"signature", "tool_call_id"?}]``, the opaque
  ``thoughtSignature`` of each part that carried one (function calls by id, text parts without).
  Putting the message back into the history sends each one back on the same part, as Gemini 2.5 /
  3 require for function calling with thinking.
* ``choice.native_finish_reason``: Gemini's ``finishReason`` next to the mapped one (see
  ``FINISH_REASONS`` in ``_gemini_response``).

Streams are requested with ``alt=sse``; a JSON-array stream (what the API sends without it) is
decoded as well, chosen by the response's content type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from .._framing import SSEEvent
from .._http import HttpRequest, HttpResponse
from .._requests import CallSettings, ChatRequest, EmbeddingRequest
from ..errors import ConfigurationError, InvalidResponseError, LLMError, StreamInterruptedError, StreamParseError
from ..types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
    Function,
)
from ..types.embedding import CreateEmbeddingResponse, Embedding, EmbeddingUsage
from ..types.usage import CompletionUsage
from ._gemini_request import (
    add_missing_signatures,
    build_contents,
    embedding_fields,
    embedding_texts,
    generation_body,
)
from ._gemini_response import (
    PartialArguments,
    blocked_prompt_error,
    created_at,
    error_from_payload,
    finish_reason,
    load_payload,
    native_reason,
    read_part,
    usage_from,
)
from ._json import dumps
from ._shared import invalid_response, load_json_object, with_extra
from .base import BlockingCredentials, ProviderSpec
from .native import GEMINI_SPEC, VERTEX_AI_SPEC

__all__ = ["DEFAULT_VERTEX_LOCATION", "GEMINI_SPEC", "VERTEX_AI_SPEC", "GeminiAdapter", "GeminiStreamDecoder"]

_USER_AGENT = "llmplex/0.1.0"
DEFAULT_VERTEX_LOCATION = "global"
"""Vertex AI location used when the ``location`` option is not set."""

TokenSource = Callable[[], str]


class GeminiAdapter:
    """Adapter for the Gemini API and Vertex AI (sans-IO apart from the optional token source).

    >>> adapter = GeminiAdapter(GEMINI_SPEC)
    >>> cfg = CallSettings(provider="gemini", base_url=GEMINI_SPEC.base_url)
    >>> adapter.build_chat_request(ChatRequest("gemini-2.5-flash", [{"role": "user", "content": "Hi"}], {}), cfg).url
    'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent'

    ``token_source`` gives Vertex AI an OAuth access token when the call has no ``api_key``; by
    default Application Default Credentials through the optional ``google-auth`` package.
    """

    def __init__(self, spec: ProviderSpec = GEMINI_SPEC, token_source: TokenSource | None = None) -> None:
        self.spec = spec
        self.vertex = spec.name.startswith("vertex")
        self._token_source = token_source

    # -- requests ---------------------------------------------------------------------------

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest:
        """``POST …/models/{model}:generateContent`` (``:streamGenerateContent?alt=sse`` when streaming)."""
        system, contents = build_contents(req.messages)
        add_missing_signatures(contents, req.model)
        body: dict[str, Any] = {"contents": contents}
        if system is not None:
            body["systemInstruction"] = system
        body.update(generation_body(req.params, req.model, cfg, self.spec.name))
        method = "streamGenerateContent" if req.stream else "generateContent"
        query = {"alt": "sse"} if req.stream else {}
        return HttpRequest("POST", self.url(req.model, method, cfg, query), self._headers(cfg, req.stream),
                           dumps(body), "sse-or-json-array" if req.stream else None)

    def build_embedding_request(self, req: EmbeddingRequest, cfg: CallSettings) -> HttpRequest:
        """One text: ``:embedContent``; several: ``:batchEmbedContents`` (Vertex AI: ``:predict``)."""
        texts = embedding_texts(req.input, self.spec.name)
        fields = embedding_fields(req.params, cfg, self.spec.name)
        if self.vertex:
            parameters = {k: v for k, v in fields.items() if k == "outputDimensionality"}
            task = fields.get("taskType")
            body: dict[str, Any] = {"instances": [{"content": t, **({"task_type": task} if task else {})}
                                                  for t in texts]}
            if parameters:
                body["parameters"] = parameters
            method = "predict"
        elif len(texts) == 1:
            body = {"content": {"parts": [{"text": texts[0]}]}, **fields}
            method = "embedContent"
        else:
            name = f"models/{model_id(req.model)}"
            body = {"requests": [{"model": name, "content": {"parts": [{"text": t}]}, **fields} for t in texts]}
            method = "batchEmbedContents"
        return HttpRequest("POST", self.url(req.model, method, cfg, {}), self._headers(cfg, False), dumps(body))

    def url(self, model: str, method: str, cfg: CallSettings, query: Mapping[str, str]) -> str:
        """The endpoint URL. The key never goes into it (it is a header)."""
        base = cfg.base_url.strip().rstrip("/")
        if self.vertex:
            location = str(cfg.options.get("location") or DEFAULT_VERTEX_LOCATION)
            host = "" if location == "global" else f"{location}-"
            base = base.replace("{location}-", host).replace("{location}", location)
            if not model.startswith("projects/"):
                project = cfg.options.get("project")
                if not project:
                    raise ConfigurationError(
                        f"{self.spec.name} needs a Google Cloud project: set the 'project' option "
                        f"($GOOGLE_CLOUD_PROJECT, or providers.{self.spec.name}.project in llmplex.yaml)")
                model = (f"projects/{quote(str(project), safe='')}/locations/{quote(location, safe='')}"
                         f"/publishers/google/models/{model_id(model)}")
            path = model
        else:
            path = model if model.startswith("tunedModels/") else f"models/{model_id(model)}"
        url = f"{base}/{quote(path, safe='/')}:{method}"
        params = {**query, **cfg.extra_query}
        return f"{url}?{urlencode(params)}" if params else url

    def _headers(self, cfg: CallSettings, stream: bool) -> dict[str, str]:
        headers = {"content-type": "application/json",
                   "accept": "text/event-stream" if stream else "application/json",
                   "user-agent": _USER_AGENT, **self.spec.headers}
        headers.update(self._auth(cfg))
        headers.update({k.lower(): v for k, v in cfg.extra_headers.items()})
        return headers

    def _auth(self, cfg: CallSettings) -> dict[str, str]:
        if not self.vertex:
            return {"x-goog-api-key": cfg.api_key.reveal()} if cfg.api_key else {}
        if cfg.api_key:
            return {"authorization": f"Bearer {cfg.api_key.reveal()}"}
        return {"authorization": f"Bearer {self._tokens()()}"}

    def _tokens(self) -> TokenSource:
        if self._token_source is None:
            from .._google_auth import ApplicationDefaultToken  # google-auth itself loads on first use

            self._token_source = ApplicationDefaultToken()
        return self._token_source

    def blocking_credentials(self, cfg: CallSettings) -> BlockingCredentials | None:
        """Vertex AI without an ``api_key``: the token source, for the drivers to refresh before
        the call (off the event loop in async calls) when it has no valid token."""
        if not self.vertex or cfg.api_key:
            return None
        source = self._tokens()
        return source if isinstance(source, BlockingCredentials) else None

    # -- responses --------------------------------------------------------------------------

    def parse_chat_response(self, resp: HttpResponse, req: ChatRequest) -> ChatCompletion:
        """Map a ``GenerateContentResponse`` (or a JSON-array stream body read whole) to a ``ChatCompletion``."""
        data = load_payload(resp.body, self.spec.name)
        if isinstance(data, list):  # a streamGenerateContent array read in one piece
            return _completion_from_chunks(self, req, data)
        if not isinstance(data, dict):
            raise invalid_response(self.spec.name, "the body is not a JSON object")
        self._raise_for_payload(data)
        response_id = str(data.get("responseId") or "")
        choices = [self._choice(c, i, response_id) for i, c in enumerate(data.get("candidates") or [])]
        return ChatCompletion(id=response_id, created=created_at(data.get("createTime")),
                              model=str(data.get("modelVersion") or req.model), choices=choices,
                              usage=usage_from(data.get("usageMetadata")))

    def _choice(self, candidate: Any, position: int, response_id: str) -> Choice:
        if not isinstance(candidate, Mapping):
            raise invalid_response(self.spec.name, "a candidate is not an object")
        index = int(candidate.get("index", position))
        texts: list[str] = []
        reasoning: list[str] = []
        calls: list[ChatCompletionMessageToolCall] = []
        signatures: list[dict[str, str]] = []
        for raw in (candidate.get("content") or {}).get("parts") or []:
            part = read_part(raw, response_id, index, len(calls), False)
            if part.call is not None:
                call_id, name, arguments = part.call
                calls.append(ChatCompletionMessageToolCall(id=call_id,
                                                           function=Function(name=name, arguments=arguments)))
            elif part.partial_start is not None:
                raise invalid_response(self.spec.name, "partial function call arguments outside a stream")
            texts += [part.text] if part.text is not None else []
            reasoning += [part.reasoning] if part.reasoning is not None else []
            if part.signature:
                signatures.append(_signature(part.signature, part.call[0] if part.call else None))
        native = native_reason(candidate.get("finishReason"))
        text = "".join(texts)
        message = ChatCompletionMessage(content=text if text or not calls else None, tool_calls=calls or None,
                                        reasoning_content="".join(reasoning) or None)
        if signatures:
            message = with_extra(message, thought_signatures=signatures)
        finish = finish_reason(native, bool(calls), self.spec.name, candidate.get("finishMessage"))
        return with_extra(Choice(index=index, message=message, finish_reason=finish), native_finish_reason=native)

    def _raise_for_payload(self, data: Mapping[str, Any]) -> None:
        if "error" in data and "candidates" not in data:
            raise self._scrubbed(error_from_payload(data, None, self.spec.name))
        feedback = data.get("promptFeedback")
        if not data.get("candidates") and isinstance(feedback, Mapping) and feedback.get("blockReason"):
            raise blocked_prompt_error(feedback, self.spec.name)

    def chat_stream_decoder(self, req: ChatRequest) -> GeminiStreamDecoder:
        """A decoder of the ``streamGenerateContent`` stream (SSE events or JSON-array elements)."""
        return GeminiStreamDecoder(self, req)

    def parse_embedding_response(self, resp: HttpResponse, req: EmbeddingRequest) -> CreateEmbeddingResponse:
        """``{"embedding": {"values"}}``, ``{"embeddings": [...]}`` or Vertex ``{"predictions": [...]}``."""
        data = load_json_object(resp.body, self.spec.name)
        if "error" in data:
            raise self._scrubbed(error_from_payload(data, None, self.spec.name))
        tokens = 0
        if "predictions" in data:
            found = [p.get("embeddings") or {} for p in data["predictions"] if isinstance(p, Mapping)]
            tokens = sum(int((e.get("statistics") or {}).get("token_count") or 0) for e in found)
        else:
            found = [data["embedding"]] if "embedding" in data else list(data.get("embeddings") or [])
        try:
            items = [Embedding(index=i, embedding=e["values"]) for i, e in enumerate(found)]
        except (KeyError, TypeError, ValueError):
            raise invalid_response(self.spec.name, "an embedding has no list of values") from None
        if not items:
            raise invalid_response(self.spec.name, "no embeddings in the body")
        usage = EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens) if tokens else None
        return CreateEmbeddingResponse(data=items, model=model_id(req.model), usage=usage)

    def parse_error(self, resp: HttpResponse) -> LLMError:
        """A ``google.rpc.Status`` error body -> the typed error (see ``error_from_payload``)."""
        try:
            payload = load_payload(resp.body, self.spec.name)
        except InvalidResponseError:
            payload = resp.body.decode("utf-8", "replace").strip()[:500]
        return self._scrubbed(error_from_payload(payload, resp.status, self.spec.name, resp.headers))

    def _scrubbed(self, error: LLMError) -> LLMError:
        """The error without the token source's tokens (ADC tokens are in no ``CallSettings``)."""
        secrets = getattr(self._token_source, "secrets", None)
        if secrets is not None:
            error.scrub(secrets())
        return error


def model_id(model: str) -> str:
    """The bare model id: ``models/gemini-2.5-flash`` and ``gemini-2.5-flash`` name the same model."""
    return model.removeprefix("models/")


def _signature(signature: str, call_id: str | None) -> dict[str, str]:
    return {"signature": signature, "tool_call_id": call_id} if call_id else {"signature": signature}


def _completion_from_chunks(adapter: GeminiAdapter, req: ChatRequest, elements: list[Any]) -> ChatCompletion:
    from ..streaming import ChatCompletionAccumulator

    decoder = GeminiStreamDecoder(adapter, req)
    accumulator = ChatCompletionAccumulator()
    for element in elements:
        for chunk in decoder.decode(element):
            accumulator.add(chunk)
    for chunk in decoder.close():
        accumulator.add(chunk)
    return accumulator.completion()


# -- streaming -------------------------------------------------------------------------------


class _CandidateState:
    __slots__ = ("calls", "finished", "partial", "started")

    def __init__(self) -> None:
        self.started = False
        self.finished = False
        self.calls = 0
        self.partial: tuple[int, PartialArguments] | None = None  # (tool index, arguments so far)


class GeminiStreamDecoder:
    """``GenerateContentResponse`` chunks -> ``ChatCompletionChunk``s. Each chunk carries new parts
    per candidate; a candidate ends with its ``finishReason``, the stream when every expected
    candidate (``n``) has ended. Usage is cumulative and sent once, with the last finish.

    Function calls arrive whole (one delta with id, name and arguments) or, on Vertex AI with
    ``streamFunctionCallArguments``, as a named start followed by ``partialArgs`` pieces: the start
    is sent at once, the arguments as one JSON text when the call ends."""

    def __init__(self, adapter: GeminiAdapter, req: ChatRequest) -> None:
        self._adapter = adapter
        self._provider = adapter.spec.name
        n = req.params.get("n")
        self._expected = n if isinstance(n, int) and n > 1 else 1
        self._candidates: dict[int, _CandidateState] = {}
        self._count = 0
        self._id = ""
        self._model = req.model
        self._created = 0
        self._usage: CompletionUsage | None = None
        self.done = False

    def feed(self, frame: SSEEvent | bytes) -> list[ChatCompletionChunk]:
        """Decode one SSE event or one JSON-array element."""
        index = self._count
        self._count += 1
        data = frame.data if isinstance(frame, SSEEvent) else frame
        if not data.strip():
            return []
        try:
            payload = load_payload(data, self._provider, index)
        except InvalidResponseError:
            raise StreamParseError(f"stream event {index} from {self._provider} is not valid JSON",
                                   provider=self._provider, event_index=index) from None
        if isinstance(payload, list) and len(payload) == 1:
            payload = payload[0]  # an error streamed as a one-element array
        if not isinstance(payload, dict):
            raise StreamParseError(f"stream event {index} from {self._provider} is not a JSON object",
                                   provider=self._provider, event_index=index)
        try:
            return self.decode(payload)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            if isinstance(exc, LLMError):
                raise
            raise StreamParseError(f"stream event {index} from {self._provider} is not a well-formed chunk",
                                   provider=self._provider, event_index=index) from None

    def decode(self, payload: Mapping[str, Any]) -> list[ChatCompletionChunk]:
        """Decode one parsed chunk."""
        self._adapter._raise_for_payload(payload)
        self._id = str(payload.get("responseId") or self._id)
        self._model = str(payload.get("modelVersion") or self._model)
        self._created = self._created or created_at(payload.get("createTime"))
        usage = usage_from(payload.get("usageMetadata"))
        self._usage = usage or self._usage
        chunks: list[ChatCompletionChunk] = []
        for position, candidate in enumerate(payload.get("candidates") or []):
            chunks += self._candidate(candidate, position)
        finished = sum(1 for c in self._candidates.values() if c.finished)
        if not self.done and finished >= self._expected:
            self.done = True
            if chunks and chunks[-1].choices and chunks[-1].choices[0].finish_reason is not None:
                chunks[-1].usage = self._usage
            else:
                chunks.append(self._chunk([], usage=self._usage))
        elif self.done and usage is not None:
            chunks.append(self._chunk([], usage=usage))  # counts that came after the last finish
        return chunks

    def close(self) -> list[ChatCompletionChunk]:
        """Raise ``StreamInterruptedError`` unless every candidate sent its ``finishReason``."""
        if self.done:
            return []
        raise StreamInterruptedError(f"the {self._provider} stream ended before its finishReason",
                                     provider=self._provider)

    def _chunk(self, choices: list[ChunkChoice], usage: CompletionUsage | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(id=self._id, created=self._created, model=self._model, choices=choices,
                                   usage=usage)

    def _candidate(self, candidate: Mapping[str, Any], position: int) -> list[ChatCompletionChunk]:
        index = int(candidate.get("index", position))
        state = self._candidates.get(index)
        if state is None:
            state = self._candidates[index] = _CandidateState()
        deltas = [d for raw in (candidate.get("content") or {}).get("parts") or []
                  for d in self._part(raw, state, index)]
        native = native_reason(candidate.get("finishReason"))
        if native is not None and state.partial is not None:  # a streamed call never closed: close it
            deltas.append(self._close_partial(state))
        chunks = []
        for delta in deltas:
            chunks.append(self._delta_chunk(delta, index, state))
        if native is not None:
            state.finished = True
            finish = finish_reason(native, state.calls > 0, self._provider, candidate.get("finishMessage"))
            choice = with_extra(ChunkChoice(index=index, delta=ChoiceDelta(), finish_reason=finish),
                                native_finish_reason=native)
            if chunks:
                last = chunks[-1].choices[0]
                chunks[-1].choices[0] = with_extra(
                    ChunkChoice(index=index, delta=last.delta, finish_reason=finish), native_finish_reason=native)
            else:
                chunks.append(self._chunk([choice]))
        return chunks

    def _delta_chunk(self, delta: ChoiceDelta, index: int, state: _CandidateState) -> ChatCompletionChunk:
        if not state.started:
            state.started = True
            delta.role = "assistant"
        return self._chunk([ChunkChoice(index=index, delta=delta)])

    def _part(self, raw: Mapping[str, Any], state: _CandidateState, index: int) -> list[ChoiceDelta]:
        part = read_part(raw, self._id, index, state.calls, state.partial is not None)
        deltas: list[ChoiceDelta] = []
        call_id = None
        if part.call is not None or part.partial_start is not None:
            if state.partial is not None:  # a new call starts: the open one is complete
                deltas.append(self._close_partial(state))
            call_id, name = part.call[:2] if part.call else part.partial_start  # type: ignore[misc]
            arguments = part.call[2] if part.call else ""
            tool = ChoiceDeltaToolCall(index=state.calls, id=call_id, type="function",
                                       function=ChoiceDeltaToolCallFunction(name=name, arguments=arguments))
            if part.partial_start is not None:
                state.partial = (state.calls, PartialArguments())
            state.calls += 1
            deltas.append(ChoiceDelta(tool_calls=[tool]))
        elif state.partial is not None and (part.partial_args or part.partial_end):
            state.partial[1].add(part.partial_args)
            if part.partial_end:
                deltas.append(self._close_partial(state))
        elif part.text or part.reasoning:
            deltas.append(ChoiceDelta(content=part.text or None, reasoning_content=part.reasoning or None))
        if part.signature:
            if not deltas:
                deltas.append(ChoiceDelta())
            with_extra(deltas[-1], thought_signatures=[_signature(part.signature, call_id)])
        return deltas

    def _close_partial(self, state: _CandidateState) -> ChoiceDelta:
        assert state.partial is not None
        tool_index, arguments = state.partial
        state.partial = None
        call = ChoiceDeltaToolCall(index=tool_index, function=ChoiceDeltaToolCallFunction(arguments=arguments.json()))
        return ChoiceDelta(tool_calls=[call])


__all__ += ["model_id"]

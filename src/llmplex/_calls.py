"""From the keyword arguments of a public call to a :class:`~llmplex._pipeline.Call`.

Shared by the sync and async resources: argument checks, routing, settings, capability checks,
and the adapter functions the drivers will run.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._call_tokens import PromptTokens, TextTokens
from ._media import MediaStep, inline_images, remote_image_urls
from ._pipeline import Call
from ._requests import CallSettings, ChatRequest, CompletionRequest, EmbeddingRequest
from ._types import NotGiven
from .config import ConfigLayers, normalise_setting
from .errors import ConfigurationError, InvalidRequestError, UnsupportedParameterError
from .events import CallObserver, Metrics
from .providers._completion_via_chat import (
    ChatBackedCompletionDecoder,
    chat_request_for,
    completion_from_chat,
)
from .providers.base import Adapter, BlockingCredentials, ProviderSpec
from .registry import Registry, Route
from .resilience.budget import RetryBudget
from .resilience.guard import NO_GUARD, Deployment, Guard
from .streaming import ChatCompletionAccumulator, CompletionAccumulator
from .types.chat_params import ChatCompletionCreateParams
from .types.completion_params import CompletionParams, EmbeddingParams
from .types.request_options import RequestOptions

if TYPE_CHECKING:
    from .cache._policy import CachePolicy
    from .cache._use import CacheUse
    from .resilience.guard import Deployment, Guard
    from .resilience.spend import Budget
    from .routing import Router, Target

__all__ = ["CallFactory"]

_OPTIONS = frozenset(RequestOptions.__annotations__)
_CHAT_KEYS = frozenset(ChatCompletionCreateParams.__annotations__) - _OPTIONS - {"model", "messages", "stream"}
_COMPLETION_KEYS = frozenset(CompletionParams.__annotations__) - {"model", "prompt"}
_EMBEDDING_KEYS = frozenset(EmbeddingParams.__annotations__) - {"model", "input"}
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def _split(
    kwargs: dict[str, Any], known: frozenset[str], what: str, provider_options: tuple[str, ...] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parameters, request options incl. the provider's own options); unknown names raise with a
    suggestion."""
    params: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in kwargs.items():
        if isinstance(value, NotGiven) or (value is None and key != "timeout"):
            continue  # None means "provider default", except for timeout, where it means "no limit"
        if key in known:
            params[key] = value
        elif key in _OPTIONS or key in provider_options:
            options[key] = value
        else:
            import difflib  # only on the error path

            hint = difflib.get_close_matches(key, [*known, *_OPTIONS, *provider_options], n=1)
            did_you_mean = f"did you mean {hint[0]!r}? " if hint else ""
            own = f" (this provider's own settings: {', '.join(provider_options)})" if provider_options else ""
            raise InvalidRequestError(
                f"{what} got an unknown parameter {key!r}; {did_you_mean}"
                f"provider-specific fields go in extra_body={{...}}{own}"
            )
    return params, options


_NOT_FOR_FALLBACKS = frozenset({"api_key", "base_url", "fallbacks"})
"""Per-request options that belong to the first model only: its credentials never travel to
another provider, and a fallback has no fallbacks of its own."""


class CallFactory:
    """Builds calls for one client: each with its fallback calls, guard, deployment and budget."""

    def __init__(self, registry: Registry, layers: ConfigLayers, default_provider: str | None,
                 guard: Guard = NO_GUARD, budget: RetryBudget | None = None, metrics: Metrics | None = None) -> None:
        self.registry = registry
        self.metrics = metrics
        self.layers = layers
        self.default_provider = default_provider or layers.default_provider()
        self.guard: Guard = guard
        """The client's breaker + limiter (``resilience.policy.PolicyGuard``), set by the client."""
        self.budget = budget
        self.router: Router | None = None
        """Logical model names -> deployments in fallback order (``router.order(name)``)."""
        self.cache: CachePolicy | None = None
        """The client's response cache (``cache=``), or ``None``."""
        self.spend_budget: Budget | None = None
        """The client's spend budget (``Client(budget=...)``); sessions may add their own."""

    def deployment(self, route: Route, cfg: CallSettings) -> Deployment:
        """The guard's key for a call to ``route`` with settings ``cfg`` (the same deployment a
        router entry with that provider, model, base URL and key resolves to)."""
        from .routing.health import deployment_for

        return deployment_for(route.provider, route.model, cfg.base_url, cfg.api_key)

    def resolve_target(self, target: Target) -> Deployment:
        """The deployment a router entry names (its settings applied over the client's). A
        missing key is not an error here: the call to that deployment reports it."""
        route = self.route(target.model)
        cfg = self.layers.settings(route.provider, route.spec)
        return self.deployment(route, _override(cfg, target.settings) if target.settings else cfg)

    def _with_fallbacks(self, build: Callable[[dict[str, Any]], Call[Any]], kwargs: dict[str, Any]) -> Call[Any]:
        """The call for the first model, its ``fallbacks`` the calls for the others, without repeats:
        a logical model of the router expands to its deployments in the router's order (each with
        its own settings); then the rest of a ``model=[...]`` list, then ``fallbacks=`` (per
        request, else configured)."""
        models = kwargs.get("model")
        if isinstance(models, (list, tuple)):
            if not models:
                raise InvalidRequestError("model=[] is empty: give at least one model")
            models = list(models)
        else:
            models = [models]
        cache = self._cache_use(kwargs.pop("cache", None), kwargs.pop("cache_ttl", None))
        steps = [step for model in models for step in self._expand(model)]
        first_model, first_settings = steps[0]
        kwargs.update({"model": first_model, **first_settings})
        own = dict(kwargs)  # building pops from kwargs; the fallbacks are built from the same
        call = build(kwargs)
        self._attach(call, cache)
        seen = {(first_model, tuple(sorted(first_settings.items())))}
        rest: list[tuple[str, dict[str, Any]]] = []
        for model, settings in [*steps[1:], *(s for m in call.settings.fallbacks for s in self._expand(m))]:
            key = (model, tuple(sorted(settings.items())))
            if key not in seen:
                seen.add(key)
                rest.append((model, settings))
        if rest:
            primary_only = set(self.registry.spec(call.provider).options)
            shared = {k: v for k, v in own.items() if k not in _NOT_FOR_FALLBACKS and k not in primary_only}
            fallbacks = []
            for model, settings in rest:
                fallback = build({**shared, "model": model, **settings})
                self._attach(fallback, cache.copy() if cache is not None else None)
                fallback.events = call.events  # one logical call: one observer (FallbackTaken moves it)
                fallbacks.append(fallback)
            call.fallbacks = tuple(fallbacks)
        if self.spend_budget is not None or call.events.sessions:  # the spend budgets (resilience.spend)
            from .resilience.spend import attach

            attach(call, own, self.spend_budget, self.layers.catalog() or None)
        return call

    def _expand(self, model: Any) -> list[tuple[Any, dict[str, Any]]]:
        """A model name as (model, per-request settings) steps: a router's logical model gives its
        deployments in the router's current order; any other name is one step."""
        if isinstance(model, str) and self.router is not None and model in self.router:
            return [(choice.model, dict(choice.settings)) for choice in self.router.order(model)]
        return [(model, {})]

    def _cache_use(self, option: Any, ttl: Any) -> CacheUse | None:
        """How the call uses the response cache, from its ``cache=`` / ``cache_ttl=``."""
        if option is None and ttl is None:
            return self.cache.for_call(None, None) if self.cache is not None else None
        from .cache._policy import check_call_options

        check_call_options(option, ttl)
        if self.cache is None:
            if option in (None, False):
                return None
            raise InvalidRequestError(
                f"cache={option!r} needs a response cache on the client: "
                "Client(cache='memory' | '<file>.sqlite' | 'redis://...')"
            )
        return self.cache.for_call(option, ttl)

    def _attach(self, call: Call[Any], cache: CacheUse | None = None) -> None:
        from .routing.health import deployment_for

        cfg = call.settings
        call.guard = self.guard
        call.budget = self.budget
        call.deployment = deployment_for(call.provider, call.model, cfg.base_url, cfg.api_key)
        call.pricing = functools.partial(_price, call.provider, call.model, self.layers, call.prompt)
        call.cache = cache

    def route(self, model: str) -> Route:
        """Resolve a model name."""
        return self.registry.resolve(model, self.default_provider)

    def settings(self, route: Route, options: Mapping[str, Any]) -> CallSettings:
        """Resolved settings with per-request overrides applied, checked for completeness."""
        cfg = self.layers.settings(route.provider, route.spec)
        if options:
            cfg = _override(cfg, options)
        spec = route.spec
        if not cfg.base_url:
            raise ConfigurationError(
                f"no base_url for {route.provider}: set {_env_hint(spec, 'base_url')} or pass base_url=..."
            )
        if spec.key_required and not cfg.api_key and not cfg.options.get("azure_ad_token"):
            raise ConfigurationError(
                f"no API key for {route.provider}: set {_env_hint(spec, 'api_key')}, pass api_key=..., "
                f"or add it under providers.{route.provider}.api_key in llmplex.yaml"
            )
        return cfg

    def chat(self, kwargs: dict[str, Any], stream: bool) -> Call[Any]:
        """A chat completion call (with its fallbacks)."""
        return self._with_fallbacks(lambda kw: self._chat(kw, stream), kwargs)

    def completion(self, kwargs: dict[str, Any], stream: bool) -> Call[Any]:
        """A legacy text completion call (with its fallbacks)."""
        return self._with_fallbacks(lambda kw: self._completion(kw, stream), kwargs)

    def embedding(self, kwargs: dict[str, Any]) -> Call[Any]:
        """An embeddings call (with its fallbacks)."""
        return self._with_fallbacks(self._embedding, kwargs)

    def _chat(self, kwargs: dict[str, Any], stream: bool) -> Call[Any]:
        model = kwargs.pop("model", None)
        messages = kwargs.pop("messages", None)
        _check_messages(messages)
        route = self.route(model)
        params, options = _split(kwargs, _CHAT_KEYS, "chat.completions.create", route.spec.options)
        cfg = self.settings(route, options)
        _check_capabilities(route, params, stream)
        tools: dict[str, Any] = {}
        if "tools" in params:
            params["tools"], tools = _tool_params(params["tools"])
        plan = None
        if _asks_for_schema(params.get("response_format")):
            from .structured import structured_plan

            plan = structured_plan(params["response_format"], route.provider, route.spec.capabilities, params)
            if plan is not None:
                params, messages = plan.params(params), plan.messages(messages)
        adapter = self.registry.adapter(route)
        req = ChatRequest(route.model, messages, params, stream)
        call = Call(
            provider=route.provider, model=route.model, settings=cfg,
            build=lambda: adapter.build_chat_request(req, cfg),
            parse=lambda resp: adapter.parse_chat_response(resp, req),
            parse_error=adapter.parse_error, credentials=_credentials(adapter, cfg),
            decoder=lambda: adapter.chat_stream_decoder(req),
            accumulator=ChatCompletionAccumulator,
            media=None if route.spec.capabilities.image_urls else _media_step(req, cfg),
            output=plan, prompt=PromptTokens(route.provider, route.model, req, self.layers.catalog),
            events=CallObserver(self.metrics, route.provider, route.model, "chat", stream, messages),
        )
        if plan is not None and plan.mechanism == "tool":
            from .structured import MappedDecoder

            call.parse = lambda resp: plan.finish(adapter.parse_chat_response(resp, req))
            call.decoder = lambda: MappedDecoder(adapter.chat_stream_decoder(req), plan.chunk)
        if tools:
            _bind_tools(call, tools)
        return call

    def _completion(self, kwargs: dict[str, Any], stream: bool) -> Call[Any]:
        """A legacy text completion call (through chat where the provider has no endpoint)."""
        model = kwargs.pop("model", None)
        if "prompt" not in kwargs:
            raise InvalidRequestError("completions.create needs prompt=...")
        prompt = kwargs.pop("prompt")
        route = self.route(model)
        params, options = _split(kwargs, _COMPLETION_KEYS, "completions.create", route.spec.options)
        cfg = self.settings(route, options)
        _check_capabilities(route, params, stream)
        adapter = self.registry.adapter(route)
        req = CompletionRequest(route.model, prompt, params, stream)
        events = CallObserver(self.metrics, route.provider, route.model, "text_completion", stream, prompt)
        tokens = TextTokens(route.provider, route.model, prompt, self.layers.catalog)
        if route.spec.capabilities.completions:
            return Call(
                provider=route.provider, model=route.model, settings=cfg,
                build=lambda: adapter.build_completion_request(req, cfg),
                parse=lambda resp: adapter.parse_completion_response(resp, req),
                parse_error=adapter.parse_error, credentials=_credentials(adapter, cfg),
                decoder=lambda: adapter.completion_stream_decoder(req),
                accumulator=CompletionAccumulator, events=events, prompt=tokens,
            )
        chat = chat_request_for(req, route.provider, cfg.drop_unsupported)
        return Call(
            provider=route.provider, model=route.model, settings=cfg,
            build=lambda: adapter.build_chat_request(chat, cfg),
            parse=lambda resp: completion_from_chat(adapter.parse_chat_response(resp, chat)),
            parse_error=adapter.parse_error, credentials=_credentials(adapter, cfg),
            decoder=lambda: ChatBackedCompletionDecoder(adapter.chat_stream_decoder(chat)),
            accumulator=CompletionAccumulator, events=events, prompt=tokens,
        )

    def _embedding(self, kwargs: dict[str, Any]) -> Call[Any]:
        model = kwargs.pop("model", None)
        if "input" not in kwargs:
            raise InvalidRequestError("embeddings.create needs input=... (a string or a list of strings)")
        data = kwargs.pop("input")
        if isinstance(data, (list, tuple)) and not data:
            raise InvalidRequestError("embeddings.create got an empty input list")
        route = self.route(model)
        params, options = _split(kwargs, _EMBEDDING_KEYS, "embeddings.create", route.spec.options)
        cfg = self.settings(route, options)
        if not route.spec.capabilities.embeddings:
            raise UnsupportedParameterError(
                f"{route.provider} does not offer embeddings; pick a provider that does "
                f"(openai, azure, mistral, together, fireworks, deepinfra, xai, openai_compatible …)",
                provider=route.provider, model=route.model,
            )
        adapter = self.registry.adapter(route)
        req = EmbeddingRequest(route.model, data, params)
        return Call(
            provider=route.provider, model=route.model, settings=cfg,
            build=lambda: adapter.build_embedding_request(req, cfg),
            parse=lambda resp: adapter.parse_embedding_response(resp, req),
            parse_error=adapter.parse_error, credentials=_credentials(adapter, cfg),
            events=CallObserver(self.metrics, route.provider, route.model, "embeddings", False, data),
            prompt=TextTokens(route.provider, route.model, data, self.layers.catalog),
        )


def _price(provider: str, model: str, layers: ConfigLayers, prompt: PromptTokens | TextTokens | None,
           result: Any) -> None:
    """Set ``result.cost`` from its usage and the catalog (the client's catalog overrides first);
    a result the catalog cannot price keeps ``cost=None`` — never a guess. A result that came
    without usage first gets one counted locally (``usage.estimated``; its cost is flagged too)."""
    usage = getattr(result, "usage", None)
    if usage is None and prompt is not None and hasattr(result, "usage"):
        usage = result.usage = prompt.usage(result)
    if usage is None or not hasattr(result, "cost"):
        return
    from .catalog import cost_of

    found = cost_of(provider, model, usage, overrides=layers.catalog())  # every layer, the runtime one too
    if found is not None:
        result.cost = found


def _asks_for_schema(value: Any) -> bool:
    """Whether ``response_format`` needs the structured-output layer: a type, a JSON schema, or
    OpenAI's ``json_schema`` (``text`` / ``json_object`` go to the adapter as they are)."""
    if value is None:
        return False
    return not (isinstance(value, Mapping) and value.get("type") in ("text", "json_object"))


def _tool_params(tools: Any) -> tuple[list[Any], dict[str, Any]]:
    """``tools=`` as OpenAI tool dicts (functions, pydantic models and `Tool` objects converted),
    and the `Tool` of each converted one by name."""
    if not isinstance(tools, (list, tuple)):
        raise InvalidRequestError(f"tools must be a list, got {type(tools).__name__}")
    if all(type(t) is dict for t in tools):
        return list(tools), {}
    from .tools import as_tool  # only when something needs converting

    converted = {i: as_tool(t) for i, t in enumerate(tools) if not isinstance(t, Mapping)}
    params = [converted[i].to_param() if i in converted else t for i, t in enumerate(tools)]
    return params, {t.name: t for t in converted.values()}


def _bind_tools(call: Call[Any], tools: Mapping[str, Any]) -> None:
    """Tool calls in the result (whole or accumulated from a stream) learn their `Tool`, so
    ``call.parsed_arguments`` validates against its signature."""
    from .tools._arguments import bind_tools

    parse = call.parse
    call.parse = lambda resp: bind_tools(parse(resp), tools)
    call.accumulator = lambda: ChatCompletionAccumulator(finish=lambda completion: bind_tools(completion, tools))


def _credentials(adapter: Adapter, cfg: CallSettings) -> BlockingCredentials | None:
    """The credentials the drivers refresh before the call, from the adapter's optional
    ``blocking_credentials`` method (see :class:`~llmplex.providers.base.BlockingCredentials`)."""
    offer = getattr(adapter, "blocking_credentials", None)
    return offer(cfg) if offer is not None else None


def _media_step(req: ChatRequest, cfg: CallSettings) -> MediaStep | None:
    """The image downloads a chat request needs before it can go to a bytes-only provider."""
    urls = remote_image_urls(req.messages)
    if not urls:
        return None

    def apply(data_urls: Mapping[str, str]) -> None:
        req.messages = inline_images(req.messages, data_urls)

    return MediaStep(urls, cfg.max_image_bytes, cfg.timeout, apply)


def _check_messages(messages: object) -> None:
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InvalidRequestError(
            "messages must be a non-empty list like [{'role': 'user', 'content': 'Hi'}], "
            f"got {type(messages).__name__}"
        )
    for i, message in enumerate(messages):
        if type(message) is dict or isinstance(message, Mapping):
            role = message.get("role")
        else:
            role = getattr(message, "role", None)
        if role not in _ROLES:
            raise InvalidRequestError(
                f"messages[{i}] needs a role of system, developer, user, assistant or tool; got {role!r}"
            )


def _check_capabilities(route: Route, params: Mapping[str, Any], stream: bool) -> None:
    caps = route.spec.capabilities
    if stream and not caps.stream:
        raise UnsupportedParameterError(f"{route.provider} does not support streaming", provider=route.provider,
                                        model=route.model, param="stream")
    n = params.get("n")
    if isinstance(n, int) and n > 1 and not caps.n:
        raise UnsupportedParameterError(
            f"{route.provider} returns one choice per request (n={n} asked); make {n} calls instead",
            provider=route.provider, model=route.model, param="n",
        )


def _override(cfg: CallSettings, options: Mapping[str, Any]) -> CallSettings:
    changes: dict[str, Any] = {}
    provider_options: dict[str, Any] = {}
    for key, value in options.items():
        try:
            value = normalise_setting(key, value, f"the {key}= argument")
        except ConfigurationError as exc:
            raise InvalidRequestError(exc.message) from None
        if key in ("extra_headers", "extra_query", "extra_body"):
            value = {**getattr(cfg, key), **value}
        if key in _OPTIONS:
            changes[key] = value
        else:  # one of the provider's own options (anthropic_beta, keep_alive …)
            provider_options[key] = value
    if provider_options:
        changes["options"] = {**cfg.options, **provider_options}
    return dataclasses.replace(cfg, **changes)


def _env_hint(spec: ProviderSpec, key: str) -> str:
    names = spec.api_key_env if key == "api_key" else spec.base_url_env
    name = names[0] if names else f"LLMPLEX_{spec.name.upper()}_{key.upper()}"
    return f"${name}"

"""Router: logical models over deployments, strategies, health, configuration."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import llmplex
from llmplex.resilience.guard import Outcome
from llmplex.routing import Router

KEYS = {"deepseek": {"api_key": "sk-ds"}, "groq": {"api_key": "gsk-g"}, "openrouter": {"api_key": "sk-or"}}
DEEPSEEK = ["deepseek/deepseek-chat", "groq/deepseek-r1-distill-llama-70b", "openrouter/deepseek/deepseek-chat"]


def client_with(strategy: str = "round-robin", models: object = None, **router: object) -> llmplex.Client:
    return llmplex.Client(
        providers=KEYS, env={},
        router={"strategy": strategy, "models": models or {"deepseek-chat": DEEPSEEK}, **router},
    )


def firsts(router: Router, n: int) -> Counter[str]:
    return Counter(router.order("deepseek-chat")[0].model for _ in range(n))


def test_weighted_round_robin_leads_in_proportion_to_weight() -> None:
    client = client_with(models={"deepseek-chat": [
        {"model": DEEPSEEK[0], "weight": 3}, DEEPSEEK[1], DEEPSEEK[2],
    ]})
    orders = [tuple(c.model for c in client.router.order("deepseek-chat")) for _ in range(5)]
    assert all(sorted(o) == sorted(DEEPSEEK) for o in orders)  # every deployment, every time
    assert firsts(client.router, 500) == {DEEPSEEK[0]: 300, DEEPSEEK[1]: 100, DEEPSEEK[2]: 100}


def test_priority_keeps_the_configured_order() -> None:
    client = client_with("priority")
    assert [c.model for c in client.router.order("deepseek-chat")] == DEEPSEEK


def test_open_circuits_go_last_whatever_the_strategy() -> None:
    client = client_with("priority", breaker={"failures": 1})
    first = client.router.order("deepseek-chat")[0]
    client.router.guard.admit(first.deployment)
    client.router.guard.record(first.deployment, Outcome("failure", status=503))
    assert [c.model for c in client.router.order("deepseek-chat")] == [DEEPSEEK[1], DEEPSEEK[2], DEEPSEEK[0]]
    stats = {s.name: s for s in client.router.stats()}
    assert stats[DEEPSEEK[0]].circuit == "open" and stats[DEEPSEEK[0]].failures == 1
    assert stats[DEEPSEEK[1]].circuit == "closed"


def test_least_in_flight_prefers_idle_deployments() -> None:
    client = client_with("least-in-flight")
    guard = client.router.guard
    assert guard is not None
    busy = client.router.order("deepseek-chat")[0]
    guard.admit(busy.deployment)
    guard.admit(busy.deployment)
    order = client.router.order("deepseek-chat")
    assert order[-1].model == busy.model
    guard.admit(order[0].deployment)
    assert client.router.order("deepseek-chat")[0].model not in (busy.model, order[0].model)


def test_lowest_latency_follows_the_ewma() -> None:
    client = client_with("lowest-latency")
    guard = client.router.guard
    assert guard is not None
    choices = {c.model: c.deployment for c in client.router.order("deepseek-chat")}
    for model, latency in zip(DEEPSEEK, (0.9, 0.2, 0.5), strict=True):
        guard.admit(choices[model])
        guard.record(choices[model], Outcome("success", latency=latency))
    assert [c.model for c in client.router.order("deepseek-chat")] == [DEEPSEEK[1], DEEPSEEK[2], DEEPSEEK[0]]
    for _ in range(20):  # the fast one slows down: the average follows
        guard.admit(choices[DEEPSEEK[1]])
        guard.record(choices[DEEPSEEK[1]], Outcome("success", latency=2.0))
    assert client.router.order("deepseek-chat")[0].model == DEEPSEEK[2]
    stats = {s.name: s for s in client.router.stats()}
    assert stats[DEEPSEEK[0]].latency == pytest.approx(0.9) and stats[DEEPSEEK[0]].in_flight == 0


def test_lowest_cost_puts_unpriced_deployments_last_in_configured_order() -> None:
    unpriced = "fireworks/accounts/fireworks/models/deepseek-v3"  # neither configured nor in the catalog
    client = client_with("lowest-cost", models={"deepseek-chat": [
        unpriced, {"model": DEEPSEEK[1], "input_price": 0.6, "output_price": 0.8},
        {"model": DEEPSEEK[2], "input_price": 0.27, "output_price": 1.1}, "together/deepseek-ai/DeepSeek-V3",
    ]})
    order = [c.model for c in client.router.order("deepseek-chat")]
    assert order == [DEEPSEEK[2], DEEPSEEK[1], unpriced, "together/deepseek-ai/DeepSeek-V3"]


def test_deployment_settings_and_ids() -> None:
    client = client_with(models={"m": [
        {"model": "openai/gpt-4o", "api_key": "sk-east", "base_url": "https://east.example/v1", "name": "east"},
        {"model": "openai/gpt-4o", "api_key": "sk-west", "base_url": "https://west.example/v1"},
        {"model": "openai/gpt-4o", "api_key": "sk-west2", "base_url": "https://west.example/v1"},
    ]}, strategy="priority")
    order = client.router.order("m")
    assert [c.name for c in order] == ["east", "openai/gpt-4o", "openai/gpt-4o#2"]
    assert order[0].settings["api_key"].reveal() == "sk-east"
    ids = [c.deployment.id for c in order]
    assert len(set(ids)) == 3 and all(i.startswith("openai/gpt-4o@") for i in ids)
    assert not any("sk-" in i for i in ids)
    # a plain call with the same provider, key and URL is the same deployment
    route = client._calls.route("openai/gpt-4o")
    cfg = client._calls.settings(route, {"api_key": "sk-east", "base_url": "https://east.example/v1"})
    assert client._calls.deployment(route, cfg) == order[0].deployment


def test_deployment_limits_reach_the_guard() -> None:
    client = client_with("priority", models={"m": [{"model": DEEPSEEK[0], "rpm": 60, "burst": 1, "wait": False}]})
    choice = client.router.order("m")[0]
    client.router.guard.admit(choice.deployment)
    with pytest.raises(llmplex.RateLimitError):
        client.router.guard.admit(choice.deployment)


def test_router_section_in_llmplex_yaml(tmp_path: Path) -> None:
    path = tmp_path / "llmplex.yaml"
    path.write_text(
        "router:\n"
        "  strategy: priority\n"
        "  breaker: {failures: 3, open_for: 45}\n"
        "  limits:\n"
        "    groq: {rpm: 30}\n"
        "  models:\n"
        "    deepseek-chat:\n"
        "      - deepseek/deepseek-chat\n"
        "      - {model: groq/deepseek-r1-distill-llama-70b, weight: 2}\n"
    )
    client = llmplex.Client(providers=KEYS, env={}, config_file=path)
    cfg = client.router.config
    assert cfg.strategy == "priority" and cfg.breaker is not None and cfg.breaker.failures == 3
    assert cfg.limits["groq"].rpm == 30
    assert client.router.models == ["deepseek-chat"]
    assert [c.model for c in client.router.order("deepseek-chat")] == DEEPSEEK[:2]


@pytest.mark.parametrize(
    ("router", "message"),
    [
        ({"strategy": "fastest"}, "router.strategy must be one of"),
        ({"models": {"m": []}}, "non-empty list"),
        ({"models": {"m": [{"weight": 2}]}}, "needs model"),
        ({"models": {"m": [{"model": "openai/gpt-4o", "weight": -1}]}}, "weight must be"),
        ({"models": {"m": [{"model": "openai/gpt-4o", "colour": "red"}]}}, "unknown setting"),
        ({"models": {"m": [{"model": "openai/gpt-4o", "rpm": 0}]}}, "rpm must be"),
        ({"breaker": {"failures": 0}}, "router.breaker"),
        ({"breaker": {"failurs": 3}}, "unknown setting"),
        ({"state": {"on_error": "maybe"}}, "on_error"),
        ({"limits": {"groq": {"rpm": "many"}}}, "router.limits.groq"),
        ({"retries": 3}, "router: unknown setting"),
    ],
)
def test_router_configuration_errors_name_the_key(router: dict[str, object], message: str) -> None:
    with pytest.raises(llmplex.ConfigurationError, match=message):
        llmplex.Client(env={}, router=router)


def test_breaker_can_be_switched_off() -> None:
    client = client_with(breaker=False)
    assert client.router.guard is not None and client.router.guard.breaker is None
    assert {s.circuit for s in client.router.stats()} <= {"closed"}


def test_redis_state_from_configuration(redis_url: str, namespace: str) -> None:
    from llmplex.resilience.state.redis_state import RedisState

    client = client_with(state={"url": redis_url, "namespace": namespace, "on_error": "closed", "timeout": 0.2})
    state = client.router.state
    assert isinstance(state, RedisState)
    assert (state.namespace, state.on_error) == (namespace, "closed")
    assert [s.circuit for s in client.router.stats()] == []
    client.router.order("deepseek-chat")
    assert {s.circuit for s in client.router.stats()} == {"closed"}

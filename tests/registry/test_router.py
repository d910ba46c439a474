"""Router: routing, failover, rests and probes, fallbacks, streaming, the actor tree."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import trio

from callboard import (
    BadRequest,
    CallingCancelledError,
    CallingRouted,
    CallingStatus,
    CallingTimeoutError,
    CircuitOpen,
    ConfigError,
    ConnectionFailed,
    DeploymentCooling,
    DeploymentRecovered,
    Router,
    ServerError,
    ServiceRegistry,
    iModel,
)

from .router_backends import Deployed


def model(name: str, backend: Deployed | None = None, **options: Any) -> iModel:
    return iModel(backend=backend or Deployed(name), name=name, **options)


async def call(router: Router, key: int = 0, **options: Any) -> Any:
    return await router.invoke(id=key, **options)


# -- building ------------------------------------------------------------------------------


def test_bad_configurations_name_the_problem() -> None:
    a, b = model("a"), model("b")
    with pytest.raises(ConfigError, match="at least one deployment"):
        Router("r", [])
    with pytest.raises(ConfigError, match="two deployments are named 'a'"):
        Router("r", [a, model("a")])
    with pytest.raises(ConfigError, match="a deployment is an iModel, got str"):
        Router("r", ["gpt"])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="unknown routing strategy 'fastest'"):
        Router("r", [a], strategy="fastest")
    with pytest.raises(ConfigError, match="weights must be 2"):
        Router("r", [a, b], weights=[1.0])
    with pytest.raises(ConfigError, match="weights must be 2"):
        Router("r", [a, b], weights=[0, 0])
    with pytest.raises(ConfigError, match="unknown fallback kind"):
        Router("r", [a], fallback_on={"too_long": [b]})
    with pytest.raises(ConfigError, match="is a deployment of router 'r' and its fallback"):
        Router("r", [a], fallbacks=[a])
    with pytest.raises(ConfigError, match="cooldown must be a positive"):
        Router("r", [a], cooldown=0)
    with pytest.raises(ConfigError, match="failures_to_cool"):
        Router("r", [a], failures_to_cool=0)


def test_a_fallback_cycle_is_refused() -> None:
    first = Router("first", [model("a")])
    second = Router("second", [model("b")], fallbacks=[first])
    third = Router("third", [model("c")], fallbacks=[second])
    assert third.reaches(first) and not first.reaches(third)
    first.fallbacks = (third,)  # closes first -> third -> second -> first
    with pytest.raises(ConfigError, match="fallback cycle: 'third' -> 'second' -> 'first'"):
        Router("fourth", [model("d")], fallbacks=[third])
    loop = Router("loop", [model("z")])
    loop.fallbacks = (loop,)
    with pytest.raises(ConfigError, match="fallback cycle: 'loop' -> 'loop'"):
        Router("five", [model("e")], fallback_on={"content_filter": [loop]})


def test_mixed_model_types_are_refused() -> None:
    chat = iModel(provider="openai", endpoint="chat", api_key="sk-test-key-0000", name="chat")
    embed = iModel(
        provider="openai", endpoint="embeddings", api_key="sk-test-key-0000", name="embed"
    )
    with pytest.raises(ConfigError, match="different model types"):
        Router("r", [chat, embed])


# -- routing and failover -----------------------------------------------------------------


async def test_a_failing_deployment_hands_the_call_on(autojump_clock: trio.abc.Clock) -> None:
    a = Deployed("a", script=["server"])
    b = Deployed("b")
    router = Router("r", [model("a", a), model("b", b)], strategy="round_robin")
    calling = await call(router, 1)
    assert calling.status is CallingStatus.COMPLETED
    assert calling.deployment == "b"
    assert calling.tried == ("a", "b")
    assert calling.response == {"served_by": "b", "id": 1}
    assert (a.calls, b.calls) == (1, 1) and b.served == [1]


async def test_a_bad_request_is_not_sent_elsewhere(autojump_clock: trio.abc.Clock) -> None:
    a = Deployed("a", script=["bad"])
    b = Deployed("b")
    router = Router("r", [model("a", a), model("b", b)], strategy="round_robin")
    with pytest.raises(BadRequest) as raised:
        await call(router)
    assert raised.value.calling.tried == ("a",)  # type: ignore[attr-defined]
    assert b.calls == 0


async def test_every_deployment_failed_then_the_fallbacks_in_order(
    autojump_clock: trio.abc.Clock,
) -> None:
    a, b = Deployed("a", then="server"), Deployed("b", then="server")
    spare, last = Deployed("spare", then="rate"), Deployed("last")
    router = Router(
        "r",
        [model("a", a), model("b", b)],
        fallbacks=[model("spare", spare), model("last", last)],
    )
    calling = await call(router)
    assert calling.deployment == "last"
    assert calling.tried[2:] == ("spare", "last") and set(calling.tried[:2]) == {"a", "b"}


async def test_no_fallback_left_raises_the_last_error(autojump_clock: trio.abc.Clock) -> None:
    router = Router("r", [model("a", Deployed("a", then="server"))])
    with pytest.raises(ServerError):
        await call(router)


async def test_context_window_goes_to_its_own_fallback(autojump_clock: trio.abc.Clock) -> None:
    a, b = Deployed("a", then="context"), Deployed("b")
    longer = Deployed("longer")
    router = Router(
        "r",
        [model("a", a), model("b", b)],
        strategy="round_robin",
        fallback_on={"context_window": [model("longer", longer)]},
    )
    calling = await call(router)
    assert calling.deployment == "longer"
    assert calling.tried == ("a", "longer")
    assert b.calls == 0  # another deployment of the same model would refuse it too


class First:
    """Always the first candidate: the Router's order decides."""

    name = "first"

    def choose(self, candidates: Any, tokens: int) -> Any:
        return candidates[0]


async def test_a_vanished_deployment_rests_at_once_and_comes_back(
    autojump_clock: trio.abc.Clock,
) -> None:
    a = Deployed("a", script=["connection"])
    b = Deployed("b")
    router = Router("r", [model("a", a), model("b", b)], strategy=First(), cooldown=5.0)
    events: list[Any] = []
    with router.broadcast.subscribe() as sub:
        first = await call(router, 1)
        assert first.tried == ("a", "b")
        for key in range(2, 6):  # resting: a gets none of these
            assert (await call(router, key)).deployment == "b"
        assert a.calls == 1
        await trio.sleep(5.0)
        probe = await call(router, 9)
        while True:
            try:
                events.append(sub.receive_nowait())
            except trio.WouldBlock:
                break
    assert probe.tried[0] == "a" and probe.deployment == "a"
    kinds = [type(e) for e in events if not isinstance(e, CallingRouted)]
    assert kinds.index(DeploymentCooling) < kinds.index(DeploymentRecovered)


async def test_retryable_failures_rest_a_deployment_after_a_run_of_them(
    autojump_clock: trio.abc.Clock,
) -> None:
    a = Deployed("a", then="server")
    router = Router("r", [model("a", a), model("b")], strategy="round_robin", failures_to_cool=3)
    for key in range(12):
        await call(router, key)
    assert a.calls == 3  # then it rests (1 s doubling) and the calls take b at once
    assert not router.deployment("a").available()


async def test_every_deployment_resting_fails_fast_with_circuit_open(
    autojump_clock: trio.abc.Clock,
) -> None:
    router = Router("r", [model("a", Deployed("a", then="connection"))], cooldown=30.0)
    with pytest.raises(ConnectionFailed):  # the first call meets the real failure
        await call(router)
    start = trio.current_time()
    with pytest.raises(CircuitOpen, match="every deployment is resting"):
        await call(router)
    assert trio.current_time() == start


async def test_the_timeout_covers_every_attempt(autojump_clock: trio.abc.Clock) -> None:
    a = Deployed("a", delay=3.0, then="server")
    b = Deployed("b", delay=3.0)
    router = Router("r", [model("a", a), model("b", b)], strategy="round_robin")
    start = trio.current_time()
    with pytest.raises(CallingTimeoutError):
        await router.invoke(id=1, timeout=4.0)
    assert trio.current_time() - start == pytest.approx(4.0)
    assert b.served == []


async def test_cancelling_a_routed_call_cancels_its_attempt(
    autojump_clock: trio.abc.Clock,
) -> None:
    a = Deployed("a", delay=10.0)
    router = Router("r", [model("a", a)])
    calling = await router.create_calling(id=1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_quietly, router.invoke(calling))
        await trio.sleep(1.0)
        calling.cancel()
    assert calling.status is CallingStatus.CANCELLED
    assert a.served == [] and trio.current_time() < 10.0
    assert isinstance(calling.error, CallingCancelledError)


async def _quietly(awaitable: Any) -> None:
    with contextlib.suppress(CallingCancelledError):
        await awaitable


# -- strategies -----------------------------------------------------------------------------


async def test_round_robin_and_weighted_split(autojump_clock: trio.abc.Clock) -> None:
    a, b = Deployed("a", delay=0), Deployed("b", delay=0)
    router = Router("r", [model("a", a), model("b", b)], strategy="round_robin")
    for key in range(10):
        await call(router, key)
    assert (len(a.served), len(b.served)) == (5, 5)

    from callboard.registry._strategies import Weighted

    c, d = Deployed("c", delay=0), Deployed("d", delay=0)
    weighted = Router(
        "w", [model("c", c), model("d", d)], strategy=Weighted(seed=7), weights=[1, 3]
    )
    for key in range(400):
        await call(weighted, key)
    assert 0.68 < len(d.served) / 400 < 0.82


async def test_least_busy_spreads_concurrent_calls(autojump_clock: trio.abc.Clock) -> None:
    backends = [Deployed(n, delay=1.0) for n in "abc"]
    router = Router("r", [model(b.name, b) for b in backends], strategy="least_busy")
    async with trio.open_nursery() as nursery:
        for key in range(30):
            nursery.start_soon(call, router, key)
    assert [len(b.served) for b in backends] == [10, 10, 10]


async def test_latency_prefers_the_fastest_once_measured(autojump_clock: trio.abc.Clock) -> None:
    slow, fast = Deployed("slow", delay=2.0), Deployed("fast", delay=0.1)
    router = Router("r", [model("slow", slow), model("fast", fast)], strategy="latency")
    for key in range(20):
        await call(router, key)
    assert len(slow.served) == 1 and len(fast.served) == 19


async def test_a_strategy_of_your_own(autojump_clock: trio.abc.Clock) -> None:
    class Last:
        name = "last"

        def choose(self, candidates: Any, tokens: int) -> Any:
            return candidates[-1]

    a, b = Deployed("a"), Deployed("b")
    router = Router("r", [model("a", a), model("b", b)], strategy=Last())
    await call(router)
    assert b.served == [0] and a.calls == 0


async def test_headroom_splits_by_each_deployments_rate(autojump_clock: trio.abc.Clock) -> None:
    slow, fast = Deployed("slow", delay=0.05), Deployed("fast", delay=0.05)
    router = Router(
        "r",
        [
            model("slow", slow, limit_requests=10, capacity_refresh_time=1.0),
            model("fast", fast, limit_requests=20, capacity_refresh_time=1.0),
        ],
    )
    async with router, trio.open_nursery() as nursery:
        for key in range(300):
            nursery.start_soon(call, router, key)
    share = len(fast.served) / 300
    assert len(slow.served) + len(fast.served) == 300
    assert abs(share - 2 / 3) < 0.1, share


# -- streaming ------------------------------------------------------------------------------


async def test_a_stream_that_failed_before_its_first_chunk_moves_on(
    autojump_clock: trio.abc.Clock,
) -> None:
    a = Deployed("a", words=["x"], script=["server"], fail_after_words=0)
    b = Deployed("b", words=["Once ", "upon."])
    router = Router("r", [model("a", a), model("b", b)], strategy="round_robin")
    async with router:
        chunks = [chunk async for chunk in router.invoke_stream(id=1)]
    assert chunks == ["Once ", "upon."]


async def test_a_stream_that_failed_after_a_chunk_is_the_calls_failure(
    autojump_clock: trio.abc.Clock,
) -> None:
    a = Deployed("a", words=["Once ", "upon."], script=["server"], fail_after_words=1)
    b = Deployed("b", words=["never"])
    router = Router("r", [model("a", a), model("b", b)], strategy="round_robin")
    chunks: list[str] = []
    async with router:
        with pytest.raises(ServerError):
            async for chunk in router.invoke_stream(id=1):
                chunks.append(chunk)
    assert chunks == ["Once "] and b.calls == 0


# -- the actor tree and the registry -------------------------------------------------------


async def test_started_router_runs_each_deployment(autojump_clock: trio.abc.Clock) -> None:
    a, b = model("a"), model("b")
    router = Router("r", [a, b])
    assert not router.is_started
    async with router:
        assert router.is_started and a.is_started and b.is_started
        assert (await call(router)).status is CallingStatus.COMPLETED
    assert not (router.is_started or a.is_started or b.is_started)


async def test_a_registry_serves_a_router_by_name_and_tag(autojump_clock: trio.abc.Clock) -> None:
    registry = ServiceRegistry()
    router = Router("gpt-4o-mini", [model("a"), model("b")], tags=["llm"])
    registry.register(router)
    assert registry.get("gpt-4o-mini") is router
    assert registry.list_by_tag("llm") == [router]
    async with registry:
        assert router.is_started
        found = registry.get("gpt-4o-mini")
        assert isinstance(found, Router)
        assert (await call(found)).deployment in {"a", "b"}
    assert not router.is_started


def test_to_dict_from_dict_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_KEY_US", "sk-us-1111111111")
    monkeypatch.setenv("OPENAI_KEY_EU", "sk-eu-2222222222")
    us = iModel(provider="openai", api_key="OPENAI_KEY_US", name="us", limit_requests=100)
    eu = iModel(provider="openai", api_key="OPENAI_KEY_EU", name="eu")
    spare = Router("spare", [iModel(provider="openai", api_key="OPENAI_KEY_EU", name="s")])
    router = Router(
        "gpt", [us, eu], strategy="weighted", weights=[2, 1], fallbacks=[spare], tags=["llm"]
    )
    data = router.to_dict()
    assert "sk-" not in repr(data)
    again = Router.from_dict(data)
    assert again.to_dict() == data
    assert [d.name for d in again.deployments] == ["us", "eu"]
    assert again.strategy.name == "weighted" and again.tags == {"llm"}
    assert isinstance(again.fallbacks[0], Router)
    with pytest.raises(ConfigError):
        Router.from_dict({**data, "deployments": []})


def test_a_custom_strategy_is_not_serialized() -> None:
    class Mine:
        name = "mine"

        def choose(self, candidates: Any, tokens: int) -> Any:
            return candidates[0]

    router = Router("r", [model("a")], strategy=Mine())
    with pytest.raises(ConfigError, match="strategy of its own"):
        router.to_dict()


async def test_a_deployments_hook_refusal_is_the_calls_end(autojump_clock: trio.abc.Clock) -> None:
    from callboard import HookAborted, HookPhase, HookRegistry

    async def refuse(calling: Any, **_: Any) -> None:
        raise ValueError("policy says no")

    hooks = HookRegistry()
    hooks.register(HookPhase.PreEventCreate, refuse, exit=True)
    a = Deployed("a")
    b = Deployed("b")
    router = Router(
        "r", [iModel(backend=a, name="a", hook_registry=hooks), model("b", b)], strategy=First()
    )
    with pytest.raises(HookAborted):
        await call(router)
    assert (a.calls, b.calls) == (0, 0)
    assert router.deployment("a").available()  # a refusal is no reason to rest it

"""Properties of routing: whatever the deployments do, every call ends exactly once, is
never in flight on two deployments at once, and is served by at most one."""

from __future__ import annotations

import contextlib
from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard import CallboardError, CallingStatus, Router, iModel

from .router_backends import FAILURES, Deployed

outcomes = st.one_of(st.none(), st.sampled_from(sorted(FAILURES)))
scripts = st.lists(outcomes, min_size=0, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    deployments=st.lists(st.tuples(scripts, outcomes, st.floats(0.0, 2.0)), min_size=1, max_size=4),
    fallback=st.one_of(st.none(), st.tuples(scripts, outcomes)),
    strategy=st.sampled_from(["headroom", "least_busy", "latency", "round_robin", "weighted"]),
    calls=st.lists(
        st.tuples(st.one_of(st.none(), st.floats(0.5, 6.0)), st.booleans(), st.booleans()),
        min_size=1,
        max_size=25,
    ),
    started=st.booleans(),
)
def test_every_call_ends_exactly_once(
    deployments: list[tuple[list[str | None], str | None, float]],
    fallback: tuple[list[str | None], str | None] | None,
    strategy: str,
    calls: list[tuple[float | None, bool, bool]],
    started: bool,
) -> None:
    in_flight: dict[Any, list[str]] = {}
    backends = [
        Deployed(f"d{i}", delay=delay, script=script, then=then)
        for i, (script, then, delay) in enumerate(deployments)
    ]
    spare = None
    if fallback is not None:
        spare = Deployed("spare", script=fallback[0], then=fallback[1])
        backends.append(spare)
    for backend in backends:
        backend.registry = in_flight
    router = Router(
        "r",
        [iModel(backend=b, name=b.name) for b in backends if b is not spare],
        strategy=strategy,
        fallbacks=[iModel(backend=spare, name="spare")] if spare is not None else [],
    )
    results: dict[int, Any] = {}

    async def one(key: int, timeout: float | None, cancel: bool) -> None:
        calling = await router.create_calling(timeout=timeout, id=key)
        async with trio.open_nursery() as nursery:

            async def run() -> None:
                with contextlib.suppress(CallboardError):
                    await router.invoke(calling)

            nursery.start_soon(run)
            if cancel:
                await trio.sleep(0.3)
                if not calling.finished:
                    calling.cancel()
        results[key] = calling

    async def direct(key: int, timeout: float | None, cancel: bool) -> None:
        # invoke(**request): nobody holds the call, its first attempt is the deployment's
        scope = trio.CancelScope()

        async def run() -> None:
            with scope:
                try:
                    results[key] = await router.invoke(timeout=timeout, id=key)
                except CallboardError as error:
                    results[key] = error.calling  # pyright: ignore[reportAttributeAccessIssue]
            if scope.cancelled_caught:
                results[key] = None  # the caller left: no Calling came back

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            if cancel:
                await trio.sleep(0.3)
                scope.cancel()

    async def main() -> None:
        async def all_calls() -> None:
            async with trio.open_nursery() as nursery:
                for key, (timeout, cancel, held) in enumerate(calls):
                    nursery.start_soon(one if held else direct, key, timeout, cancel)

        if started:
            async with router:
                await all_calls()
        else:
            await all_calls()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

    assert sorted(results) == list(range(len(calls)))  # no caller hangs
    served: dict[Any, list[str]] = {}
    for backend in backends:
        for key in backend.served:
            served.setdefault(key, []).append(backend.name)
    for backend in backends:  # a call fails over to each target once, never back
        assert len(backend.attempted) == len(set(backend.attempted)), backend.name
    for key, calling in results.items():
        if calling is None:  # a direct call whose caller was cancelled
            assert len(served.get(key, [])) <= 1
            continue
        assert calling.finished
        assert calling.status is not CallingStatus.PENDING
        by = served.get(key, [])
        assert len(by) <= 1, f"call {key} served by {by}"
        if calling.status is CallingStatus.COMPLETED:
            assert by == [calling.deployment] and calling.response["id"] == key
            assert calling.tried[-1] == calling.deployment
        assert len(calling.tried) == len(set(calling.tried))  # each target once
    assert all(not running for running in in_flight.values())

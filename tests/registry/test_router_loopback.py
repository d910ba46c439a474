"""A Router over real FakeProviders on 127.0.0.1, one of them stopped mid-run."""

from __future__ import annotations

import trio

from callboard import CallboardError, CallingStatus, DeploymentCooling, Router, iModel
from callboard.testing import FakeProvider

KEY = "test-key"
CALLS = 60


def deployment(name: str, fp: FakeProvider) -> iModel:
    return iModel(
        provider="openai",
        base_url=f"{fp.base_url}/v1",
        api_key=KEY,
        name=name,
        limit_requests=60_000,  # not the bottleneck: the test is about the failover
        capacity_refresh_time=60.0,
    )


async def test_a_server_that_vanishes_costs_no_call() -> None:
    stop = trio.Event()

    async def serve(task_status: trio.TaskStatus[FakeProvider]) -> None:
        async with FakeProvider(keys=[KEY]) as fp:
            task_status.started(fp)
            await stop.wait()

    async with (
        FakeProvider(keys=[KEY]) as one,
        FakeProvider(keys=[KEY]) as two,
        trio.open_nursery() as servers,
    ):
        doomed: FakeProvider = await servers.start(serve)
        router = Router(
            "gpt-4o-mini",
            [deployment("one", one), deployment("two", two), deployment("doomed", doomed)],
            strategy="round_robin",
        )
        done: list[object] = []
        failed: list[BaseException] = []

        async def ask(key: int) -> None:
            try:
                calling = await router.invoke(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": f"hello {key}"}],
                    timeout=20.0,
                )
            except CallboardError as error:
                failed.append(error)
            else:
                done.append(calling)

        cooled: list[float] = []

        async def watch(task_status: trio.TaskStatus[None]) -> None:
            with router.broadcast.subscribe() as events:
                task_status.started()
                async for event in events:
                    if isinstance(event, DeploymentCooling) and event.deployment == "doomed":
                        cooled.append(trio.current_time())
                        return

        with trio.fail_after(60):
            async with router, trio.open_nursery() as nursery:
                await nursery.start(watch)
                for key in range(CALLS // 2):
                    nursery.start_soon(ask, key)
                await doomed.wait_received(3)
                stop.set()  # the server vanishes, with calls in flight
                stopped_at = trio.current_time()
                key = CALLS // 2
                while key < CALLS or not cooled:  # and 10 more once the rest began
                    if cooled and key < CALLS - 10:
                        key = CALLS - 10
                    nursery.start_soon(ask, key)
                    key += 1
                    await trio.sleep(0.02)
                    assert key < 500, "the doomed deployment never rested"
        assert failed == []
        total = len(done) + len(failed)
        assert len(done) == total
        assert all(c.status is CallingStatus.COMPLETED for c in done)  # type: ignore[attr-defined]
        served = [c.deployment for c in done]  # type: ignore[attr-defined]
        assert served.count("doomed") <= doomed.stats.succeeded
        assert one.stats.succeeded + two.stats.succeeded + doomed.stats.succeeded == total
        # its first failure rested the doomed one within a second of the server going
        # away; no call created after that tried it
        assert cooled and cooled[0] - stopped_at < 1.0
        late = [c for c in done if c.created_at > cooled[0]]  # type: ignore[attr-defined]
        assert late and not any("doomed" in c.tried for c in late)  # type: ignore[attr-defined]

"""A graceful stop lets the calls in flight finish on the Endpoint's client."""

from __future__ import annotations

import pytest
import trio

from callboard.calling import Calling
from callboard.endpoint import EndpointRestarted
from callboard.resilience import RetryPolicy
from callboard.testing import Fault

from .endpoint_rig import CHAT, rig


async def test_a_graceful_stop_waits_for_the_calls_in_flight(autojump_clock: object) -> None:
    async with rig(retry=RetryPolicy.disabled()) as r:
        r.fp.script("*", [Fault.stall(2.0), Fault.stall(3.0)])
        callings = [Calling(dict(CHAT)) for _ in range(2)]
        for calling in callings:
            await r.executor.submit(calling)
        await r.fp.wait_received(2)
        assert r.endpoint.in_flight == 2
        start = trio.current_time()
        r.endpoint.ref.stop()
        await r.endpoint.ref.wait_stopped()
        stopped_after = trio.current_time() - start
        assert r.endpoint.in_flight == 0
        results = [await calling.wait() for calling in callings]
    # The stop waited for the slower call (3 s), and both were answered on the run's
    # own client: no EndpointRestarted, no retry, no second client.
    assert stopped_after == pytest.approx(3.0, abs=1e-6)
    assert all(result.text.endswith("hello there") for result in results)
    assert [request.status for request in r.fp.requests] == [200, 200]
    assert r.endpoint.runs == 1


async def test_a_graceful_stop_gives_up_waiting_after_stop_timeout(
    autojump_clock: object,
) -> None:
    async with rig(retry=RetryPolicy.disabled()) as r:
        r.endpoint.stop_timeout = 1.0
        r.fp.script("*", [Fault.stall(10.0)])
        calling = Calling(dict(CHAT))
        await r.executor.submit(calling)
        await r.fp.wait_received(1)
        start = trio.current_time()
        r.endpoint.ref.stop()
        await r.endpoint.ref.wait_stopped()
        assert trio.current_time() - start == pytest.approx(1.0, abs=1e-6)
        with pytest.raises(EndpointRestarted) as caught:
            await calling.wait()
    assert "stopped" in str(caught.value.__cause__)
    assert caught.value.calling_id == calling.id


async def test_a_call_made_while_stopping_uses_a_client_of_its_own(
    autojump_clock: object,
) -> None:
    async with rig(retry=RetryPolicy.disabled()) as r:
        r.fp.script("*", [Fault.stall(5.0), None])
        slow = Calling(dict(CHAT))
        await r.executor.submit(slow)
        await r.fp.wait_received(1)
        r.endpoint.ref.stop()
        # The run is draining: a new call neither waits for it nor joins its client.
        fast = await r.executor.call(Calling(dict(CHAT)))
        assert trio.current_time() < 5.0
        assert r.endpoint.in_flight == 1  # only the slow call is on the draining client
        await r.endpoint.ref.wait_stopped()
        assert (await slow.wait()).text.endswith("hello there")
    assert fast.text.endswith("hello there")

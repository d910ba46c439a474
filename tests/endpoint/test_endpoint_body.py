"""The Endpoint sends the body it encoded itself, and a payload value that is not JSON
fails its call at once (PayloadError, nothing sent, no retry) while the actor runs on."""

from __future__ import annotations

import pytest

from callboard.calling import Calling, CallingStatus
from callboard.endpoint import CallingRetrying, EndpointClientOpened
from callboard.providers import PayloadError
from callboard.providers._json_body import encode_json_body
from callboard.resilience import RetryPolicy

from .endpoint_rig import CHAT, drain, rig


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
async def test_the_wire_carries_the_encoded_body_as_json(provider: str, stream: bool) -> None:
    payload = {**CHAT, "metadata": {"user_id": "ü-42"}}
    async with rig(provider) as r:
        calling = Calling(payload, streaming=stream)
        await r.executor.call(calling)
        assert calling.status is CallingStatus.COMPLETED
        (sent,) = r.fp.requests
    assert sent.header("content-type") == "application/json"
    assert sent.json()["metadata"] == {"user_id": "ü-42"}
    assert sent.json().get("stream", False) is stream
    assert sent.body == encode_json_body(sent.json())  # compact UTF-8, as encoded


async def test_a_payload_value_that_is_not_json_is_not_sent_nor_retried() -> None:
    retry = RetryPolicy(max_retries=3, base_delay=0.0, jitter="none")
    async with rig(retry=retry) as r:
        with r.bus.subscribe() as events:
            calling = Calling({**CHAT, "metadata": {"tags": {"a", "b"}}})
            with pytest.raises(PayloadError) as caught:
                await r.executor.call(calling)
            seen = drain(events)
        assert caught.value.field == "metadata.tags"
        assert calling.status is CallingStatus.FAILED
        assert r.fp.requests == ()
        # The same actor, on the same client (a crash would restart it), serves the next.
        calling = Calling(dict(CHAT))
        with r.bus.subscribe() as events:
            await r.executor.call(calling)
            seen += drain(events)
        assert calling.status is CallingStatus.COMPLETED
        assert len(r.fp.requests) == 1
    retried = (CallingRetrying, EndpointClientOpened)
    assert not [event for event in seen if isinstance(event, retried)]

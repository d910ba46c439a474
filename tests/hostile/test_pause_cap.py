"""Issue 13, item 2: no header can freeze a model. A pause is capped at max_pause; a
call told to wait beyond it fails at once with RateLimited, and the model goes on."""

from __future__ import annotations

import json

import pytest
import trio

from callboard import AdmissionPolicy, RateLimited, iModel
from tests.hostile.server import HostileServer, Move, Request, respond

OK = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
).encode()


@pytest.mark.parametrize(
    "header",
    [("retry-after", "99999"), ("retry-after-ms", "99999999")],
)
async def test_an_absurd_wait_fails_that_call_fast_and_the_model_goes_on(
    header: tuple[str, str],
):
    answers = 0

    async def script(request: Request) -> list[Move]:
        nonlocal answers
        answers += 1
        json_type = ("content-type", "application/json")
        if answers == 1:
            headers = [json_type, header, ("x-ratelimit-remaining-requests", "0")]
            body = b'{"error": {"message": "slow down", "type": "rate_limit_exceeded"}}'
            return [respond(429, headers, body)]
        return [respond(200, [json_type], OK)]

    async with HostileServer(script) as server:
        model = _model(server)
        async with model:
            with trio.fail_after(10):
                with pytest.raises(RateLimited) as refused:
                    await model.invoke(messages=[{"role": "user", "content": "hi"}])
                # The call that was told to wait a day fails now, saying what was asked.
                assert refused.value.retry_after is not None
                assert refused.value.retry_after > 0.5
                # The next call waits out at most the capped pause, then gets through.
                start = trio.current_time()
                result = await model.invoke(messages=[{"role": "user", "content": "hi"}])
                assert trio.current_time() - start <= 0.5 + 2.0
                assert result is not None
                snapshot = model.executor.admission.snapshot()
                assert snapshot.max_pause == 0.5


def _model(server: HostileServer) -> iModel:
    return iModel(
        provider="openai",
        endpoint="chat",
        base_url=f"{server.base_url}/v1",
        api_key="sk-test",
        model="gpt-4o-mini",
        limit_requests=600,
        admission_policy=AdmissionPolicy(max_pause=0.5),
    )

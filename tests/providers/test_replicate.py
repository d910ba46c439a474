"""Replicate predictions: one request under ``Prefer: wait``, never a polling loop."""

from __future__ import annotations

import json

import pytest

from callboard import PredictionFailed, PredictionNotFinished, iModel
from callboard.providers import get_provider, parse_response
from callboard.resilience import RetryPolicy
from callboard.testing import FakeProvider

MODEL = "black-forest-labs/flux-schnell"


def _model(fp: FakeProvider, **options: object) -> iModel:
    return iModel(
        provider="replicate",
        endpoint="image_generation",
        model=MODEL,
        base_url=f"{fp.base_url}/v1",
        api_key="test-key",
        retry=RetryPolicy(max_retries=2, base_delay=0.0),
        **options,
    )


async def test_a_prediction_comes_back_finished_in_one_request() -> None:
    async with FakeProvider() as fp:
        calling = await _model(fp).invoke(prompt="a fox", num_outputs=2)
        [request] = fp.requests
    assert request.path == "/v1/predictions"
    assert request.header("prefer") == "wait"
    assert json.loads(request.body) == {
        "version": MODEL,
        "input": {"prompt": "a fox", "num_outputs": 2},
    }
    raw = calling.response.raw
    assert raw["status"] == "succeeded" and len(raw["output"]) == 2


async def test_a_prediction_still_running_is_an_error_and_not_sent_again() -> None:
    async with FakeProvider() as fp:
        # Without the wait (an empty Prefer), Replicate answers at once, still starting.
        model = _model(fp, headers={"prefer": ""})
        with pytest.raises(PredictionNotFinished) as info:
            await model.invoke(prompt="a fox")
        assert len(fp.requests) == 1  # not retried: that would start a second prediction
    assert info.value.prediction_url == "https://api.replicate.com/v1/predictions/fake000000000001"
    assert "still starting" in str(info.value)
    assert info.value.provider == "replicate"


def test_a_failed_prediction_says_why() -> None:
    body = {"id": "p1", "status": "failed", "error": "NSFW content detected", "output": None}
    with pytest.raises(PredictionFailed, match="p1 failed: NSFW content detected"):
        parse_response(
            get_provider("replicate"),
            "image_generation",
            status=201,
            headers={"content-type": "application/json"},
            body=json.dumps(body).encode(),
        )

"""serialize() / Model.from_serialized(): a JSON round trip that keeps no secret."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from callboard.actors import Subscription
from callboard.errors import ConfigError
from callboard.imodel import NotRestorable
from callboard.models import ChatCompletion, Model, ProviderModel, UnknownModelType
from callboard.resilience import AuthenticationError
from callboard.testing import FakeProvider

CANARY = "sk-canary-5f3a9e71c2d84b06"
ENV = "CALLBOARD_MODELS_TEST_KEY"


@pytest.fixture
async def fp() -> AsyncIterator[FakeProvider]:
    async with FakeProvider(keys=[CANARY]) as provider:
        yield provider


def through_json(data: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(data, allow_nan=False))
    return loaded


async def test_a_chat_model_round_trips_through_json(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, CANARY)
    model = Model.chat_completion(
        "openai/gpt-4o",
        temperature=0.7,
        max_tokens=500,
        base_url=f"{fp.base_url}/v1",
        api_key=ENV,
        limit_requests=120,
        tags={"creative"},
    )
    state = model.serialize()
    assert state["msgflux_type"] == "model"
    assert state["model_type"] == "chat_completion"
    assert (state["provider"], state["state"]["model_id"]) == ("openai", "gpt-4o")
    assert state["state"]["sampling_run_params"] == {"temperature": 0.7, "max_tokens": 500}
    assert state["state"]["sampling_params"] == {"base_url": f"{fp.base_url}/v1", "api_key": ENV}
    restored = Model.from_serialized(through_json(state))
    assert isinstance(restored, ChatCompletion)
    assert restored.serialize() == state
    assert restored.imodel.id != model.imodel.id  # a fresh identity
    assert restored.imodel.limit_requests == 120
    assert restored.imodel.api_key_env == ENV
    response = await restored.acall("restored and working", max_tokens=20)
    assert "restored and working" in response.consume()
    body = fp.requests[-1].json()
    assert (body["temperature"], body["max_tokens"]) == (0.7, 20)


def test_loading_says_which_key_variable_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "k")
    model = Model.text_to_speech("openai/tts-1", voice="alloy", api_key=ENV)
    data = through_json(model.serialize())
    monkeypatch.delenv(ENV)
    with pytest.raises(NotRestorable, match=ENV):
        Model.from_serialized(data)


def test_each_kind_restores_to_its_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "k")
    models: list[ProviderModel[Any]] = [
        Model.chat_completion("anthropic/claude-sonnet-4-5", api_key=ENV),
        Model.text_embedder("mistral/mistral-embed", api_key=ENV),
        Model.moderation("openai/omni-moderation-latest", api_key=ENV),
        Model.text_to_image("gemini/imagen-3", api_key=ENV),
        Model.text_to_speech("openai/tts-1", voice="alloy", api_key=ENV),
        Model.speech_to_text("groq/whisper-large-v3", api_key=ENV),
        Model.text_reranker("together/rerank-v3.5", top_n=2, api_key=ENV),
        Model.image_text_to_image("replicate/black-forest-labs/flux-kontext-pro", api_key=ENV),
        Model.text_classifier("jinaai/jina-embeddings-v3", labels=["a", "b"], api_key=ENV),
        Model.image_classifier("jinaai/jina-clip-v2", labels=["cat"], api_key=ENV),
        Model.image_embedder("jinaai/jina-clip-v2", dimensions=64, api_key=ENV),
    ]
    assert sorted(m.model_type for m in models) == sorted(Model.model_types())
    for model in models:
        restored = Model.from_serialized(through_json(model.serialize()))
        assert type(restored) is type(model)
        assert restored.get_model_info() == model.get_model_info()
        assert restored.serialize() == model.serialize()
        assert Model.from_serialized(**through_json(model.serialize())).serialize() == (
            model.serialize()
        )


def drain(subscription: Subscription[Any]) -> list[Any]:
    events: list[Any] = []
    while True:
        try:
            events.append(subscription.receive_nowait())
        except trio.WouldBlock:
            return events


async def test_the_canary_key_never_appears(fp: FakeProvider) -> None:
    model = Model.chat_completion("openai/gpt-4o", base_url=f"{fp.base_url}/v1", api_key=CANARY)
    events = model.imodel.broadcast.subscribe()
    response = await model("hello")
    stream = await model("hello", stream=True)
    await stream.consume()
    async with FakeProvider(keys=["another-key"]) as refusing:
        rejected = Model.chat_completion(
            "openai/gpt-4o", base_url=f"{refusing.base_url}/v1", api_key=CANARY
        )
        rejected_events = rejected.imodel.broadcast.subscribe()
        with pytest.raises(AuthenticationError) as caught:
            await rejected("hello")
    seen = [
        json.dumps(model.serialize()),
        json.dumps(rejected.serialize()),
        repr(model),
        str(model.get_model_info()),
        repr(model.imodel),
        repr(response),
        repr(response.metadata),
        repr(stream),
        str(caught.value),
        repr(caught.value),
        *(repr(event) for event in drain(events)),
        *(repr(event) for event in drain(rejected_events)),
    ]
    assert len(seen) > 15  # the events were collected
    for text in seen:
        assert CANARY not in text
    kept = model.serialize()["state"]
    assert kept["callboard"]["imodel"]["backend"]["api_key_env"] is None
    assert "api_key" not in kept["sampling_params"]


async def test_a_key_given_as_a_value_is_not_restored(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = Model.chat_completion("openai/gpt-4o", base_url=f"{fp.base_url}/v1", api_key=CANARY)
    data = through_json(model.serialize())
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):  # MissingApiKey: nothing kept
        Model.from_serialized(data)


def test_malformed_data_is_refused_with_what_is_wrong() -> None:
    model = Model.chat_completion("ollama/llama3", temperature=0.2)
    good = through_json(model.serialize())
    state = good["state"]
    with pytest.raises(UnknownModelType, match="'image_to_video'"):
        Model.from_serialized({**good, "model_type": "image_to_video"})
    with pytest.raises(ConfigError, match=r"state\['model_id'\] must be a str") as info:
        Model.from_serialized(
            {**good, "state": {k: v for k, v in state.items() if k != "model_id"}}
        )
    assert info.value.field == "model_id"
    with pytest.raises(ConfigError, match="inconsistent: model_id"):
        Model.from_serialized({**good, "state": {**state, "model_id": "other"}})
    with pytest.raises(ConfigError, match="inconsistent: endpoint"):
        Model.from_serialized({**good, "model_type": "text_embedder"})
    with pytest.raises(ConfigError, match="format 2"):
        Model.from_serialized(
            {**good, "state": {**state, "callboard": {**state["callboard"], "format": 2}}}
        )
    with pytest.raises(ConfigError, match="msgflux_type is 'module'"):
        Model.from_serialized({**good, "msgflux_type": "module"})
    with pytest.raises(ConfigError, match=r"sampling_run_params.*must be a Mapping"):
        Model.from_serialized({**good, "state": {**state, "sampling_run_params": [1]}})
    with pytest.raises(ConfigError, match="state must be a Mapping"):
        Model.from_serialized(provider="ollama", model_type="chat_completion", state="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unexpected parts"):  # never a raw TypeError
        Model.from_serialized(**{**good, "extra": 1})
    with pytest.raises(ConfigError, match="got keys"):
        Model.from_serialized({"model": "gpt-4o"})
    with pytest.raises(ConfigError, match="takes the dict"):
        Model.from_serialized("not a dict")  # type: ignore[arg-type]
    assert Model.from_serialized(good).serialize() == good


def test_callboards_earlier_layout_still_loads() -> None:
    earlier = {
        "type": "callboard.model",
        "format": 1,
        "model_type": "chat_completion",
        "provider": "ollama",
        "model_id": "llama3",
        "imodel": Model.chat_completion("ollama/llama3", temperature=0.2).serialize()["state"][
            "callboard"
        ]["imodel"],
    }
    restored = Model.from_serialized(earlier)
    assert restored.serialize()["state"]["sampling_run_params"] == {"temperature": 0.2}
    with pytest.raises(ConfigError, match="got keys"):  # neither layout
        Model.from_serialized({**earlier, "type": "msgflux"})


def test_a_state_msgflux_wrote_is_rebuilt_from_its_parameters() -> None:
    written_by_msgflux = {
        "msgflux_type": "model",
        "provider": "ollama",
        "model_type": "chat_completion",
        "state": {
            "model_id": "llama3",
            "sampling_params": {"base_url": "http://127.0.0.1:9/v1"},
            "sampling_run_params": {"temperature": 0.7, "max_tokens": 500},
        },
    }
    model = Model.from_serialized(**written_by_msgflux)
    assert model.imodel.endpoint_options["temperature"] == 0.7
    assert model.serialize()["state"]["sampling_params"] == {"base_url": "http://127.0.0.1:9/v1"}


def test_options_that_are_not_json_are_refused_on_serialize() -> None:
    model = Model.chat_completion("ollama/llama3", stop=object())
    with pytest.raises(ConfigError, match="JSON"):
        model.serialize()

"""EndpointConfig validation, serialization, and secrets that never leave."""

from __future__ import annotations

import pickle

import pytest

from callboard.calling import Calling
from callboard.endpoint import (
    CircuitSettings,
    EndpointConfig,
    InvalidEndpointConfig,
    Secret,
    match_endpoint,
)
from callboard.providers import UnknownProvider
from callboard.resilience import AuthenticationError, RetryPolicy
from callboard.testing import FakeProvider

from .endpoint_rig import CHAT, drain, rig

CANARY = "sk-canary-7f3a9c1e5b2d4f6a8c0e"


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(InvalidEndpointConfig) as caught:
        EndpointConfig(
            provider="openai",
            method="BREW",
            timeout=-1,
            transport="carrier-pigeon",
            headers={"Authorization": "Bearer x"},
            circuit=CircuitSettings(failure_threshold=0),
            max_connections=0,
        )
    assert set(caught.value.problems) == {
        "method",
        "timeout",
        "transport",
        "headers",
        "circuit.failure_threshold",
        "max_connections",
    }
    assert isinstance(caught.value, ValueError)


def test_an_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(InvalidEndpointConfig, match="known providers: anthropic"):
        EndpointConfig(provider="skynet")
    with pytest.raises(UnknownProvider, match="openai_compatible"):
        match_endpoint("skynet", "chat")


def test_a_raw_key_is_read_as_iModel_reads_it_and_never_shows() -> None:
    # fixed here: EndpointConfig refused a raw key that iModel(api_key=...) accepted
    config = EndpointConfig(provider="openai", api_key=CANARY)
    assert config.api_key == Secret(CANARY) and config.api_key_env is None
    shown = repr(config) + str(config.to_dict())
    assert CANARY not in shown
    named = EndpointConfig(provider="openai", api_key="MY_KEY_VAR")  # a variable's name
    assert (named.api_key, named.api_key_env) == (None, "MY_KEY_VAR")
    explicit = EndpointConfig(provider="openai", api_key_env="my-key.v2")  # any name
    assert explicit.api_key_env == "my-key.v2"
    assert explicit.resolve_api_key() is None  # not set


@pytest.mark.parametrize(
    ("options", "field", "phrase"),
    [
        ({"api_key": ""}, "api_key", "api_key is an empty string"),
        ({"api_key": Secret("")}, "api_key", "empty Secret"),
        ({"api_key": 42}, "api_key", "got int"),
        ({"api_key": CANARY, "api_key_env": "K"}, "api_key_env", "not both"),
        ({"api_key_env": "MY KEY"}, "api_key_env", "no spaces"),
    ],
)
def test_bad_key_options_are_refused_without_echoing_a_key(
    options: dict[str, object], field: str, phrase: str
) -> None:
    with pytest.raises(InvalidEndpointConfig) as caught:
        EndpointConfig(provider="openai", **options)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert phrase in str(caught.value)
    assert CANARY not in str(caught.value) + repr(caught.value)


def test_the_config_round_trips_through_the_converter() -> None:
    config = EndpointConfig(
        provider="openai_compatible",
        base_url="http://127.0.0.1:9/v1",
        api_key="MY_KEY_VAR",
        default_fields={"model": "m", "temperature": 0.2},
        retry=RetryPolicy(max_retries=4, jitter="none"),
        circuit=CircuitSettings(failure_threshold=3),
    )
    data = config.to_dict()
    assert data["api_key_env"] == "MY_KEY_VAR"
    assert EndpointConfig.from_dict(data) == config


def test_from_dict_reports_unknown_keys_and_bad_values() -> None:
    with pytest.raises(InvalidEndpointConfig) as caught:
        EndpointConfig.from_dict({"provider": "openai", "colour": "blue"})
    assert "colour" in str(caught.value)


def test_a_secret_is_never_shown_pickled_or_serialized() -> None:
    key = Secret(CANARY)
    config = EndpointConfig(provider="openai", api_key=key)
    assert CANARY not in repr(config) + str(config) + repr(key) + str(key)
    assert CANARY not in str(config.to_dict())
    assert config.to_dict()["api_key_env"] is None
    with pytest.raises(TypeError):
        pickle.dumps(key)


async def test_the_canary_key_never_reaches_errors_events_or_reprs() -> None:
    fp = FakeProvider(keys=["another-key"])
    async with rig(fp=fp, retry=RetryPolicy(max_retries=1, base_delay=0.0)) as r:
        endpoint = match_endpoint(
            "openai", base_url=f"{fp.base_url}/v1", api_key=CANARY, model="gpt-4o", timeout=None
        )
        endpoint.attach(None, broadcast=r.bus)
        with r.bus.subscribe() as events:
            calling = Calling(dict(CHAT))
            with pytest.raises(AuthenticationError) as caught:
                await endpoint.execute(calling)
            seen = drain(events)
        assert fp.requests[0].header("authorization") == "Bearer ***"  # it was sent
    texts = [repr(caught.value), str(caught.value), repr(endpoint), repr(endpoint.config)]
    texts += [repr(event) for event in seen]
    texts.append(str(endpoint.config.to_dict()))
    assert not [text for text in texts if CANARY in text]


async def test_an_endpoint_used_without_its_actor_still_calls() -> None:
    async with FakeProvider() as fp:
        endpoint = match_endpoint(
            "anthropic",
            base_url=f"{fp.base_url}/v1",
            api_key="test-key",
            model="claude-haiku-4-5",
            timeout=None,
        )
        response = await endpoint.execute(Calling(dict(CHAT)))
    assert response.text.endswith(": hello there")
    assert endpoint.runs == 0

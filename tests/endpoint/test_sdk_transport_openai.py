"""The sdk transport over the official openai SDK (AsyncOpenAI, on anyio under Trio).

Every test talks to a real FakeProvider socket. Each method the transport calls
(``chat.completions.create``, ``embeddings.create``, ...) is sent through both the
``sdk`` and the ``http`` transport and the normalized responses compared; FakeProvider's
recording proves the SDK really sent it (its ``x-stainless-*`` headers) and never retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import trio

from callboard import EndpointConfig, InvalidEndpointConfig, iModel
from callboard.calling import Calling
from callboard.endpoint import Endpoint, Secret, Transport, TransportSettings, open_transport
from callboard.errors import ConfigError
from callboard.providers import (
    ModelType,
    NormalizedResponse,
    ProviderRequest,
    ProviderSpec,
    StreamDelta,
    build_request,
    get_provider,
    parse_response,
    stream_decoder,
)
from callboard.resilience import RateLimited
from callboard.testing import FakeProvider, Fault
from tests.endpoint.test_secret_locals import local_reprs

pytest.importorskip("openai")

KEY = "sk-openai-test-key-123456"
HI = [{"role": "user", "content": "hello there"}]
# model type -> a payload the http and sdk transports both send
PAYLOADS: dict[ModelType, dict[str, Any]] = {
    ModelType.CHAT: {"model": "gpt-4o-mini", "messages": HI, "temperature": 0.2},
    ModelType.EMBEDDINGS: {"model": "text-embedding-3-small", "input": ["a", "b"]},
    ModelType.RESPONSES: {"model": "gpt-4o-mini", "input": "hello there"},
    ModelType.MODERATION: {"model": "omni-moderation-latest", "input": "hello there"},
    ModelType.IMAGE_GENERATION: {"model": "gpt-image-1", "prompt": "a red square"},
}


@pytest.fixture
async def fp() -> AsyncIterator[FakeProvider]:
    async with FakeProvider(keys=[KEY], rpm=1000, tpm=1_000_000) as provider:
        yield provider


def spec_for(fp: FakeProvider) -> ProviderSpec:
    return attrs.evolve(get_provider("openai"), base_url=f"{fp.base_url}/v1")


def settings_for(fp: FakeProvider, **changes: Any) -> TransportSettings:
    base = TransportSettings(
        timeout=10.0,
        max_connections=8,
        base_url=f"{fp.base_url}/v1",
        api_key=Secret(KEY),
        provider="openai",
        dialect="openai",
    )
    return attrs.evolve(base, **changes)


def request(
    fp: FakeProvider, kind: ModelType = ModelType.CHAT, *, stream: bool = False
) -> ProviderRequest:
    return build_request(
        spec_for(fp), kind, dict(PAYLOADS[kind]), api_key=KEY, stream=stream, idempotency_key="k1"
    )


def parse(fp: FakeProvider, kind: ModelType, answer: Any) -> NormalizedResponse:
    return parse_response(
        spec_for(fp), kind, status=answer.status, headers=answer.headers, body=answer.body
    )


@pytest.mark.parametrize("kind", list(PAYLOADS), ids=str)
async def test_each_method_gives_the_http_transports_response(
    fp: FakeProvider, kind: ModelType
) -> None:
    settings = settings_for(fp)
    async with open_transport("sdk", settings) as sdk, open_transport("http", settings) as http:
        via_sdk = parse(fp, kind, await sdk.send(request(fp, kind)))
        via_http = parse(fp, kind, await http.send(request(fp, kind)))
    assert isinstance(via_sdk.raw, dict) and isinstance(via_http.raw, dict)
    assert {**via_sdk.raw, "id": ""} == {**via_http.raw, "id": ""}  # ids are per request
    assert via_sdk.text == via_http.text and via_sdk.usage == via_http.usage
    assert via_sdk.rate_limit is not None and "x-ratelimit-remaining-requests" in via_sdk.rate_limit
    by_sdk, by_http = fp.requests[0], fp.requests[1]
    assert (by_sdk.header("user-agent") or "").startswith("AsyncOpenAI/")  # the SDK sent it
    assert by_http.header("x-stainless-lang") is None
    assert by_sdk.header("x-stainless-retry-count") == "0"
    assert by_sdk.header("idempotency-key") == "k1"
    assert by_sdk.path == by_http.path
    sent, plain = by_sdk.json(), by_http.json()
    assert {name: sent[name] for name in plain} == plain  # every body field, as built
    # the one field the SDK adds unless told: embeddings as floats, what http gets
    assert set(sent) - set(plain) == (
        {"encoding_format"} if kind is ModelType.EMBEDDINGS else set()
    )


async def test_embeddings_come_back_as_floats_not_the_sdks_base64(fp: FakeProvider) -> None:
    async with open_transport("sdk", settings_for(fp)) as sdk:
        response = parse(
            fp, ModelType.EMBEDDINGS, await sdk.send(request(fp, ModelType.EMBEDDINGS))
        )
    assert fp.requests[0].json()["encoding_format"] == "float"
    assert isinstance(response.raw, dict) and len(response.raw["data"]) == 2
    assert all(isinstance(x, float) for x in response.raw["data"][0]["embedding"])


async def test_a_chat_stream_gives_the_http_transports_deltas(fp: FakeProvider) -> None:
    async def streamed(sender: Transport) -> tuple[list[StreamDelta], NormalizedResponse]:
        async with sender.stream(request(fp, stream=True)) as stream:
            assert stream.status == 200
            decoder = stream_decoder(spec_for(fp), headers=stream.headers, status=stream.status)
            deltas = [d async for e in stream.events() for d in decoder.feed(e.event, e.data)]
            return deltas, decoder.result()

    settings = settings_for(fp)
    async with open_transport("sdk", settings) as sdk, open_transport("http", settings) as http:
        sdk_deltas, sdk_final = await streamed(sdk)
        http_deltas, http_final = await streamed(http)
    assert len([d for d in sdk_deltas if d.text]) > 1 and sdk_deltas == http_deltas
    assert sdk_final.text == http_final.text and sdk_final.text.endswith(": hello there")
    assert sdk_final.usage == http_final.usage and sdk_final.usage is not None
    assert fp.requests[0].json()["stream"] is True


async def test_a_429_is_an_answer_and_the_sdk_does_not_retry(fp: FakeProvider) -> None:
    fp.script("/v1/chat/completions", [Fault.rate_limited()])
    async with open_transport("sdk", settings_for(fp)) as sdk:
        answer = await sdk.send(request(fp))
    assert answer.status == 429
    with pytest.raises(RateLimited) as caught:
        parse(fp, ModelType.CHAT, answer)
    assert caught.value.retry_after == 1.0
    assert fp.stats.received == 1


async def test_a_keyless_client_sends_no_key_from_the_environment(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # a key the provider would accept
    local = attrs.evolve(spec_for(fp), api_key_required=False)
    req = build_request(local, "chat", PAYLOADS[ModelType.CHAT])  # no key: none to send
    async with open_transport("sdk", settings_for(fp, api_key=None)) as sdk:
        answer = await sdk.send(req)
    assert answer.status == 401  # the environment's key was not sent for it
    assert fp.requests[0].header("authorization") is None


async def test_a_call_with_no_method_on_the_sdk_is_a_typed_error(fp: FakeProvider) -> None:
    speech = build_request(
        spec_for(fp),
        "text_to_speech",
        {"model": "tts-1", "input": "hi", "voice": "alloy"},
        api_key=KEY,
    )
    async with open_transport("sdk", settings_for(fp)) as sdk:
        with pytest.raises(ConfigError, match=r"valid.*chat\.completions\.create") as caught:
            await sdk.send(speech)
    assert caught.value.field == "transport" and fp.stats.received == 0


async def test_client_kwargs_reach_the_sdk_constructor(fp: FakeProvider) -> None:
    settings = settings_for(
        fp, client_kwargs={"organization": Secret("org-42"), "project": Secret("proj-7")}
    )
    async with open_transport("sdk", settings) as sdk:
        assert (await sdk.send(request(fp))).status == 200
    sent = fp.requests[0]
    assert sent.header("openai-organization") == "org-42"
    assert sent.header("openai-project") == "proj-7"


async def test_a_client_kwarg_the_sdk_does_not_take_is_refused_by_name(fp: FakeProvider) -> None:
    settings = settings_for(fp, client_kwargs={"organisation": "org-42"})
    with pytest.raises(ConfigError, match="'organisation'") as caught:
        async with open_transport("sdk", settings):
            pass
    assert caught.value.field == "client_kwargs.organisation"
    assert "org-42" not in str(caught.value)


async def test_a_constructor_that_refuses_its_keywords_leaves_no_key_in_any_locals(
    fp: FakeProvider,
) -> None:
    # The SDK raises from inside its constructor, whose frame holds api_key; the
    # ConfigError must carry neither that frame nor callboard's revealing one.
    settings = settings_for(fp, client_kwargs={"data_residency": "mars"})
    with pytest.raises(ConfigError, match="refused its keywords") as caught:
        async with open_transport("sdk", settings):
            pass
    assert caught.value.field == "client_kwargs"
    assert "mars" not in str(caught.value) and KEY not in str(caught.value)
    shown = list(local_reprs(caught.value))
    assert shown  # the walk saw the frames the ConfigError passed through
    assert not [line for line in shown if KEY in line]


# -- through an Endpoint, and checked when the config is built ------------------------------


@pytest.mark.parametrize("kind", [ModelType.CHAT, ModelType.EMBEDDINGS], ids=str)
async def test_an_openai_endpoint_with_the_sdk_transport(fp: FakeProvider, kind: ModelType) -> None:
    config = EndpointConfig(
        provider="openai",
        endpoint=kind,
        base_url=f"{fp.base_url}/v1",
        api_key=Secret(KEY),
        transport="sdk",
    )
    async with trio.open_nursery() as nursery:
        endpoint = Endpoint(config)
        await nursery.start(endpoint.run)
        response = await endpoint.execute(Calling(dict(PAYLOADS[kind])))
        endpoint.ref.stop()
    assert response.status_code == 200 and response.provider == "openai"
    assert (fp.requests[0].header("user-agent") or "").startswith("AsyncOpenAI/")
    if kind is ModelType.CHAT:
        assert response.text.endswith(": hello there")
    else:
        assert isinstance(response.raw, dict) and len(response.raw["data"]) == 2


async def test_imodel_with_provider_openai_and_transport_sdk(fp: FakeProvider) -> None:
    model = iModel(
        provider="openai",
        base_url=f"{fp.base_url}/v1",
        api_key=KEY,
        transport="sdk",
        model="gpt-4o-mini",
    )
    calling = await model.invoke(messages=HI)
    assert calling.response.text.endswith(": hello there")
    assert fp.requests[0].header("x-stainless-retry-count") == "0"


def test_a_model_type_the_sdk_cannot_send_is_refused_when_built() -> None:
    with pytest.raises(InvalidEndpointConfig, match=r"embeddings\.create") as caught:
        EndpointConfig(provider="openai", endpoint="speech_to_text", transport="sdk")
    assert caught.value.field == "transport"
    with pytest.raises(InvalidEndpointConfig, match="no official SDK") as replicate:
        EndpointConfig(provider="replicate", endpoint="image_edit", transport="sdk")
    assert replicate.value.field == "transport"


def test_client_kwargs_are_checked_hidden_and_serialized_without_text() -> None:
    config = EndpointConfig(
        provider="openai",
        transport="sdk",
        client_kwargs={"organization": "org-secret-9", "webhook_secret": "whsec-9"},
    )
    assert "org-secret-9" not in repr(config) and "whsec-9" not in repr(config)
    assert config.to_dict()["client_kwargs"] == {}  # text may be a credential: not kept
    for bad, why in [
        ({"api_key": "sk-x"}, "set by callboard"),
        ({"max_retries": 3}, "RetryPolicy"),
        ({"organisation": "x"}, "not a keyword of openai.AsyncOpenAI"),
    ]:
        with pytest.raises(InvalidEndpointConfig, match=why) as caught:
            EndpointConfig(provider="openai", transport="sdk", client_kwargs=bad)
        assert caught.value.field == f"client_kwargs.{next(iter(bad))}"
        assert "sk-x" not in str(caught.value)
    with pytest.raises(InvalidEndpointConfig, match="only the sdk transport"):
        EndpointConfig(provider="openai", client_kwargs={"organization": "o"})


async def test_a_keyword_the_sdk_refuses_is_a_config_error_without_its_value(
    fp: FakeProvider,
) -> None:
    # data_residency and base_url are mutually exclusive in AsyncOpenAI
    settings = settings_for(fp, client_kwargs={"data_residency": Secret("eu-canary-77")})
    with pytest.raises(ConfigError, match=r"refused its keywords \(ValueError\)") as caught:
        async with open_transport("sdk", settings):
            pass
    assert caught.value.field == "client_kwargs" and "eu-canary-77" not in str(caught.value)
    assert "data_residency" in str(caught.value)

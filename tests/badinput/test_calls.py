"""Bad payloads and bad provider answers: each call fails with its typed error (status,
provider and Calling id attached, a fix in the message, no key), and the same started
models then complete a good call."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio

from callboard import (
    AuthenticationError,
    BadRequest,
    CallboardError,
    Calling,
    CallingStatus,
    CallingTimeoutError,
    ConfigError,
    Conflict,
    ConnectionFailed,
    InvalidResponse,
    NotFound,
    Overloaded,
    OversizeRequest,
    PayloadError,
    PermissionDenied,
    ProviderError,
    RateLimited,
    RetryPolicy,
    ServerError,
    StreamInterrupted,
    Timeout,
    ToolArgumentError,
    iModel,
)
from callboard.testing import Fault

from .catalogue import CANARY, HI, Live, assert_typed, live

ROUTES = {
    "openai": "/v1/chat/completions",
    "tight": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "embed": "/v1/embeddings",
}


@attrs.frozen
class Call:
    """One call through a model of the live registry, and what it must raise."""

    model: str
    arguments: dict[str, Any]
    kind: type[CallboardError]
    phrases: tuple[str, ...]
    faults: tuple[Fault, ...] = ()
    stream: bool = False
    status: int | None = None
    attributes: dict[str, Any] = attrs.field(factory=dict[str, Any])

    async def run(self, tree: Live) -> None:
        if self.faults:
            tree.fp.script(ROUTES[self.model], list(self.faults))
        model = tree.model(self.model)
        if self.stream:
            async for _ in model.invoke_stream(**self.arguments):
                pass
        else:
            await model.invoke(**self.arguments)


def _chat(**extra: Any) -> dict[str, Any]:
    return {"messages": HI, "max_tokens": 16, **extra}


def _status_rows() -> list[Any]:
    statuses: list[tuple[int, type[ProviderError], tuple[str, ...]]] = [
        (400, BadRequest, ("fix the request payload",)),
        (401, AuthenticationError, ("check the API key", "api_key environment variable")),
        (403, PermissionDenied, ("this key may not use this model or resource",)),
        (404, NotFound, ("check the model name, the path and the base_url",)),
        (408, Timeout, ("the provider did not answer in time",)),
        (409, Conflict, ("retrying usually works",)),
        (422, BadRequest, ("fix the request payload",)),
        (500, ServerError, ("retrying later usually works",)),
        (502, ServerError, ("retrying later usually works",)),
        (503, ServerError, ("retrying later usually works",)),
        (529, Overloaded, ("the provider is overloaded; retry later",)),
    ]
    return [
        pytest.param(
            Call(
                model,
                _chat(),
                kind,
                (f"{model} returned HTTP {status}", *phrases),
                faults=(Fault.error(status),),
                status=status,
            ),
            id=f"{model}-{status}",
        )
        for model in ("openai", "anthropic")
        for status, kind, phrases in statuses
    ]


CALLS: list[Any] = [
    # -- payloads ----------------------------------------------------------------------
    pytest.param(
        Call(
            "openai",
            {"max_tokens": 16},
            BadRequest,
            ("HTTP 400", "Missing required parameter: 'messages'", "fix the request payload"),
            status=400,
        ),
        id="payload-missing-messages",
    ),
    pytest.param(
        Call(
            "anthropic",
            {"max_tokens": 16},
            BadRequest,
            ("Missing required parameter: 'messages'", "fix the request payload"),
            status=400,
        ),
        id="payload-anthropic-missing-messages",
    ),
    pytest.param(
        Call(
            "openai",
            {"messages": "hello there"},
            BadRequest,
            ("Invalid type for 'messages': got str",),
            status=400,
        ),
        id="payload-messages-not-a-list",
    ),
    pytest.param(
        Call(
            "openai",
            {"messages": [{"content": "hello"}]},
            BadRequest,
            ("'messages[0]'", "each message needs a 'role'"),
            status=400,
        ),
        id="payload-message-without-role",
    ),
    pytest.param(
        Call("openai", _chat(max_tokens="ten"), BadRequest, ("'max_tokens'",), status=400),
        id="payload-max-tokens-wrong-type",
    ),
    pytest.param(
        Call(
            "anthropic",
            _chat(max_tokens=-1),
            BadRequest,
            ("'max_tokens' must be at least 1, got -1",),
            status=400,
        ),
        id="payload-anthropic-negative-max-tokens",
    ),
    pytest.param(
        Call(
            "openai",
            _chat(model="gpt-9"),
            NotFound,
            ("The model 'gpt-9' does not exist",),
            status=404,
            attributes={"error_type": "model_not_found"},
        ),
        id="payload-unknown-model",
    ),
    pytest.param(
        Call(
            "embed",
            {"model": "text-embedding-3-small"},
            BadRequest,
            ("Missing required parameter: 'input'",),
            status=400,
        ),
        id="payload-embeddings-missing-input",
    ),
    pytest.param(
        Call(
            "tight",
            _chat(max_tokens=5000),
            OversizeRequest,
            ("exceeds the limiter's capacity of 1000", "make the request smaller or raise"),
            attributes={"capacity": 1000},
        ),
        id="payload-oversize-token-request",
    ),
    pytest.param(
        Call(
            "embed",
            {"input": "hello"},
            PayloadError,
            ("streaming is supported for chat and responses only, not 'embeddings'",),
            stream=True,
        ),
        id="payload-stream-from-embeddings",
    ),
    pytest.param(
        Call("add", {"a": 1}, ToolArgumentError, ("tool 'add'", "argument 'b' is missing")),
        id="tool-missing-argument",
    ),
    pytest.param(
        Call(
            "add",
            {"a": 1, "b": 2, "c": 3},
            ToolArgumentError,
            ("argument 'c' is unexpected", "the tool takes only: a, b"),
        ),
        id="tool-unexpected-argument",
    ),
    pytest.param(
        Call(
            "add",
            {"a": "one", "b": 2},
            ToolArgumentError,
            ("argument 'a' is wrong type", "expected integer, got str"),
            attributes={"problem": "wrong type", "argument": "a"},
        ),
        id="tool-wrong-type",
    ),
    # -- provider answers ------------------------------------------------------------
    pytest.param(
        Call(
            "openai",
            _chat(),
            ServerError,
            ("HTTP 502", "an HTML page instead of JSON", "retrying later usually works"),
            faults=(Fault.html_502(),),
            status=502,
        ),
        id="answer-html-502",
    ),
    pytest.param(
        Call(
            "openai",
            _chat(),
            InvalidResponse,
            ("HTTP 200 with an unreadable chat body", "not JSON", "check that base_url"),
            faults=(Fault.malformed_json(),),
            status=200,
        ),
        id="answer-malformed-json",
    ),
    # A 429 is the call's failure only when waiting cannot help: here the provider's
    # retry-after (1 s) is longer than the call's remaining time.
    pytest.param(
        Call(
            "openai",
            _chat(timeout=0.5),
            RateLimited,
            ("HTTP 429", "slow down or raise the limits"),
            faults=(Fault.rate_limited(),),
            status=429,
            attributes={"retry_after": 1.0},
        ),
        id="answer-openai-429",
    ),
    pytest.param(
        Call(
            "anthropic",
            _chat(timeout=0.5),
            RateLimited,
            ("HTTP 429", "slow down or raise the limits"),
            faults=(Fault.rate_limited(),),
            status=429,
        ),
        id="answer-anthropic-429",
    ),
    pytest.param(
        Call(
            "openai",
            _chat(),
            ConnectionFailed,
            ("the connection to openai failed", "check base_url and the network"),
            faults=(Fault.reset(),),
        ),
        id="answer-connection-reset",
    ),
    pytest.param(
        Call(
            "openai",
            _chat(),
            StreamInterrupted,
            ("the stream from openai broke after", "the partial text is kept on this error"),
            faults=(Fault.truncated_sse(),),
            stream=True,
            status=200,
        ),
        id="answer-openai-truncated-sse",
    ),
    pytest.param(
        Call(
            "anthropic",
            _chat(),
            StreamInterrupted,
            ("the stream from anthropic broke after", "the partial text is kept"),
            faults=(Fault.truncated_sse(),),
            stream=True,
            status=200,
        ),
        id="answer-anthropic-truncated-sse",
    ),
    pytest.param(
        Call(
            "openai",
            _chat(),
            ServerError,
            ("openai returned a stream error (server_error)", "retrying later usually works"),
            faults=(Fault.sse_error(),),
            stream=True,
        ),
        id="answer-openai-sse-error-event",
    ),
    pytest.param(
        Call(
            "anthropic",
            _chat(),
            Overloaded,
            ("anthropic returned a stream error (overloaded_error)", "retry later"),
            faults=(Fault.sse_error(),),
            stream=True,
            attributes={"error_type": "overloaded_error"},
        ),
        id="answer-anthropic-sse-error-event",
    ),
    *_status_rows(),
]


@pytest.mark.parametrize("call", CALLS)
async def test_bad_call_fails_typed_and_the_model_keeps_serving(call: Call) -> None:
    async with live() as tree:
        with pytest.raises(CallboardError) as caught:
            await call.run(tree)
        error = caught.value
        assert_typed(error, call.kind, call.phrases, **call.attributes)
        calling = getattr(error, "calling", None)
        assert isinstance(calling, Calling), "invoke attaches the failed Calling"
        assert calling.finished and calling.error is error
        if isinstance(error, ProviderError):
            assert error.status == call.status
            assert error.provider == ("anthropic" if call.model == "anthropic" else "openai")
            assert error.calling_id == calling.id
        await tree.still_serves()
        assert tree.fp.stats.received >= 3  # the good calls reached the provider


async def test_missing_fields_in_an_answer_are_an_invalid_response() -> None:
    """An Anthropic model pointed at an OpenAI-shaped path gets 200 with JSON that lacks
    the fields a Messages answer must have."""
    async with live() as tree:
        model = iModel(
            provider="anthropic",
            endpoint="messages",  # with path=: mapped to the chat model type
            path="/chat/completions",
            auth="bearer",
            base_url=f"{tree.fp.base_url}/v1",
            api_key=CANARY,
            model="gpt-4o",
            timeout=None,
            retry=RetryPolicy.disabled(),
        )
        tree.registry.register(model, name="misrouted")
        await tree.registry.sync()
        with pytest.raises(InvalidResponse) as caught:
            await tree.registry.get("misrouted").invoke(messages=HI, max_tokens=16)
        assert_typed(
            caught.value,
            InvalidResponse,
            (
                "anthropic returned HTTP 200 with an unreadable chat body",
                "expected a body of type 'message'",
                "check that base_url and path reach the anthropic API",
            ),
        )
        assert caught.value.status == 200
        tree.registry.remove("misrouted")
        await tree.still_serves()


async def test_a_call_that_outlives_its_timeout() -> None:
    async with live() as tree:
        tree.fp.script(ROUTES["openai"], [Fault.stall()])
        with pytest.raises(CallingTimeoutError) as caught:
            await tree.model("openai").invoke(messages=HI, poll_timeout=0.2)
        assert_typed(
            caught.value,
            CallingTimeoutError,
            ("did not finish within its timeout of 0.2 s", "raise Calling.timeout"),
            timeout=0.2,
        )
        assert isinstance(caught.value, TimeoutError)
        await tree.still_serves()


async def test_an_unreachable_server_is_a_connection_failure() -> None:
    with trio.socket.socket() as probe:  # a port nobody listens on
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with live() as tree:
        model = iModel(
            provider="openai",
            base_url=f"http://127.0.0.1:{port}/v1",
            api_key=CANARY,
            model="gpt-4o",
            retry=RetryPolicy.disabled(),
        )
        tree.registry.register(model, name="nowhere")
        await tree.registry.sync()
        with pytest.raises(ConnectionFailed) as caught:
            await tree.registry.get("nowhere").invoke(messages=HI)
        assert_typed(
            caught.value,
            ConnectionFailed,
            ("the connection to openai failed", f"127.0.0.1:{port}", "check base_url"),
            status=None,
            provider="openai",
        )
        tree.registry.remove("nowhere")
        await tree.still_serves()


async def test_a_payload_that_is_not_a_mapping() -> None:
    async with live() as tree:
        try:
            calling = Calling("hello")  # type: ignore[arg-type]
            await tree.model("openai").invoke(calling=calling)
        except CallboardError as caught:
            error = caught
        await tree.still_serves()
    assert_typed(error, ConfigError, ("payload", "mapping", "messages"))  # outside the nursery
    assert error.field == "payload"


@pytest.mark.parametrize("name", ["openai", "anthropic", "retrying"])
async def test_a_payload_value_that_is_not_json(name: str) -> None:
    # fixed here: httpx raised TypeError inside the Endpoint actor, which crashed and
    # restarted, and the caller got a retryable EndpointRestarted
    async with live() as tree:
        model = iModel(
            provider="openai",
            base_url=f"{tree.fp.base_url}/v1",
            api_key=CANARY,
            model="gpt-4o",
            retry=RetryPolicy(max_retries=3, base_delay=0.0, jitter="none"),
        )
        tree.registry.register(model, name="retrying")  # retries on: none may happen
        await tree.registry.sync()
        sent = len(tree.fp.requests)
        with pytest.raises(CallboardError) as caught:
            await tree.model(name).invoke(messages=HI, metadata=object())
        assert len(tree.fp.requests) == sent, "a body that is not JSON was sent"
        tree.registry.remove("retrying")
        await tree.still_serves()
    assert_typed(
        caught.value,
        PayloadError,
        ("payload field 'metadata' is not JSON", "a value of type object", "convert the value"),
        field="metadata",
    )  # outside the nursery


_INVOKE_MISTAKES: list[Any] = [
    # A mapping as the first argument is lionfuncs' invoke(request_payload) (issue 18;
    # tests/seeds/test_lionfuncs_design.py), no longer a mistake.
    pytest.param(
        lambda m: m.invoke(calling="x"),
        "calling",
        ("invoke() takes a Calling", "got str"),
        id="invoke-a-string-as-calling",
    ),
    pytest.param(
        lambda m: m.invoke_stream_with_channel({"messages": HI}),
        "calling",
        ("invoke_stream() takes a Calling", "got dict"),
        id="stream-a-payload-positionally",
    ),
    # fixed here: TypeError from deep inside a comparison; timeout=True meant one second
    pytest.param(
        lambda m: m.invoke(messages=HI, timeout="5"),
        "timeout",
        ("timeout must be a number of seconds >= 0 or None", "got str '5'"),
        id="invoke-timeout-as-a-string",
    ),
    pytest.param(
        lambda m: m.invoke(messages=HI, timeout=[1]),
        "timeout",
        ("got list [1]",),
        id="invoke-timeout-as-a-list",
    ),
    pytest.param(
        lambda m: m.invoke(messages=HI, timeout=True),
        "timeout",
        ("got bool True",),
        id="invoke-timeout-as-a-bool",
    ),
    pytest.param(
        lambda m: m.invoke(messages=HI, poll_timeout="5"),
        "poll_timeout",
        ("poll_timeout must be a number of seconds >= 0 or None", "poll_timeout=5.0"),
        id="invoke-poll-timeout-as-a-string",
    ),
]


@pytest.mark.parametrize(("call", "field", "phrases"), _INVOKE_MISTAKES)
async def test_an_invoke_mistake_is_refused_before_anything_is_sent(
    call: Any, field: str, phrases: tuple[str, ...]
) -> None:
    async with live() as tree:
        sent = len(tree.fp.requests)
        with pytest.raises(CallboardError) as caught:
            await call(tree.model("openai"))
        assert len(tree.fp.requests) == sent
        await tree.still_serves()
    assert_typed(caught.value, ConfigError, phrases, field=field)  # outside the nursery


def _raises(payload: object) -> int:
    raise ZeroDivisionError("the estimator's own bug")


def _a_string(payload: object) -> int:
    return "many"  # type: ignore[return-value]


@pytest.mark.parametrize("started", [True, False])
@pytest.mark.parametrize(
    ("estimator", "phrase"),
    [(_raises, "token_estimator raised ZeroDivisionError"), (_a_string, "returned str 'many'")],
)
async def test_a_broken_token_estimator_fails_its_call_with_a_typed_error(
    estimator: Any, phrase: str, started: bool
) -> None:
    # fixed here: the estimator's own error (or a TypeError from the bucket) escaped
    async with live() as tree:
        model = iModel(
            provider="openai",
            base_url=f"{tree.fp.base_url}/v1",
            api_key=CANARY,
            model="gpt-4o",
            limit_tokens=10_000,
            token_estimator=estimator,
        )
        if started:
            tree.registry.register(model, name="estimated")
            await tree.registry.sync()
        sent = len(tree.fp.requests)
        with pytest.raises(CallboardError) as caught:
            await model.invoke(messages=HI)
        assert len(tree.fp.requests) == sent
        assert caught.value.calling.status is CallingStatus.FAILED  # type: ignore[attr-defined]
        if started:
            tree.registry.remove("estimated")
            await tree.registry.sync()
        await tree.still_serves()
    assert_typed(
        caught.value, ConfigError, (phrase, "it must return", "int >= 0"), field="token_estimator"
    )

"""Bad configuration: each constructor refuses a bad value at once, with a typed error
that names the field and how to fix it, while a running tree next to it keeps serving."""

from __future__ import annotations

import math
from collections.abc import Callable

import coredis
import pytest

from callboard import (
    Broadcast,
    CallboardError,
    ChildSpec,
    CircuitBreaker,
    ConfigError,
    DuplicateModel,
    Endpoint,
    EndpointConfig,
    Executor,
    HookRegistry,
    InvalidChildSpec,
    InvalidEndpointConfig,
    InvalidModelId,
    MissingApiKey,
    Model,
    ModelNotFound,
    ModelTypeNotOffered,
    NotRestorable,
    RedisLimiter,
    RetryPolicy,
    Secret,
    Supervisor,
    TokenBucket,
    Tool,
    UnknownModelProvider,
    UnknownProvider,
    UnsupportedModelType,
    iModel,
    match_endpoint,
)
from callboard.providers import ModelType
from callboard.testing import FakeProvider, Fault

from .catalogue import CANARY, add, assert_typed, live


async def _start(task_status: object = None) -> None:
    """A child start function for the ChildSpec rows (never run)."""


def _redis() -> coredis.Redis[str]:
    # Constructing a client does not connect; port 9 (discard) is never reached.
    return coredis.Redis(host="127.0.0.1", port=9, decode_responses=True)


Build = Callable[[], object]
ROWS: list[tuple[str, Build, type[CallboardError], tuple[str, ...], str | None]] = [
    # -- EndpointConfig: every problem in one InvalidEndpointConfig -----------------
    (
        "endpoint-unknown-provider",
        lambda: EndpointConfig(provider="opneai"),
        InvalidEndpointConfig,
        ("unknown provider 'opneai'", "known providers: anthropic", "openai_compatible"),
        "provider",
    ),
    (
        "endpoint-base-url-scheme",
        lambda: EndpointConfig(provider="openai", base_url="api.openai.com/v1"),
        InvalidEndpointConfig,
        ("base_url: must start with http:// or https://",),
        "base_url",
    ),
    (
        "endpoint-negative-timeout",
        lambda: EndpointConfig(provider="openai", timeout=-1),
        InvalidEndpointConfig,
        ("timeout: must be a positive finite number of seconds, or None",),
        "timeout",
    ),
    (
        "endpoint-raw-key-as-api-key",
        lambda: EndpointConfig(provider="openai", api_key=CANARY),
        InvalidEndpointConfig,
        ("must name an environment variable", "wrap it: Secret(key)"),
        "api_key",
    ),
    (
        "endpoint-key-in-headers",
        lambda: EndpointConfig(provider="openai", headers={"Authorization": f"Bearer {CANARY}"}),
        InvalidEndpointConfig,
        ("carries a credential", "give the key as api_key instead"),
        "headers",
    ),
    (
        "endpoint-unknown-endpoint",
        lambda: EndpointConfig(provider="anthropic", endpoint="embeddings"),
        InvalidEndpointConfig,
        ("provider 'anthropic' has no endpoint 'embeddings'", "it offers: messages"),
        "endpoint",
    ),
    (
        "endpoint-two-problems-at-once",
        lambda: EndpointConfig(provider="openai", method="DELETE", max_connections=0),
        InvalidEndpointConfig,
        ("2 problems", "method: must be one of POST", "max_connections: must be an int >= 1"),
        None,
    ),
    (
        "endpoint-unknown-transport",
        lambda: EndpointConfig(provider="openai", transport="grpc"),
        InvalidEndpointConfig,
        ("transport: must be one of http, httpx, sdk",),
        "transport",
    ),
    (
        "endpoint-from-dict-unknown-key",
        lambda: EndpointConfig.from_dict({"provider": "openai", "api_key": CANARY}),
        InvalidEndpointConfig,
        ("extra fields found (api_key)",),
        "config",
    ),
    # -- RetryPolicy, CircuitBreaker ----------------------------------------------
    (
        "retry-negative-retries",
        lambda: RetryPolicy(max_retries=-1),
        ConfigError,
        ("max_retries must be a whole number >= 0", "got -1"),
        "max_retries",
    ),
    (
        "retry-unknown-jitter",
        lambda: RetryPolicy(jitter="lots"),  # type: ignore[arg-type]
        ConfigError,
        ("jitter must be 'full', 'equal' or 'none'",),
        "jitter",
    ),
    (
        "retry-shrinking-multiplier",
        lambda: RetryPolicy(multiplier=0.5),
        ConfigError,
        ("multiplier must be a finite number >= 1", "1 means constant delays"),
        "multiplier",
    ),
    (
        "circuit-zero-threshold",
        lambda: CircuitBreaker(failure_threshold=0),
        ConfigError,
        ("failure_threshold must be a whole number >= 1",),
        "failure_threshold",
    ),
    (
        "circuit-negative-recovery",
        lambda: CircuitBreaker(recovery_time=-1),
        ConfigError,
        ("recovery_time must be a finite number of seconds >= 0",),
        "recovery_time",
    ),
    # -- TokenBucket, Executor -----------------------------------------------------
    (
        "bucket-zero-capacity",
        lambda: TokenBucket(0, 60),
        ConfigError,
        ("capacity must be a positive finite number", "got 0"),
        "capacity",
    ),
    (
        "bucket-nan-period",
        lambda: TokenBucket(100, math.nan),
        ConfigError,
        ("refill_period must be a positive finite number of seconds",),
        "refill_period",
    ),
    (
        "bucket-unknown-unit",
        lambda: TokenBucket(100, 60, unit="apples"),  # type: ignore[arg-type]
        ConfigError,
        ("unit must be 'requests' or 'tokens'",),
        "unit",
    ),
    (
        "executor-zero-concurrency",
        lambda: Executor(Tool(add), concurrency_limit=0),
        ConfigError,
        ("concurrency_limit must be an int >= 1 or None",),
        "concurrency_limit",
    ),
    (
        "executor-negative-queue",
        lambda: Executor(Tool(add), queue_capacity=-1),
        ConfigError,
        ("queue_capacity must be an int >= 1",),
        "queue_capacity",
    ),
    (
        "executor-zero-request-limit",
        lambda: Executor(Tool(add), limit_requests=0),
        ConfigError,
        ("limit_requests must be a positive number per capacity_refresh_time",),
        "limit_requests",
    ),
    # -- iModel ----------------------------------------------------------------------
    (
        "imodel-neither-backend-nor-provider",
        lambda: iModel(),
        ConfigError,
        ("exactly one of backend=", "provider="),
        "backend",
    ),
    (
        "imodel-negative-limit",
        lambda: iModel(backend=Tool(add), limit_requests=-3),
        ConfigError,
        ("limit_requests must be a positive finite number", "got -3"),
        "limit_requests",
    ),
    (
        "imodel-unknown-provider",
        lambda: iModel(provider="opneai", api_key=CANARY),
        UnknownProvider,
        ("unknown provider 'opneai'", "known providers"),
        "provider",
    ),
    (
        "imodel-limits-and-executor",
        lambda: iModel(backend=Tool(add), executor=Executor(Tool(add)), limit_tokens=10),
        ConfigError,
        ("executor= brings its own limits", "drop limit_requests, limit_tokens"),
        "executor",
    ),
    (
        "imodel-from-dict-with-a-tool",
        lambda: iModel.from_dict(iModel(backend=Tool(add)).to_dict()),
        NotRestorable,
        ("Tool backend", "iModel.from_dict(data, backend=...)"),
        "backend",
    ),
    # -- Supervisor, ChildSpec, Broadcast ---------------------------------------------
    (
        "childspec-empty-id",
        lambda: ChildSpec(id="", start=_start),
        InvalidChildSpec,
        ("child id must be a non-empty string",),
        "id",
    ),
    (
        "childspec-start-not-callable",
        lambda: ChildSpec(id="worker", start=3),  # type: ignore[arg-type]
        InvalidChildSpec,
        ("start must be an async callable taking task_status=", "bound run method"),
        "start",
    ),
    (
        "childspec-unknown-restart",
        lambda: ChildSpec(id="worker", start=_start, restart="sometimes"),  # type: ignore[arg-type]
        InvalidChildSpec,
        ("restart must be a Restart (PERMANENT, TRANSIENT or TEMPORARY)",),
        "restart",
    ),
    (
        "supervisor-duplicate-child",
        lambda: Supervisor([ChildSpec(id="w", start=_start), ChildSpec(id="w", start=_start)]),
        InvalidChildSpec,
        ("duplicate child id 'w'", "unique id"),
        "children",
    ),
    (
        "supervisor-unknown-strategy",
        lambda: Supervisor([], strategy="random"),  # type: ignore[arg-type]
        ConfigError,
        ("strategy must be a Strategy (ONE_FOR_ONE, ONE_FOR_ALL, REST_FOR_ONE)",),
        "strategy",
    ),
    (
        "supervisor-zero-period",
        lambda: Supervisor([], max_seconds=0),
        ConfigError,
        ("max_seconds must be a finite number of seconds > 0",),
        "max_seconds",
    ),
    (
        "broadcast-zero-buffer",
        lambda: Broadcast(0),
        ConfigError,
        ("buffer_size must be an int >= 1",),
        "buffer_size",
    ),
    # -- RedisLimiter ---------------------------------------------------------------------
    (
        "redis-empty-key",
        lambda: RedisLimiter(_redis(), "", 100, 60),
        ConfigError,
        ("key must be a non-empty string",),
        "key",
    ),
    (
        "redis-zero-capacity",
        lambda: RedisLimiter(_redis(), "openai:rpm", 0, 60),
        ConfigError,
        ("capacity must be a positive finite number",),
        "capacity",
    ),
    (
        "redis-unknown-outage-policy",
        lambda: RedisLimiter(_redis(), "openai:rpm", 100, 60, on_outage="ignore"),  # type: ignore[arg-type]
        ConfigError,
        ("on_outage must be 'fail' or 'fallback'",),
        "on_outage",
    ),
    (
        "redis-zero-fallback-share",
        lambda: RedisLimiter(_redis(), "k", 100, 60, on_outage="fallback", fallback_share=0),
        ConfigError,
        ("fallback_share must be the number of processes sharing the limit",),
        "fallback_share",
    ),
    # -- Model factory ids, providers -----------------------------------------------------
    (
        "model-id-without-provider",
        lambda: Model.chat_completion("gpt-4o", api_key=CANARY),
        InvalidModelId,
        ("a model id is 'provider/model'", "'openai/gpt-4o'", "got 'gpt-4o'"),
        "model",
    ),
    (
        "model-unknown-provider",
        lambda: Model.chat_completion("opneai/gpt-4o", api_key=CANARY),
        UnknownModelProvider,
        ("unknown provider 'opneai'", "providers offering chat_completion: anthropic"),
        "provider",
    ),
    (
        "model-type-not-offered",
        lambda: Model.text_to_image("anthropic/claude-opus-4-5", api_key=CANARY),
        ModelTypeNotOffered,
        ("'anthropic' does not offer text_to_image", "Providers offering text_to_image:"),
        "model_type",
    ),
    (
        "model-from-serialized-garbage",
        lambda: Model.from_serialized({"model_type": "telepathy"}),
        ConfigError,
        ("not a serialized callboard model", "required field missing @ data.provider"),
        None,
    ),
    (
        "match-endpoint-not-offered",
        lambda: match_endpoint("anthropic", "embeddings", api_key=CANARY),
        UnsupportedModelType,
        ("provider 'anthropic' has no endpoint 'embeddings'", "it offers: messages"),
        "endpoint",
    ),
    (
        # fixed here: a custom path with a provider's endpoint name raised a raw
        # ValueError ("'messages' is not a valid ModelType") from inside the Endpoint
        "match-endpoint-path-with-unknown-endpoint",
        lambda: match_endpoint("openai", "chat-ish", path="/chat", api_key=CANARY),
        UnsupportedModelType,
        ("with path= the endpoint must name a model type", "'chat'", "got 'chat-ish'"),
        "endpoint",
    ),
    (
        "match-endpoint-missing-key",
        lambda: match_endpoint("groq", "chat"),
        MissingApiKey,
        ("needs an API key for 'groq'", "set the GROQ_API_KEY environment variable"),
        "api_key",
    ),
    (
        "match-endpoint-bad-option",
        lambda: match_endpoint("openai", "chat", api_key=Secret(CANARY), timeout="slow"),
        InvalidEndpointConfig,
        ("timeout: must be a positive finite number of seconds",),
        "timeout",
    ),
    # -- hooks, test doubles ------------------------------------------------------------------
    (
        "hook-unknown-phase",
        lambda: HookRegistry().register("before", _start),  # type: ignore[arg-type]
        ConfigError,
        ("phase must be a HookPhase",),
        "phase",
    ),
    (
        "fault-success-status",
        lambda: Fault.error(200),
        ConfigError,
        ("Fault.status must be an HTTP error status 400..599", "got 200"),
        None,
    ),
    (
        "fake-provider-unknown-route",
        lambda: FakeProvider().script("/v1/chat", [None]),
        ConfigError,
        ("'/v1/chat' is not a served path", "'/v1/chat/completions'"),
        "route",
    ),
]


@pytest.mark.parametrize(
    ("build", "kind", "phrases", "field"),
    [pytest.param(*row[1:], id=row[0]) for row in ROWS],
)
async def test_bad_config_is_refused_and_the_tree_keeps_serving(
    build: Build,
    kind: type[CallboardError],
    phrases: tuple[str, ...],
    field: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    async with live() as tree:
        with pytest.raises(CallboardError) as caught:
            build()
        assert_typed(caught.value, kind, phrases)
        assert isinstance(caught.value, ValueError)  # every config error is a ValueError too
        if isinstance(caught.value, ConfigError):
            assert caught.value.field == field
        await tree.still_serves()


# -- the registry: lookups and registration -------------------------------------------


async def test_registry_lookup_of_an_unknown_name() -> None:
    async with live() as tree:
        with pytest.raises(ModelNotFound) as caught:
            tree.registry.get("gpt-4o")
        assert_typed(
            caught.value,
            ModelNotFound,
            ("no model named 'gpt-4o'", "registered names: 'add', 'anthropic'"),
        )
        assert isinstance(caught.value, KeyError)
        await tree.still_serves()


async def test_registry_refuses_a_duplicate_name() -> None:
    async with live() as tree:
        with pytest.raises(DuplicateModel) as caught:
            tree.registry.register(iModel(backend=Tool(add)))
        assert_typed(caught.value, DuplicateModel, ("'add' is already registered", "update=True"))
        await tree.still_serves()


async def test_registry_refuses_something_that_is_not_a_model() -> None:
    # fixed here: register("gpt-4o") raised AttributeError ('str' has no attribute 'name')
    async with live() as tree:
        with pytest.raises(ConfigError) as caught:
            tree.registry.register("gpt-4o")  # type: ignore[arg-type]
        assert_typed(
            caught.value, ConfigError, ("register() takes an iModel, got str", "iModel(backend=")
        )
        assert caught.value.field == "model"
        await tree.still_serves()


def test_executor_without_a_backend() -> None:
    # fixed here: Executor(None) was accepted and every call then failed with a raw
    # AttributeError ('NoneType' object has no attribute 'execute')
    for backend in (None, "gpt-4o", add):
        with pytest.raises(ConfigError) as caught:
            Executor(backend)  # type: ignore[arg-type]
        assert_typed(
            caught.value,
            ConfigError,
            ("backend must have an async execute(calling) method", type(backend).__name__),
        )
        assert caught.value.field == "backend"


def test_endpoint_config_with_a_path_and_a_bad_endpoint_name() -> None:
    # fixed here: with path= the endpoint name was not checked, so a bad one validated
    # and Endpoint() raised a raw ValueError ("'mesages' is not a valid ModelType")
    with pytest.raises(InvalidEndpointConfig) as caught:
        EndpointConfig(provider="anthropic", endpoint="mesages", path="/chat", timeout=-1)
    assert_typed(
        caught.value,
        InvalidEndpointConfig,
        (
            "2 problems",
            "endpoint: with path= the endpoint must name a model type",
            "got 'mesages'",
            "timeout: must be a positive finite number",
        ),
    )
    assert set(caught.value.problems) == {"endpoint", "timeout"}


_CHAT_NAMES = ("chat", "messages", "/v1/messages", "chat/completions")


@pytest.mark.parametrize("path", [None, "/chat"])
@pytest.mark.parametrize("provider", ["anthropic", "openai"])
@pytest.mark.parametrize("endpoint", [*_CHAT_NAMES, "embeddings", "rerank", "chatt"])
def test_an_endpoint_config_that_validates_builds_an_endpoint(
    provider: str, endpoint: str, path: str | None
) -> None:
    """EndpointConfig and Endpoint resolve an endpoint name the same way: a config is
    refused at once (naming ``endpoint``) or its Endpoint builds, never a raw error later."""
    # With path= any model type or known endpoint name goes (the path says where);
    # without, the provider must offer it (anthropic: chat only; openai: no rerank).
    if endpoint in _CHAT_NAMES:
        expected: ModelType | None = ModelType.CHAT
    elif endpoint == "chatt" or (path is None and (provider, endpoint) != ("openai", "embeddings")):
        expected = None
    else:
        expected = ModelType(endpoint)
    try:
        config = EndpointConfig(
            provider=provider, endpoint=endpoint, path=path, api_key=Secret(CANARY)
        )
    except InvalidEndpointConfig as error:
        assert expected is None, f"{endpoint!r} was refused: {error}"
        assert_typed(error, InvalidEndpointConfig, (f"{endpoint!r}",))
        assert error.field == "endpoint"
        return
    assert expected is not None, f"{endpoint!r} on {provider} with path={path!r} validated"
    built = Endpoint(config)
    assert built.model_type is expected
    if path is not None:
        assert built.spec.url_for(expected).endswith(path)

"""ServiceRegistry: the catalogue, tool schemas, and supervising many models."""

from __future__ import annotations

import pytest
import trio

from callboard.calling import CallingStatus
from callboard.imodel import iModel
from callboard.registry import DuplicateModel, ModelNotFound, ServiceRegistry
from callboard.tools import Tool
from tests.model_backends import EchoBackend


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def upper(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


def three_models() -> list[iModel]:
    return [
        iModel(backend=EchoBackend(), name="fast", tags={"llm", "cheap"}, limit_requests=50),
        iModel(backend=EchoBackend(), name="smart", tags={"llm"}, limit_tokens=100_000),
        iModel(backend=Tool(add)),
    ]


def test_register_get_remove_and_list() -> None:
    registry = ServiceRegistry()
    for model in three_models():
        registry.register(model)
    assert registry.list_names() == ["fast", "smart", "add"]
    assert len(registry) == 3 and "smart" in registry
    assert registry.get("smart").name == "smart"
    assert {m.name for m in registry.list_by_tag("llm")} == {"fast", "smart"}
    assert [m.name for m in registry.list_by_tag("tool")] == ["add"]
    removed = registry.remove("fast")
    assert removed.name == "fast"
    assert registry.list_names() == ["smart", "add"]


def test_duplicates_need_update() -> None:
    registry = ServiceRegistry()
    registry.register(iModel(backend=EchoBackend(), name="m"))
    replacement = iModel(backend=EchoBackend(), name="m")
    with pytest.raises(DuplicateModel, match="update=True"):
        registry.register(replacement)
    registry.register(replacement, update=True)
    assert registry.get("m") is replacement
    registry.register(replacement, name="alias")
    assert registry.get("alias") is replacement


def test_unknown_names_are_listed_in_the_error() -> None:
    registry = ServiceRegistry()
    for model in three_models():
        registry.register(model)
    with pytest.raises(ModelNotFound) as caught:
        registry.get("gpt")
    message = str(caught.value)
    assert "'gpt'" in message and "'add', 'fast', 'smart'" in message
    assert caught.value.known == ("add", "fast", "smart")
    assert isinstance(caught.value, KeyError)
    with pytest.raises(ModelNotFound):
        registry.remove("gpt")


def test_tool_schemas_of_tool_backed_models() -> None:
    registry = ServiceRegistry()
    for model in three_models():
        registry.register(model)
    registry.register(iModel(backend=Tool(upper)))
    schemas = registry.get_tool_schemas()
    assert [s["function"]["name"] for s in schemas] == ["add", "upper"]
    assert registry.get_tool_schemas(["upper"])[0]["function"]["description"] == (
        "Upper-case a text."
    )


async def test_the_registry_supervises_every_model() -> None:
    registry = ServiceRegistry()
    models = three_models()
    for model in models:
        registry.register(model)
    async with registry:
        assert all(model.is_started for model in models)
        assert registry.supervisor is not None
        assert len(registry.supervisor.which_children()) == 3
        calling = await registry.get("add").invoke(a=2, b=3)
        assert calling.response == 5
        late = iModel(backend=EchoBackend(), name="late")
        registry.register(late)
        await registry.sync()
        assert late.is_started
        registry.remove("fast")
        await registry.sync()
        assert not models[0].is_started
        assert (await late.invoke(q=1)).status is CallingStatus.COMPLETED
    assert not any(model.is_started for model in [*models, late])
    # outside the block the models still work, inline
    assert (await registry.get("add").invoke(a=1, b=1)).response == 2


class CrashingActor:
    """An actor backend (like an Endpoint) whose first ``crashes`` runs crash at once."""

    def __init__(self, crashes: int) -> None:
        self.crashes = crashes
        self.runs = 0
        self.calls = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.runs += 1
        task_status.started()
        if self.runs <= self.crashes:
            await trio.lowlevel.checkpoint()
            raise RuntimeError(f"crash {self.runs}")
        await trio.sleep_forever()

    async def execute(self, calling: object) -> str:
        self.calls += 1
        await trio.lowlevel.checkpoint()
        return "ok"


async def test_a_crashing_backend_actor_is_restarted_by_its_model(autojump_clock: object) -> None:
    backend = CrashingActor(crashes=2)
    async with iModel(backend=backend) as model:
        await trio.sleep(1)
        assert backend.runs == 3  # two crashes, two one_for_one restarts
        assert model.is_started
        assert (await model.invoke(q=1)).response == "ok"


async def test_a_model_that_keeps_crashing_is_restarted_alone(autojump_clock: object) -> None:
    """More crashes than the model's supervisor allows escalate to the registry's
    supervisor, which restarts that model's whole tree and leaves the others alone."""
    registry = ServiceRegistry()
    steady = iModel(backend=EchoBackend(), name="steady")
    backend = CrashingActor(crashes=5)
    crashy = iModel(backend=backend, name="crashy")
    registry.register(steady)
    registry.register(crashy)
    async with registry:
        steady_supervisor = steady.supervisor
        await trio.sleep(1)
        assert backend.runs == 6  # 4 runs escalate the model (3 restarts allowed), 2 more
        assert crashy.is_started
        assert steady.supervisor is steady_supervisor  # untouched
        assert (await crashy.invoke(q=1)).response == "ok"
        assert (await steady.invoke(q=1)).status is CallingStatus.COMPLETED


async def test_errors_leave_the_registry_block_unwrapped() -> None:
    registry = ServiceRegistry()
    registry.register(iModel(backend=Tool(add)))
    with pytest.raises(ZeroDivisionError):
        async with registry:
            _ = 1 / 0
    assert registry.supervisor is None

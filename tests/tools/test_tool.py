"""Tool backend: schema from the signature, argument checks, threads, same lifecycle."""

from __future__ import annotations

import threading
from typing import Any, Literal

import pytest
import trio

from callboard.calling import CallingStatus
from callboard.errors import ConfigError
from callboard.imodel import HookPhase, HookRegistry, iModel
from callboard.tools import Tool, ToolArgumentError, ToolError


def add(a: int, b: int = 0) -> int:
    """Add two integers.

    Longer explanation that stays out of the schema.
    """
    return a + b


def search(
    query: str,
    limit: int | None = None,
    mode: Literal["fast", "exact"] = "fast",
    tags: list[str] | None = None,
    weight: float = 1.0,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {"query": query, "limit": limit, "mode": mode, "tags": tags, "weight": weight}


def test_schema_from_signature_and_hints() -> None:
    tool = Tool(search)
    schema = tool.schema
    assert schema["required"] == ["query"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["query"] == {"type": "string"}
    assert props["limit"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert props["mode"] == {"enum": ["fast", "exact"]}
    assert props["tags"]["anyOf"][0] == {"type": "array", "items": {"type": "string"}}
    assert props["weight"] == {"type": "number"}
    definition = Tool(add).tool_schema()
    assert definition["type"] == "function"
    assert definition["function"]["name"] == "add"
    assert definition["function"]["description"] == "Add two integers."


def test_given_schema_name_and_description_win() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    tool = Tool(lambda **kw: kw, name="echo", description="Echo.", schema=schema)
    assert tool.tool_schema()["function"] == {
        "name": "echo",
        "description": "Echo.",
        "parameters": schema,
    }
    with pytest.raises(ConfigError, match="object"):
        Tool(add, schema={"type": "string"})
    with pytest.raises(ConfigError):
        Tool("nope")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "argument", "problem"),
    [
        ({}, "a", "missing"),
        ({"a": 1, "c": 2}, "c", "unexpected"),
        ({"a": "1"}, "a", "wrong type"),
        ({"a": True}, "a", "wrong type"),  # a bool is not an int here
        ({"a": 1.5}, "a", "wrong type"),
    ],
)
async def test_bad_arguments_fail_before_the_call(
    arguments: dict[str, Any], argument: str, problem: str
) -> None:
    calls: list[int] = []

    def counted(a: int, b: int = 0) -> int:
        calls.append(a)
        return a + b

    model = iModel(backend=Tool(counted))
    with pytest.raises(ToolArgumentError) as caught:
        await model.invoke(**arguments)
    error = caught.value
    assert (error.tool, error.argument, error.problem) == ("counted", argument, problem)
    assert repr(argument) in str(error)
    assert error.calling.status is CallingStatus.FAILED  # type: ignore[attr-defined]
    assert calls == []


async def test_nested_types_are_checked() -> None:
    tool = Tool(search)
    tool.validate({"query": "q", "tags": ["a", "b"], "limit": None, "weight": 2})
    with pytest.raises(ToolArgumentError, match="'tags' is wrong type"):
        tool.validate({"query": "q", "tags": ["a", 3]})
    with pytest.raises(ToolArgumentError, match="one of 'fast', 'exact'"):
        tool.validate({"query": "q", "mode": "slow"})
    with pytest.raises(ToolArgumentError, match="'options'"):
        tool.validate({"query": "q", "options": [1]})


async def test_sync_functions_run_in_a_worker_thread() -> None:
    main = threading.get_ident()
    threads: list[int] = []

    def where(x: int) -> int:
        threads.append(threading.get_ident())
        return x * 2

    calling = await iModel(backend=Tool(where)).invoke(x=21)
    assert calling.response == 42
    assert threads and threads[0] != main


async def test_async_functions_run_in_the_calling_task(autojump_clock: object) -> None:
    async def wait_then_echo(seconds: float, text: str) -> str:
        await trio.sleep(seconds)
        return text

    start = trio.current_time()
    calling = await iModel(backend=Tool(wait_then_echo)).invoke(seconds=3, text="hi")
    assert calling.response == "hi"
    assert trio.current_time() - start == pytest.approx(3.0)


@pytest.mark.parametrize("started", [False, True])
async def test_what_the_function_raises_becomes_a_tool_error(started: bool) -> None:
    def explode(token: str) -> None:
        raise KeyError(token)

    model = iModel(backend=Tool(explode))

    async def run() -> None:
        with pytest.raises(ToolError) as caught:
            await model.invoke(token="sk-canary-1234")
        assert isinstance(caught.value.__cause__, KeyError)
        assert "sk-canary-1234" not in str(caught.value)

    if started:
        async with model:
            await run()
    else:
        await run()


async def test_tool_calls_get_hooks_and_limits(autojump_clock: object) -> None:
    order: list[str] = []
    hooks = HookRegistry()
    hooks.register(HookPhase.PreInvocation, lambda c: order.append(f"pre {c.payload}"))
    hooks.register(HookPhase.PostInvocation, lambda c: order.append(f"post {c.response}"))
    model = iModel(
        backend=Tool(add), hook_registry=hooks, limit_requests=1, capacity_refresh_time=2
    )
    async with model:
        start = trio.current_time()
        first = await model.invoke(a=1, b=2)
        second = await model.invoke(a=3)
        elapsed = trio.current_time() - start
    assert (first.response, second.response) == (3, 3)
    assert elapsed == pytest.approx(2.0)
    assert order == ["pre {'a': 1, 'b': 2}", "post 3", "pre {'a': 3}", "post 3"]

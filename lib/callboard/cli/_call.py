"""``callboard call "prompt"``: one call to a provider, printing the reply and its usage.

The reply goes to stdout (streamed as it arrives with ``--stream``), the usage line to
stderr, so ``callboard call "..." > answer.txt`` keeps only the answer.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import trio

from callboard.errors import CallboardError
from callboard.providers import NormalizedResponse, Usage
from callboard.resilience import RetryPolicy

from ._arguments import non_negative_int, positive_int, positive_seconds
from ._dollars import dollars
from ._errors import CliError
from ._models import build_models, resolve_target
from ._prices import add_prices_argument, prices_from

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Register the ``call`` subcommand."""
    parser = commands.add_parser(
        "call",
        help="send one prompt to a provider and print the reply and usage",
        description=(
            "Send one chat prompt and print the reply (stdout) and the token usage "
            "(stderr). The API key comes from the provider's environment variable."
        ),
    )
    parser.add_argument("prompt", help="the user message")
    parser.add_argument("--provider", required=True, help="openai, anthropic, groq, ...")
    parser.add_argument(
        "--model", help="model name (default gpt-4o-mini; claude-haiku-4-5 for anthropic)"
    )
    parser.add_argument("--base-url", help="the provider's API root, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--system", help="a system prompt")
    parser.add_argument("--max-tokens", type=positive_int, help="cap on the reply's tokens")
    parser.add_argument("--stream", action="store_true", help="print the reply as it streams")
    add_prices_argument(parser)
    parser.add_argument(
        "--timeout", type=positive_seconds, default=60.0, help="seconds per attempt (default 60)"
    )
    parser.add_argument("--retries", type=non_negative_int, default=2, help="retries (default 2)")
    parser.set_defaults(handler=run)


def _payload(args: argparse.Namespace) -> dict[str, Any]:
    messages: list[dict[str, str]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})
    payload: dict[str, Any] = {"messages": messages}
    if args.max_tokens is not None:
        payload["max_tokens"] = args.max_tokens
    return payload


def _usage_line(response: NormalizedResponse, model: str) -> str:
    usage: Usage | None = response.usage
    if usage is None:
        return "usage: not reported"
    cached = f", {usage.cached_tokens} cached" if usage.cached_tokens else ""
    line = (
        f"usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion = "
        f"{usage.total_tokens} tokens{cached}"
    )
    cost = response.cost
    name = response.model or model
    if cost is None:
        return f"{line}; cost unknown: no price for {name!r} in callboard.PRICES"
    return f"{line}; cost {dollars(cost.total)} at the list price of {name}"


async def _call(args: argparse.Namespace) -> str:
    target = resolve_target(args.provider, model=args.model, base_url=args.base_url)
    retry = RetryPolicy(max_retries=args.retries, base_delay=0.25, max_delay=4.0)
    (model,) = build_models(target, count=1, retry=retry, timeout=args.timeout)
    payload = _payload(args)
    async with model:
        if not args.stream:
            calling = await model.invoke(**payload)
            response: NormalizedResponse = calling.response
            print(response.text, flush=True)
            return _usage_line(response, target.model)
        channel = await model.invoke_stream_with_channel(**payload)
        async for delta in channel:
            if delta.text:
                print(delta.text, end="", flush=True)
        print(flush=True)
        final: NormalizedResponse = channel.calling.response
        return _usage_line(final, target.model)


def _leaves(group: BaseExceptionGroup[CallboardError]) -> list[CallboardError]:
    found: list[CallboardError] = []
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            found += _leaves(error)  # pyright: ignore[reportUnknownArgumentType]
        else:
            found.append(error)
    return found


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def run(args: argparse.Namespace) -> int:
    """Make the call; returns the exit code."""
    try:
        with prices_from(args.prices):
            usage = trio.run(_call, args)
    except CliError as error:
        print(f"callboard call: error: {error.message}", file=sys.stderr)
        return error.exit_code
    except CallboardError as error:
        print(f"callboard call: error: {_first_line(error)}", file=sys.stderr)
        return 1
    except BaseExceptionGroup as group:  # an error inside the started model's nursery
        matched, rest = group.split(CallboardError)
        if matched is None or rest is not None:
            raise
        error = _leaves(matched)[0]
        print(f"callboard call: error: {_first_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("callboard call: interrupted", file=sys.stderr)
        return 130
    print(usage, file=sys.stderr)
    return 0

"""``callboard fake-provider``: run the fake provider as a standalone server until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

import trio

from callboard.errors import ConfigError
from callboard.testing import Enforcement, FakeProvider, Fault, Latency, RouteFaults

__all__ = ["add_parser", "run"]

_FAULTS = {
    "reset": Fault.reset(),
    "stall": Fault.stall(),
    "malformed_json": Fault.malformed_json(),
    "html_502": Fault.html_502(),
    "truncated_sse": Fault.truncated_sse(),
    "sse_error": Fault.sse_error(),
    "429": Fault.rate_limited(),
    "retry_after_absurd": Fault.rate_limited(retry_after=99_999),
    "hostile_body": Fault.hostile_body(),
}


def _fault(text: str) -> tuple[Fault, float]:
    """``KIND=RATE`` where KIND is an HTTP status (500, 503, 529, ...) or a fault name."""
    kind, sep, rate_text = text.partition("=")
    try:
        rate = float(rate_text)
    except ValueError:
        rate = -1.0
    if not sep or not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"expected KIND=RATE with RATE in [0, 1], got {text!r}")
    if kind in _FAULTS:
        return _FAULTS[kind], rate
    if kind.isdigit() and 500 <= int(kind) <= 599:
        return Fault.error(int(kind)), rate
    names = ", ".join(sorted(_FAULTS))
    raise argparse.ArgumentTypeError(f"unknown fault {kind!r}: use a 5xx status or one of {names}")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Register the ``fake-provider`` subcommand."""
    parser = commands.add_parser(
        "fake-provider",
        help="serve fake OpenAI and Anthropic APIs on loopback until Ctrl-C",
        description="Serve fake OpenAI and Anthropic APIs (see docs/testing.md) until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any)")
    parser.add_argument(
        "--key",
        action="append",
        dest="keys",
        metavar="KEY",
        help="an accepted API key (repeat for several; default test-key)",
    )
    parser.add_argument("--rpm", type=int, help="requests per minute per key")
    parser.add_argument("--tpm", type=int, help="tokens per minute per key")
    parser.add_argument("--itpm", type=int, help="uncached input tokens per minute per key")
    parser.add_argument("--otpm", type=int, help="output tokens per minute per key")
    limits = parser.add_argument_group(
        "enforcement", "how the limits are enforced (see Enforcement in docs/testing.md)"
    )
    limits.add_argument(
        "--window",
        type=float,
        default=60.0,
        metavar="S",
        help="enforce each per-minute limit over S seconds (1 = per second; default 60)",
    )
    limits.add_argument(
        "--fixed-windows", action="store_true", help="count windows from zero at boundaries"
    )
    limits.add_argument(
        "--hide-window",
        action="store_true",
        help="headers show the minute, the shorter --window is enforced unseen",
    )
    limits.add_argument(
        "--charging",
        choices=("adjust", "no_refund"),
        default="adjust",
        help="tpm: refund unused max_tokens (adjust, default) or keep them (no_refund)",
    )
    limits.add_argument(
        "--cache-reads-count", action="store_true", help="prompt-cache reads count toward itpm"
    )
    limits.add_argument(
        "--foreign-share",
        type=float,
        default=0.0,
        metavar="F",
        help="share of every limit taken by someone else on the key (0..1)",
    )
    limits.add_argument(
        "--headers",
        choices=("always", "on_429", "never"),
        default="always",
        help="when rate-limit headers are sent (default always)",
    )
    limits.add_argument(
        "--no-retry-after",
        dest="retry_after",
        action="store_false",
        help="429s carry no retry-after / x-should-retry",
    )
    limits.add_argument(
        "--token-rounding",
        type=int,
        default=1,
        metavar="N",
        help="round remaining-token headers to multiples of N (Anthropic: 1000)",
    )
    parser.add_argument("--latency", type=_seconds, default=0.0, help="seconds before replies")
    parser.add_argument(
        "--jitter", type=_seconds, default=0.0, help="extra uniform random latency, seconds"
    )
    parser.add_argument(
        "--chunk-delay", type=_seconds, default=0.0, help="seconds between streamed events"
    )
    parser.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        metavar="KIND=RATE",
        help="random fault on every route, e.g. 529=0.1 or reset=0.05 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    parser.set_defaults(handler=run)


async def _serve(provider: FakeProvider) -> None:
    async with provider as fp:
        print(f"fake provider listening on {fp.base_url} (Ctrl-C to stop)", flush=True)
        await trio.sleep_forever()


def _print_stats(provider: FakeProvider) -> None:
    """What the provider saw, printed when it stops (a benchmark reads this line)."""
    stats = provider.stats
    print(
        f"fake provider stopped: received={stats.received} succeeded={stats.succeeded} "
        f"rate_limited={stats.rate_limited} faulted={stats.faulted} rejected={stats.rejected}",
        flush=True,
    )
    print(f"fake provider faults: {json.dumps(dict(stats.faults))}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; returns the exit code."""
    try:
        enforcement = Enforcement(
            window=args.window,
            fixed_windows=args.fixed_windows,
            hide_window=args.hide_window,
            charging=args.charging,
            cache_reads_count=args.cache_reads_count,
            foreign_share=args.foreign_share,
            headers=args.headers,
            retry_after=args.retry_after,
            token_rounding=args.token_rounding,
        )
        provider = FakeProvider(
            keys=args.keys or ("test-key",),
            rpm=args.rpm,
            tpm=args.tpm,
            itpm=args.itpm,
            otpm=args.otpm,
            enforcement=enforcement,
            latency=Latency(base=args.latency, jitter=args.jitter, per_chunk=args.chunk_delay),
            faults={"*": RouteFaults(rates=dict(args.fault))} if args.fault else None,
            seed=args.seed,
            host=args.host,
            port=args.port,
            # Anchor the provider's trio clock to the real date so Date headers look right.
            epoch=datetime.now(UTC),
        )
    except ConfigError as exc:
        print(f"callboard fake-provider: error: {exc}", file=sys.stderr)
        return 2
    try:
        trio.run(_serve, provider)
    except KeyboardInterrupt:
        _print_stats(provider)
        return 0
    except BaseExceptionGroup as group:
        interrupted, rest = group.split(KeyboardInterrupt)
        if interrupted is not None and rest is None:
            _print_stats(provider)
            return 0
        raise
    except OSError as exc:
        print(
            f"callboard fake-provider: error: cannot listen on {args.host}:{args.port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0  # pragma: no cover - sleep_forever only ends by Ctrl-C

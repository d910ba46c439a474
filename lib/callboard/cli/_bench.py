"""``callboard bench``: throughput, latency and limit use of supervised model actors.

By default it starts the fake provider inside the same process and needs no key and no
network; ``--provider openai --model gpt-4o-mini`` runs the same bench against the real
service (the key comes from the provider's environment variable).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import trio

from ._arguments import fraction, non_negative_int, positive_int, seconds
from ._bench_run import BenchConfig, BenchResult, run_bench
from ._errors import CliError
from ._models import Target, resolve_target
from ._plot import check_plot_path, write_plot
from ._prices import add_prices_argument, prices_from
from ._progress import ProgressDisplay
from ._report import BenchReport
from ._table import print_report

__all__ = ["DEFAULT_CALLINGS", "add_parser", "run"]

DEFAULT_CALLINGS = 10_000
"""About 20 s on a 2-core machine with the default flags (fake provider)."""
DEFAULT_REAL_CALLINGS = 20
"""Against a real provider every call costs money: a small default."""
INTERRUPTED = 130  # the shell's exit status for a process stopped by SIGINT


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Register the ``bench`` subcommand."""
    parser = commands.add_parser(
        "bench",
        help="benchmark supervised model actors (on the embedded fake provider by default)",
        description=(
            "Run N Callings through K supervised model actors at concurrency C and report "
            "throughput, latency, queue wait, 429s, retries, tokens and the share of the "
            "configured limit achieved. Without --provider the fake provider runs in-process."
        ),
    )
    parser.add_argument(
        "--models", type=positive_int, default=4, help="model actors (K, default 4)"
    )
    parser.add_argument(
        "--callings",
        "-n",
        type=positive_int,
        help=f"Callings to run (N; default {DEFAULT_CALLINGS}, {DEFAULT_REAL_CALLINGS} "
        "with --provider)",
    )
    parser.add_argument(
        "--concurrency", "-c", type=positive_int, default=32, help="callers at once (default 32)"
    )
    parser.add_argument("--rpm", type=positive_int, help="requests per minute for the key")
    parser.add_argument("--tpm", type=positive_int, help="tokens per minute for the key")
    parser.add_argument(
        "--latency", type=seconds, default=0.0, help="fake provider's delay per reply, seconds"
    )
    parser.add_argument(
        "--fault-rate",
        type=fraction,
        default=0.0,
        help="share of fake-provider replies that are a retryable 503 (0..1)",
    )
    parser.add_argument(
        "--no-client-limits",
        dest="client_limits",
        action="store_false",
        help="do not mirror --rpm/--tpm on the client (see the 429s that admission avoids)",
    )
    parser.add_argument("--stream", action="store_true", help="stream (time to first chunk)")
    parser.add_argument(
        "--max-tokens", type=positive_int, default=16, help="max_tokens per call (default 16)"
    )
    parser.add_argument(
        "--retries", type=non_negative_int, default=3, help="retries per call (default 3)"
    )
    parser.add_argument("--provider", help="a real provider (openai, anthropic, ...)")
    parser.add_argument(
        "--model", help="model name (default gpt-4o-mini; claude-haiku-4-5 for anthropic)"
    )
    parser.add_argument("--base-url", help="the provider's API root, e.g. http://host/v1")
    parser.add_argument(
        "--pacing",
        choices=("smooth", "burst"),
        help="admit each limit smoothly or in full bursts (default: burst against the "
        "embedded provider's full-minute window, which allows them; smooth otherwise)",
    )
    parser.add_argument(
        "--window",
        type=seconds,
        default=60.0,
        help="the embedded provider enforces each per-minute limit over this many seconds "
        "(1 = per second, as providers may; default 60)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON, no bar")
    add_prices_argument(parser)
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="write a chart of throughput, latency and rate over time (.png or .html)",
    )
    parser.set_defaults(handler=run)


def config_from(args: argparse.Namespace) -> BenchConfig:
    """The run the parsed flags describe.

    Raises:
        CliError: flags that contradict each other.
    """
    if args.provider is None and args.base_url is not None:
        raise CliError(
            "--base-url needs --provider (the fake provider picks its own URL)", exit_code=2
        )
    if not 0 < args.window <= 60:
        raise CliError(f"--window must be in (0, 60] seconds, got {args.window:g}", exit_code=2)
    default = DEFAULT_CALLINGS if args.provider is None else DEFAULT_REAL_CALLINGS
    return BenchConfig(
        models=args.models,
        callings=args.callings or default,
        concurrency=args.concurrency,
        rpm=args.rpm,
        tpm=args.tpm,
        latency=args.latency,
        fault_rate=args.fault_rate,
        stream=args.stream,
        max_tokens=args.max_tokens,
        retries=args.retries,
        client_limits=args.client_limits,
        provider=args.provider,
        model=args.model,
        base_url=args.base_url,
        pacing=args.pacing,
        window=args.window,
    )


def _started_line(config: BenchConfig) -> str:
    where = config.provider or "the embedded fake provider"
    return (
        f"callboard bench: {config.callings:,} callings on {config.models} models at "
        f"concurrency {config.concurrency} against {where} (Ctrl-C stops and reports)"
    )


def run(args: argparse.Namespace) -> int:
    """Run the bench, print the table (or JSON); returns the exit code."""
    try:
        config = config_from(args)
        target = None
        if config.provider is not None:  # check the provider and key before any output
            target = resolve_target(config.provider, model=config.model, base_url=config.base_url)
        if args.plot is not None:
            check_plot_path(args.plot)  # before the run, not after 20 seconds of it
        with prices_from(args.prices):
            result = _execute(config, target, as_json=args.json)
        report = result.report
        if args.plot is not None:
            write_plot(args.plot, result.series, title=_plot_title(report))
            print(f"callboard bench: wrote {args.plot}", file=sys.stderr)
    except CliError as error:
        print(f"callboard bench: error: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("callboard bench: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BaseExceptionGroup as group:  # from inside the run's nurseries
        interrupted, rest = group.split(KeyboardInterrupt)
        if rest is None and interrupted is not None:
            print("callboard bench: interrupted", file=sys.stderr)
            return INTERRUPTED
        raise
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report)
    if report.interrupted:
        return INTERRUPTED
    if report.completed == 0 and report.failed:
        print(f"callboard bench: error: no call succeeded: {_why(report)}", file=sys.stderr)
        return 1
    return 0


def _why(report: BenchReport) -> str:
    """The first real error, and whether a circuit then made the other calls fail fast."""
    why = report.first_error or "no error was reported"
    if report.circuits_opened:
        first = report.circuits_opened[0]
        why += (
            f"; then the circuit of {first.endpoint} opened after {first.failures} "
            "failures in a row and the other calls failed fast"
        )
    return why


def _plot_title(report: BenchReport) -> str:
    return (
        f"callboard bench: {report.completed:,} of {report.requested:,} calls, "
        f"{report.models} x {report.provider}/{report.model}, concurrency {report.concurrency}"
    )


def _execute(config: BenchConfig, target: Target | None, *, as_json: bool) -> BenchResult:
    def started() -> None:
        print(_started_line(config), file=sys.stderr, flush=True)

    if as_json:
        return trio.run(lambda: run_bench(config, target, on_started=started))
    title = "streaming" if config.stream else "calls"
    with ProgressDisplay(config.callings, title) as display:
        return trio.run(lambda: run_bench(config, target, display=display.update))

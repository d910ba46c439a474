"""The final table of ``callboard bench`` (rich, on stdout)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ._error_tally import ErrorTally
from ._report import BenchReport, LimitShare
from ._rich import require_rich

__all__ = ["print_report", "report_rows"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def _share(share: LimitShare | None, unit: str) -> str:
    if share is None:
        return "no limit set"
    return (
        f"{share.share:.1%} ({share.used:,} of {share.allowed:,.0f} {unit} allowed "
        f"at {share.limit_per_minute:,}/min)"
    )


def _admission(limit: dict[str, Any]) -> str:
    """``effective 19.0/s of 20.0/s, burst 19, 1 cut (smooth)``."""
    effective, configured = limit.get("effective_rate"), limit.get("configured_rate")
    if effective is None or configured is None:
        return f"not paced ({limit.get('pacing')})"
    cuts = limit.get("cuts", 0)
    return (
        f"effective {effective:,.1f}/s of {configured:,.1f}/s, burst "
        f"{limit.get('effective_burst') or 0:,.0f}, {cuts} cut{'' if cuts == 1 else 's'} "
        f"({limit.get('pacing')})"
    )


def _cost(report: BenchReport) -> str:
    if report.cost_usd is None:
        if report.completed == 0:
            return "-"
        return f"not priced: {report.model} has no price in callboard.PRICES"
    cost = f"${report.cost_usd:,.4f} at list prices"
    if report.prices_as_of:
        cost += f" of {report.prices_as_of}"
    if report.unpriced:
        cost += f" ({report.unpriced:,} calls not priced)"
    return cost


def _error_rows(report: BenchReport) -> list[tuple[str, str]]:
    """Why calls failed: the top error kinds, the first cause, the circuits that opened."""
    rows: list[tuple[str, str]] = []
    if report.failed_by:
        rows.append(("failed with", ErrorTally.top(Counter(report.failed_by))))
    if report.retried_after:
        rows.append(("retried after", ErrorTally.top(Counter(report.retried_after))))
    if report.first_error and (report.failed_by or report.retried_after):
        rows.append(("first error", report.first_error))
    if report.circuits_opened:
        first = report.circuits_opened[0]
        opened = f"{first.endpoint} after {first.failures} failures in a row"
        if first.cause == report.first_error:
            opened += ", the first error above"
        elif first.cause:
            opened += f", the last: {first.cause}"
        if len(report.circuits_opened) > 1:
            opened += f" (opened {len(report.circuits_opened)} times in all)"
        rows.append(("circuit opened", opened))
    return rows


def report_rows(report: BenchReport) -> list[tuple[str, str]]:
    """The table as (figure, value) pairs, in display order."""
    latency, wait = report.latency_ms, report.queue_wait_ms
    cancelled = f", {report.cancelled:,} cancelled" if report.cancelled else ""
    rows = [
        (
            "callings",
            f"{report.completed:,} completed, {report.failed:,} failed{cancelled}"
            f" of {report.requested:,}" + (" (interrupted)" if report.interrupted else ""),
        ),
        ("elapsed", f"{report.elapsed_s:,.2f} s"),
        ("throughput", f"{report.throughput_per_s:,.1f} calls/s"),
        (
            "latency p50 / p95 / p99",
            f"{_ms(latency['p50'])} / {_ms(latency['p95'])} / {_ms(latency['p99'])}",
        ),
        ("queue wait p50 / p99", f"{_ms(wait['p50'])} / {_ms(wait['p99'])}"),
    ]
    if report.first_chunk_ms is not None:
        first = report.first_chunk_ms
        rows.append(
            (
                "first chunk p50 / p95 / p99",
                f"{_ms(first['p50'])} / {_ms(first['p95'])} / {_ms(first['p99'])}",
            )
        )
    rows += [
        ("429s received", f"{report.rate_limited_429:,}"),
        ("retries", f"{report.retries:,}"),
        *_error_rows(report),
        ("tokens used", f"{report.tokens_used:,}"),
        ("cost", _cost(report)),
        ("share of request limit", _share(report.requests_share, "requests")),
        ("share of token limit", _share(report.tokens_share, "tokens")),
    ]
    admission = report.admission or {}
    for name in ("requests", "tokens"):
        limit = admission.get(name)
        if limit is not None:
            rows.append((f"admission: {name}", _admission(limit)))
    if report.events_missed:
        rows.append(("events missed", f"{report.events_missed:,} (figures are partial)"))
    return rows


def print_report(report: BenchReport) -> None:
    """Print the report as a two-column table on stdout.

    Raises:
        CliError: rich is not installed.
    """
    require_rich()
    from rich.console import Console
    from rich.table import Table

    title = (
        f"callboard bench: {report.models} x {report.provider}/{report.model}, "
        f"concurrency {report.concurrency}" + (", streaming" if report.stream else "")
    )
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in report_rows(report):
        table.add_row(name, value)
    Console().print(table)

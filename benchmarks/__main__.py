"""Run the benchmark modules in this folder, print their reports, write docs/benchmarks.md.

Each ``bench_*.py`` module exposes ``main() -> None`` that runs its measurements, prints
a table and reports every figure through :func:`benchmarks._report.record`. Every figure
is a ratio against a baseline measured in the same run, so the numbers mean something on
a shared, noisy machine. Missing a target is reported in the table; it never fails the
run (a benchmark that crashes does).

    python -m benchmarks              # all of them, then write docs/benchmarks.md
    python -m benchmarks actors       # only bench_actors.py (docs untouched)
    python -m benchmarks --write actors --output /tmp/bench.md
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import os
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path

import benchmarks
from benchmarks._report import Figure, collected, reset

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
_PACKAGES = ("callboard", "trio", "httpx2", "attrs", "cattrs", "h11", "rich")


def _names() -> list[str]:
    return sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name.startswith("bench_")
    )


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> list[tuple[str, str]]:
    """What the figures were measured on (the table's header rows)."""
    rows = [
        ("date", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{_cpu()}, {os.cpu_count()} logical CPUs, {platform.machine()}"),
        ("system", platform.platform()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
    ]
    if hasattr(os, "getloadavg"):
        rows.append(("load average at start", " / ".join(f"{x:.2f}" for x in os.getloadavg())))
    versions: list[str] = []
    for package in _PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    rows.append(("versions", ", ".join(versions)))
    return rows


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.1f}%"
    magnitude = abs(value)
    if magnitude >= 100:
        text = f"{value:,.0f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def render(
    figures: list[Figure],
    header: list[tuple[str, str]],
    crashed: dict[str, str],
    seconds: dict[str, float],
) -> str:
    """docs/benchmarks.md: how to run, the machine, then one table row per figure."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `nox -s bench` (`python -m benchmarks`). Every figure is measured beside",
        "a baseline in the same run on the same machine, so the ratios stay meaningful on a",
        "shared, noisy box; the absolute numbers are only this machine's. A missed target",
        "is reported here as MISS; it does not fail CI. `callboard bench` measures the",
        "whole stack interactively (see [the CLI](cli.md)).",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in header),
        "",
        "## Results",
        "",
        "| benchmark | figure | value | baseline | ratio | target | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for figure in figures:
        baseline = ""
        if figure.baseline is not None:
            baseline = _number(figure.baseline, figure.unit)
            if figure.baseline_name:
                baseline = f"{baseline} ({figure.baseline_name})"
        cells = [
            figure.bench,
            figure.name,
            _number(figure.value, figure.unit),
            baseline,
            _number(figure.ratio, "x") if figure.ratio is not None else "",
            figure.target or "",
            figure.verdict,
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    for bench, error in crashed.items():
        lines.append(f"| {bench} | crashed: {error} | | | | | ERROR |")
    misses = [f for f in figures if f.passed is False]
    lines += [
        "",
        f"{sum(f.passed is True for f in figures)} targets met, {len(misses)} missed"
        + (f", {len(crashed)} benchmark(s) crashed" if crashed else "")
        + ". Time per module: "
        + ", ".join(f"{name} {secs:.0f} s" for name, secs in seconds.items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument(
        "--write", action="store_true", help="write the report also when running a subset"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="do not write the report even when running all"
    )
    parser.add_argument("--output", type=Path, default=DOCS, help=f"report path ({DOCS.name})")
    args = parser.parse_args(argv)
    names = _names()
    wanted = args.names or names
    unknown = [name for name in wanted if name not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
        return 2
    header = machine()
    figures: list[Figure] = []
    crashed: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        reset(name)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            module.main()
        except Exception as error:
            traceback.print_exc()
            crashed[name] = f"{type(error).__name__}: {error}".splitlines()[0]
        seconds[name] = time.perf_counter() - started
        figures += collected()
    if (not args.names or args.write) and not args.no_write:
        args.output.write_text(render(figures, header, crashed, seconds), encoding="utf-8")
        print(f"\nwrote {args.output}")
    missed = [f"{f.bench}: {f.name}" for f in figures if f.passed is False]
    if missed:
        print(f"targets missed (reported, not failing): {'; '.join(missed)}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run the benchmark modules in this folder and print their reports.

Each ``bench_*.py`` module exposes ``main() -> None`` that runs its measurements and
prints a table. Every figure is a ratio against a baseline measured in the same run, so
the numbers mean something on a shared, noisy machine. Missing a target is reported in
the table; it never fails the run.

    python -m benchmarks              # all of them
    python -m benchmarks actors       # only bench_actors.py
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main(argv: list[str]) -> int:
    names = sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name.startswith("bench_")
    )
    wanted = argv or names
    unknown = [name for name in wanted if name not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
        return 2
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

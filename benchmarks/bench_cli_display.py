"""What the live display of ``callboard bench`` costs: the same run drawn on a terminal and
with stderr redirected to a file (where rich draws nothing until the end).

Each round runs the bench (``CALLS`` calls on the embedded fake provider, the default
flags) twice in this process, in alternating order: once drawing on a pseudo-terminal of
120 columns (10 redraws a second, read by a thread as a terminal would), once on a file.
The bench is one CPU-bound Trio thread, so the CPU time a run takes is its work, and it
is far less disturbed than wall time by other processes on a shared machine. Figures:

- the CPU time of the terminal run against the redirected one (target: at most 2% more);
- the CPU time spent inside the redraws, as a share of the run's CPU time (the same
  target, measured directly);
- the wall-clock ratio, for information (noisy on a loaded machine).
"""

from __future__ import annotations

import io
import os
import pty
import statistics
import threading
import time

import trio
from rich.console import Console

from benchmarks._report import record
from callboard.cli._bench_run import BenchConfig, run_bench
from callboard.cli._progress import ProgressDisplay
from callboard.cli._timeline import BenchProgress

CALLS = 3_000
ROUNDS = 4
TARGET = 1.02


def _drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:  # EIO once the terminal's writer closed it
            return


def _run(terminal: bool) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, CPU seconds inside the redraws) of one run."""
    if terminal:
        master, slave = pty.openpty()
        reader = threading.Thread(target=_drain, args=(master,), daemon=True)
        reader.start()
        stream = os.fdopen(slave, "w", encoding="utf-8")
        console = Console(file=stream, force_terminal=True, width=120, height=40)
    else:
        master, stream = -1, io.StringIO()
        console = Console(file=stream, force_terminal=False, width=120)
    drawing = [0.0]
    config = BenchConfig(callings=CALLS)
    with ProgressDisplay(CALLS, "calls", console=console) as display:

        def draw(progress: BenchProgress) -> None:
            began = time.thread_time()  # CPU: waiting for a loaded machine is not cost
            display.update(progress)
            drawing[0] += time.thread_time() - began

        cpu, wall = time.process_time(), time.perf_counter()
        result = trio.run(lambda: run_bench(config, display=draw, handle_sigint=False))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert result.report.completed == CALLS
    stream.close()
    if terminal:
        reader.join(timeout=10)
        os.close(master)
    return cpu, wall, drawing[0]


def main() -> None:
    runs: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
    for index in range(ROUNDS):
        for terminal in (index % 2 == 0, index % 2 == 1):
            cpu, wall, drawing = _run(terminal)
            runs[terminal].append((cpu, wall, drawing))
            side = "terminal  " if terminal else "redirected"
            print(
                f"round {index + 1}, {side}: cpu {cpu:6.2f} s, wall {wall:6.2f} s, "
                f"redraws {drawing * 1000:6.1f} ms"
            )
    cpu_t = statistics.median(r[0] for r in runs[True])
    cpu_r = statistics.median(r[0] for r in runs[False])
    wall_t = statistics.median(r[1] for r in runs[True])
    wall_r = statistics.median(r[1] for r in runs[False])
    share = statistics.median(r[2] / r[0] for r in runs[True])
    print(
        f"median cpu: terminal {cpu_t:.2f} s, redirected {cpu_r:.2f} s ({cpu_t / cpu_r:.3f}x); "
        f"redraws {share:.2%} of the run; wall {wall_t / wall_r:.3f}x"
    )
    record(
        f"bench CPU time with the live display ({CALLS:,} calls)",
        cpu_t,
        "s",
        baseline=cpu_r,
        baseline_name="stderr redirected to a file",
        ratio=cpu_t / cpu_r,
        target=f"<= {TARGET:.2f}x",
        passed=cpu_t / cpu_r <= TARGET,
    )
    record(
        "live display redraws, share of the run",
        share * 100,
        "%",
        target="< 2%",
        passed=share < TARGET - 1,
    )
    record(
        f"bench wall time with the live display ({CALLS:,} calls)",
        wall_t,
        "s",
        baseline=wall_r,
        baseline_name="stderr redirected to a file",
        ratio=wall_t / wall_r,
    )


if __name__ == "__main__":
    main()

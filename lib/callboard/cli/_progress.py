"""The live progress bar of ``callboard bench`` (rich, on stderr).

rich's own refresh thread is switched off: the bench's display task calls
:meth:`ProgressDisplay.update` at a fixed rate from inside Trio, so no thread and no
task outlives the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from ._rich import require_rich
from ._stats import BenchProgress

if TYPE_CHECKING:
    from rich.progress import TaskID

__all__ = ["ProgressDisplay"]


class ProgressDisplay:
    """A bar (finished of total, calls/s, elapsed) and, below it, the counters the
    bench cares about: in flight, queued, 429s, retries, failed.

    Args:
        total: Callings the run will make.
        title: shown left of the bar.

    Raises:
        CliError: rich is not installed.
    """

    def __init__(self, total: int, title: str) -> None:
        require_rich()
        from rich.console import Console, RenderableType
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        class TwoLines(Progress):
            """The bar on one line, the counters on the next (fits 80 columns)."""

            counters = ""

            def get_renderables(self) -> Iterable[RenderableType]:
                yield self.make_tasks_table(self.tasks)
                yield Text(self.counters, style="dim")

        self._progress: TwoLines = TwoLines(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>6.0f} calls/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            auto_refresh=False,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(title, total=total, rate=0.0)

    def update(self, progress: BenchProgress) -> None:
        """Show ``progress`` now."""
        self._progress.counters = (
            f"in flight {progress.in_flight}  queued {progress.queued}  "
            f"429s {progress.rate_limited}  retries {progress.retries}  "
            f"failed {progress.failed}"
        )
        self._progress.update(
            self._task,
            completed=progress.done + progress.failed,
            rate=progress.calls_per_second,
        )
        self._progress.refresh()

    def __enter__(self) -> ProgressDisplay:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

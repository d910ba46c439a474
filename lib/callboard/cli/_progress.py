"""The live progress bar of ``callboard bench`` (rich, on stderr).

rich's own refresh thread is switched off: the bench's display task calls
:meth:`ProgressDisplay.update` at a fixed rate from inside Trio, so no thread and no
task outlives the run.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from ._rich import require_rich
from ._stats import BenchProgress

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["ProgressDisplay"]


class ProgressDisplay:
    """A bar (finished of total) and the counters the bench cares about.

    Args:
        total: Callings the run will make.
        title: shown left of the bar.

    Raises:
        CliError: rich is not installed.
    """

    def __init__(self, total: int, title: str) -> None:
        require_rich()
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress: Progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn(
                "in flight {task.fields[in_flight]}  queued {task.fields[queued]}  "
                "429s {task.fields[rate_limited]}  retries {task.fields[retries]}  "
                "failed {task.fields[failed]}  {task.fields[rate]:.0f}/s"
            ),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            auto_refresh=False,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(
            title,
            total=total,
            in_flight=0,
            queued=0,
            rate_limited=0,
            retries=0,
            failed=0,
            rate=0.0,
        )

    def update(self, progress: BenchProgress) -> None:
        """Show ``progress`` now."""
        self._progress.update(
            self._task,
            completed=progress.done + progress.failed,
            in_flight=progress.in_flight,
            queued=progress.queued,
            rate_limited=progress.rate_limited,
            retries=progress.retries,
            failed=progress.failed,
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

"""The live display of ``callboard bench`` (rich, on stderr): three short lines.

```text
calls ━━━━━━━━━━━━━━━╸━━━━━━━━━━━━━━  5,210/10,000  52%  0:00:16  ~0:00:15 left
rate     318 calls/s ▅▆▇▇▇▇█▇▇▇▇▇▆▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇
in flight 29  queued 3  429s 0  retries 0  failed 0  cost $0.0163
```

The bench's ticker calls [`ProgressDisplay.update`][callboard.cli._progress.ProgressDisplay.update]
at a fixed rate with counters it has just folded, so the figures are exact as of the
redraw. rich's own refresh thread is off (no thread outlives the run) and one redraw is
a single styled text, about a third of a millisecond.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from ._rich import require_rich
from ._timeline import BenchProgress

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

__all__ = ["ProgressDisplay", "progress_lines", "sparkline"]

_BAR = 30
_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, scaled to the largest.

    Example:
        >>> sparkline([0, 1, 2, 4])
        '▁▃▅█'
    """
    top = max(values, default=0.0)
    if top <= 0:
        return _BLOCKS[0] * len(values)
    last = len(_BLOCKS) - 1
    return "".join(_BLOCKS[min(last, round(max(v, 0.0) / top * last))] for v in values)


def _clock(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _bar(fraction: float) -> tuple[str, str]:
    """The filled and the empty part of the bar."""
    cells = fraction * _BAR
    full = int(cells)
    filled = "━" * full + ("╸" if cells - full >= 0.5 and full < _BAR else "")
    return filled, "━" * (_BAR - len(filled))


def progress_lines(progress: BenchProgress, total: int, title: str) -> list[list[tuple[str, str]]]:
    """The display as lines of ``(text, rich style)`` segments."""
    finished = progress.finished
    fraction = min(1.0, finished / total) if total else 1.0
    filled, empty = _bar(fraction)
    rate = progress.calls_per_second
    eta = ""
    if 0 < finished < total and rate > 0:
        eta = f"  ~{_clock((total - finished) / rate)} left"
    counters = (
        f"in flight {progress.in_flight:,}  queued {progress.queued:,}  "
        f"429s {progress.rate_limited:,}  retries {progress.retries:,}  "
        f"failed {progress.failed:,}"
    )
    if progress.cancelled:
        counters += f"  cancelled {progress.cancelled:,}"
    if progress.cost_usd is not None:
        counters += f"  cost ${progress.cost_usd:,.4f}"
    return [
        [
            (f"{title} ", "bold"),
            (filled, "magenta"),
            (empty, "grey23"),
            (f"  {finished:,}/{total:,}  {fraction:>4.0%}  {_clock(progress.elapsed)}{eta}", ""),
        ],
        [
            (f"{'rate':<{len(title)}} {rate:>6,.0f} calls/s ", ""),
            (sparkline(progress.recent_rates), "cyan"),
        ],
        [(counters, "dim")],
    ]


class ProgressDisplay:
    """The live lines on stderr: progress, rate with its sparkline, counters.

    Args:
        total: Callings the run will make.
        title: shown left of the bar.
        console: where to draw (stderr by default).

    Raises:
        CliError: rich is not installed.
    """

    def __init__(self, total: int, title: str, *, console: Console | None = None) -> None:
        require_rich()
        from rich.console import Console
        from rich.live import Live

        self._total = total
        self._title = title
        self._live: Live = Live(
            console=console or Console(stderr=True),
            auto_refresh=False,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def _text(self, progress: BenchProgress) -> Text:
        from rich.text import Text

        text = Text()
        for index, line in enumerate(progress_lines(progress, self._total, self._title)):
            if index:
                text.append("\n")
            for segment, style in line:
                text.append(segment, style=style or None)
        return text

    def update(self, progress: BenchProgress) -> None:
        """Redraw with ``progress`` now."""
        self._live.update(self._text(progress), refresh=True)

    def __enter__(self) -> ProgressDisplay:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()
        console = self._live.console
        if not console.is_terminal:  # rich ends its one render to a file without a newline
            console.line()

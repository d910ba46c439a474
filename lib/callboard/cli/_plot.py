"""``callboard bench --plot FILE``: the run over time as a chart, PNG or HTML.

Three panels over the run's seconds: throughput (calls completed per second), latency
percentiles (p50, p95, p99 of the calls that completed in each interval) and the rate
admission let through (``CallingStarted`` per second, retries included), with the
configured request limit and the effective rate the adaptive admission allowed.

matplotlib draws it (the ``plot`` extra): it writes PNG and SVG without a display, and no
chart code of ours would match it. An ``.html`` file is a page around the SVG. Both carry
the plotted figures as JSON (a PNG text chunk ``callboard:series``, a
``<script type="application/json" id="callboard-series">`` in the page), so a chart can
be checked or re-plotted from its file.
"""

from __future__ import annotations

import html
import importlib
import io
import json
from pathlib import Path
from typing import Any

import attrs

from ._errors import CliError
from ._timeline import Series

__all__ = ["SERIES_KEY", "check_plot_path", "series_json", "write_plot"]

SERIES_KEY = "callboard:series"
_FORMATS = (".png", ".html")


def check_plot_path(path: str) -> None:
    """Fail before the run if the chart could not be written afterwards.

    Raises:
        CliError: not a .png or .html name, no such folder, or matplotlib is missing.
    """
    target = Path(path)
    if target.suffix.lower() not in _FORMATS:
        raise CliError(
            f"--plot {path}: the file name must end in .png or .html, got {target.suffix!r}",
            exit_code=2,
        )
    if not target.parent.is_dir():
        raise CliError(f"--plot {path}: the folder {str(target.parent)!r} does not exist")
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        raise CliError("--plot needs matplotlib: pip install 'callboard[plot]'") from None


def series_json(series: Series) -> str:
    """The plotted figures as JSON (times in seconds, rates per second, latency in ms)."""
    return json.dumps(attrs.asdict(series), separators=(",", ":"))


def _figure(series: Series, title: str | None) -> Any:
    # matplotlib is an optional extra: imported by name, so type checking does not need it
    figure_class: Any = importlib.import_module("matplotlib.figure").Figure
    figure: Any = figure_class(figsize=(10, 7.5), dpi=100, layout="constrained")
    top, middle, bottom = figure.subplots(3, 1, sharex=True)
    if title is not None:  # the HTML page has it as its heading instead
        figure.suptitle(title, fontsize=11)
    time = series.time

    top.plot(time, series.throughput, color="tab:blue", label="completed")
    top.set_ylabel("calls / s")
    top.set_title("throughput", loc="left", fontsize=10)

    for name, color in (("p50", "tab:green"), ("p95", "tab:orange"), ("p99", "tab:red")):
        values = [float("nan") if v is None else v for v in series.latency_ms[name]]
        middle.plot(time, values, color=color, label=name)
    middle.set_ylabel("ms")
    middle.set_title("latency of the calls completed in each interval", loc="left", fontsize=10)

    bottom.plot(time, series.admitted, color="tab:purple", label="admitted")
    if any(value is not None for value in series.effective):
        effective = [float("nan") if v is None else v for v in series.effective]
        bottom.plot(time, effective, color="tab:brown", label="effective (adaptive)")
    if series.limit_per_s is not None:
        bottom.axhline(series.limit_per_s, color="grey", linestyle="--", label="configured limit")
    bottom.set_ylabel("calls / s")
    bottom.set_xlabel(f"seconds since start ({series.interval:.2g} s intervals)")
    bottom.set_title("rate let through by admission", loc="left", fontsize=10)

    for axes in (top, middle, bottom):
        axes.grid(True, alpha=0.3)
        axes.set_ylim(bottom=0)
        axes.legend(loc="best", fontsize=8)
    return figure


def _page(svg: str, series: Series, title: str) -> str:
    data = series_json(series).replace("</", "<\\/")
    rows = "\n".join(
        f"<tr><td>{t:.2f}</td><td>{done:.1f}</td><td>{admitted:.1f}</td>"
        + "".join(
            f"<td>{'' if v is None else f'{v:.1f}'}</td>"
            for v in (series.latency_ms[p][i] for p in ("p50", "p95", "p99"))
        )
        + "</tr>"
        for i, (t, done, admitted) in enumerate(
            zip(series.time, series.throughput, series.admitted, strict=True)
        )
    )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1040px}}
table{{border-collapse:collapse;font-size:0.85em}}td,th{{padding:2px 10px;text-align:right}}
tr:nth-child(even){{background:#f4f4f4}}</style></head>
<body>
<h1 style="font-size:1.2em">{html.escape(title)}</h1>
{svg}
<details><summary>the figures plotted</summary>
<table><tr><th>s</th><th>completed/s</th><th>admitted/s</th><th>p50 ms</th><th>p95 ms</th>
<th>p99 ms</th></tr>
{rows}
</table></details>
<script type="application/json" id="callboard-series">{data}</script>
</body>
</html>
"""


def write_plot(path: str, series: Series, *, title: str) -> None:
    """Write the chart of ``series`` to ``path`` (.png or .html).

    Raises:
        CliError: the file cannot be written.
    """
    target = Path(path)
    png = target.suffix.lower() == ".png"
    figure = _figure(series, title if png else None)
    try:
        if png:
            figure.savefig(target, format="png", metadata={SERIES_KEY: series_json(series)})
        else:
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg")
            svg = buffer.getvalue()
            svg = svg[svg.index("<svg") :]  # the page has its own doctype
            target.write_text(_page(svg, series, title), encoding="utf-8")
    except OSError as error:
        raise CliError(f"--plot {path}: cannot write it: {error.strerror or error}") from None

"""``callboard bench --plot FILE``: the chart's file holds what the run measured."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from callboard.cli import main
from callboard.cli._stats import BenchStats
from callboard.cli._timeline import Timeline

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _bench(capsys: pytest.CaptureFixture[str], plot: Path) -> dict[str, Any]:
    code = main(["bench", "--json", "-n", "400", "-c", "8", "--rpm", "6000", "--plot", str(plot)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"callboard bench: wrote {plot}" in captured.err
    return json.loads(captured.out)


def _check_series(series: dict[str, Any], report: dict[str, Any]) -> None:
    spans = [b - a for a, b in zip([0.0, *series["time"]], series["time"], strict=False)]
    # Rates times their interval add up to the counts the report gives.
    completed = sum(rate * span for rate, span in zip(series["throughput"], spans, strict=True))
    assert completed == pytest.approx(report["completed"], abs=1e-6)
    admitted = sum(rate * span for rate, span in zip(series["admitted"], spans, strict=True))
    assert admitted == pytest.approx(report["completed"] + report["retries"], abs=1e-6)
    assert series["time"][-1] == pytest.approx(report["elapsed_s"], abs=0.2)
    assert series["limit_per_s"] == pytest.approx(100.0)  # --rpm 6000
    p50 = [v for v in series["latency_ms"]["p50"] if v is not None]
    p99 = [v for v in series["latency_ms"]["p99"] if v is not None]
    assert p50 and all(v > 0 for v in p50)
    assert max(p99) >= report["latency_ms"]["p99"] * 0.999  # the slowest interval holds it
    # The admission's learned request rate: the configured 100/s, as nothing refused.
    assert series["effective"] == [pytest.approx(100.0)] * len(series["time"])


def test_png_holds_the_chart_and_its_figures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from PIL import Image

    plot = tmp_path / "run.png"
    report = _bench(capsys, plot)
    assert plot.read_bytes()[:8] == PNG_MAGIC
    with Image.open(plot) as image:
        assert image.size == (1000, 750)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 16)
        series = json.loads(image.text["callboard:series"])  # type: ignore[attr-defined]
    assert colors is not None and len(colors) > 50  # lines and text, not a blank canvas
    _check_series(series, report)


def test_html_is_a_page_around_the_svg(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "run.html"
    report = _bench(capsys, plot)
    page = plot.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") == 1 and "</svg>" in page
    for title in ("throughput", "latency of the calls completed", "rate let through"):
        assert title in page
    match = re.search(r'<script type="application/json" id="callboard-series">(.*?)</script>', page)
    assert match is not None
    series = json.loads(match[1])
    _check_series(series, report)
    assert page.count("<tr><td>") == len(series["time"])


@pytest.mark.parametrize(
    ("name", "needle", "status"),
    [
        ("run.jpg", "the file name must end in .png or .html, got '.jpg'", 2),
        ("missing/run.png", "does not exist", 1),
    ],
)
def test_a_bad_plot_path_fails_before_the_run(
    name: str, needle: str, status: int, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["bench", "-n", "100000", "--plot", str(tmp_path / name)]) == status
    captured = capsys.readouterr()
    assert needle in captured.err and captured.err.count("\n") == 1
    assert captured.out == ""


def test_missing_matplotlib_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["bench", "-n", "1", "--plot", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert "--plot needs matplotlib: pip install 'callboard[plot]'" in err


def test_series_cuts_the_run_into_whole_ticks() -> None:
    stats = BenchStats(start=10.0)
    timeline = Timeline(start=10.0)
    for tick in range(1, 11):  # 10 ticks of 0.1 s: 5 calls done per tick, 6 admitted
        stats.done += 5
        stats.started += 6
        stats.latencies += [0.01 * tick] * 5
        stats.completed_at += [10.0 + 0.1 * tick - 0.05] * 5
        timeline.sample(10.0 + 0.1 * tick, stats)
    series = timeline.series(stats, points=5)
    assert series.interval == pytest.approx(0.2)
    assert series.time == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert series.throughput == pytest.approx([50.0] * 5)
    assert series.admitted == pytest.approx([60.0] * 5)
    # interval k holds the calls of ticks 2k+1 and 2k+2 (latencies 10 and 20 ms, ...)
    assert series.latency_ms["p50"] == pytest.approx([15.0, 35.0, 55.0, 75.0, 95.0])
    assert series.latency_ms["p99"] == pytest.approx([20.0, 40.0, 60.0, 80.0, 100.0])

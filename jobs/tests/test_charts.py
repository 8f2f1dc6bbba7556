"""SVG charts drawn on the server (pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from jobs import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_stacked_bars_draw_two_rects_per_bar_scaled_to_the_tallest() -> None:
    """The tallest bar (3 + 1) fills the height; tooltips name each bar."""
    svg = charts.stacked_bars(
        [("08:00", 3, 1), ("09:00", 1, 0)], label="runs", width=100, height=40
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    rects = root.findall(f".//{SVG}rect")
    assert [r.get("height") for r in rects] == ["30.0", "10.0", "10.0", "0.0"]
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert titles == ["runs", "08:00: 3 ok, 1 failed", "09:00: 1 ok, 0 failed"]


def test_texts_are_escaped() -> None:
    """A job name with markup stays text."""
    svg = charts.sparkline([1.0, 2.0], label="<script>x</script>")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_a_sparkline_breaks_at_missing_values() -> None:
    """None splits the line; single points are dots only."""
    svg = charts.sparkline([1.0, 2.0, None, 3.0], label="trend", width=30, height=10)
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert len(root.findall(f"{SVG}polyline")) == 1
    assert len(root.findall(f"{SVG}circle")) == 3


def test_no_data_says_so() -> None:
    """An empty chart shows "no data" rather than nothing."""
    assert "no data" in charts.stacked_bars([], label="runs")
    assert "no data" in charts.sparkline([None, None], label="trend")

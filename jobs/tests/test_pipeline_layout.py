"""The pipeline's pure layout and SVG."""

from __future__ import annotations

from jobs.pipeline_layout import (
    COLUMN_GAP,
    MARGIN,
    NODE_WIDTH,
    Node,
    columns,
    layout,
    render_svg,
)


def test_columns_follow_the_longest_path() -> None:
    """A diamond with a shortcut: D sits after B and C, not beside them."""
    edges = [(1, 2), (1, 3), (2, 4), (3, 4), (1, 4)]
    assert columns([1, 2, 3, 4], edges) == {1: 0, 2: 1, 3: 1, 4: 2}


def test_layout_places_columns_left_to_right_and_rows_in_order() -> None:
    nodes = [Node(1, "a", None), Node(2, "b", None), Node(3, "c", None)]
    placed = layout(nodes, [(1, 2), (1, 3)])
    assert [(p.node.key, p.x) for p in placed] == [
        (1, MARGIN),
        (2, MARGIN + NODE_WIDTH + COLUMN_GAP),
        (3, MARGIN + NODE_WIDTH + COLUMN_GAP),
    ]
    assert placed[1].y < placed[2].y


def test_the_svg_escapes_names_and_shows_statuses() -> None:
    svg = render_svg(
        [
            Node(1, "<extract>", "succeeded", url="/admin/jobs/job/1/change/"),
            Node(2, "load & go", None, is_active=False, is_current=True),
        ],
        [(1, 2)],
    )
    assert svg.startswith("<svg ")
    assert "&lt;extract&gt;" in svg
    assert "<extract>" not in svg
    assert "load &amp; go" in svg
    assert 'data-status="succeeded"' in svg
    assert "never ran · inactive" in svg
    assert svg.count('class="jobs-pipeline-edge"') == 1
    assert '<a href="/admin/jobs/job/1/change/">' in svg

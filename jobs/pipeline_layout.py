"""Lay out a pipeline (jobs and their dependencies) and draw it as SVG.

Pure: no Django imports. Each job sits in the column of its longest path
from a job without upstream jobs, so every edge points right; rows follow
the order given. The SVG is server-rendered text (no script, no CDN), each
node a link to its job's page, coloured by its last run's status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

NODE_WIDTH = 180
NODE_HEIGHT = 44
COLUMN_GAP = 60
ROW_GAP = 20
MARGIN = 10
NAME_CHARS = 22
# Fill of a node by its last run's status; other statuses and none: grey.
STATUS_FILLS: Mapping[str, str] = {
    "succeeded": "#d4edda",
    "failed": "#f8d7da",
    "timed_out": "#f8d7da",
    "lost": "#f8d7da",
    "blocked": "#fff3cd",
    "skipped": "#fff3cd",
    "cancelled": "#e2e3e5",
    "queued": "#d1ecf1",
    "running": "#cce5ff",
}
NEUTRAL_FILL = "#f8f9fa"
NEVER_RAN = "never ran"


@dataclass(frozen=True)
class Node:
    """One job of the pipeline as drawn."""

    key: int
    name: str
    status: str | None
    is_active: bool = True
    is_current: bool = False
    url: str = ""


@dataclass(frozen=True)
class Placed:
    """A node with its top-left corner."""

    node: Node
    x: int
    y: int


def columns(keys: Sequence[int], edges: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Return each key's column: its longest path from a source (no cycles)."""
    ups: dict[int, list[int]] = {key: [] for key in keys}
    for up, down in edges:
        if up in ups and down in ups:
            ups[down].append(up)
    column: dict[int, int] = {}
    # Relax in passes: a graph without cycles settles in len(keys) passes.
    for key in keys:
        column[key] = 0
    for _ in range(len(keys)):
        changed = False
        for key in keys:
            best = max((column[up] + 1 for up in ups[key]), default=0)
            if best != column[key]:
                column[key], changed = best, True
        if not changed:
            break
    return column


def layout(nodes: Sequence[Node], edges: Sequence[tuple[int, int]]) -> list[Placed]:
    """Return the nodes placed in columns (by depth) and rows (in order)."""
    column = columns([n.key for n in nodes], edges)
    rows: dict[int, int] = {}
    placed = []
    for node in nodes:
        col = column[node.key]
        row = rows.get(col, 0)
        rows[col] = row + 1
        placed.append(
            Placed(
                node,
                x=MARGIN + col * (NODE_WIDTH + COLUMN_GAP),
                y=MARGIN + row * (NODE_HEIGHT + ROW_GAP),
            )
        )
    return placed


def render_svg(nodes: Sequence[Node], edges: Sequence[tuple[int, int]]) -> str:
    """Return the pipeline as an SVG document (text, escaped)."""
    placed = layout(nodes, edges)
    where = {p.node.key: p for p in placed}
    width = max((p.x for p in placed), default=0) + NODE_WIDTH + MARGIN
    height = max((p.y for p in placed), default=0) + NODE_HEIGHT + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jobs-pipeline" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="Pipeline">',
        '<defs><marker id="jobs-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for up, down in edges:
        if up in where and down in where:
            parts.append(_edge(where[up], where[down]))
    parts.extend(_node(p) for p in placed)
    parts.append("</svg>")
    return "".join(parts)


def _edge(up: Placed, down: Placed) -> str:
    x1, y1 = up.x + NODE_WIDTH, up.y + NODE_HEIGHT // 2
    x2, y2 = down.x, down.y + NODE_HEIGHT // 2
    return (
        f'<line class="jobs-pipeline-edge" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" '
        'stroke="#555" stroke-width="1.5" marker-end="url(#jobs-arrow)"/>'
    )


def _node(placed: Placed) -> str:
    node = placed.node
    status = node.status or NEVER_RAN
    label = status if node.is_active else f"{status} · inactive"
    fill = STATUS_FILLS.get(node.status or "", NEUTRAL_FILL)
    stroke = "#000" if node.is_current else "#888"
    width = 3 if node.is_current else 1
    dash = "" if node.is_active else ' stroke-dasharray="4 3"'
    name = node.name if len(node.name) <= NAME_CHARS else node.name[: NAME_CHARS - 1]
    if name != node.name:
        name += "…"
    box = (
        f'<g class="jobs-pipeline-node" data-job="{node.key}" '
        f'data-status="{escape(status)}">'
        f"<title>{escape(node.name)}: {escape(label)}</title>"
        f'<rect x="{placed.x}" y="{placed.y}" width="{NODE_WIDTH}" '
        f'height="{NODE_HEIGHT}" rx="6" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{width}"{dash}/>'
        f'<text x="{placed.x + 8}" y="{placed.y + 18}" font-size="13" '
        f'font-weight="bold">{escape(name)}</text>'
        f'<text x="{placed.x + 8}" y="{placed.y + 35}" font-size="11">'
        f"{escape(label)}</text></g>"
    )
    if not node.url:
        return box
    return f'<a href="{escape(node.url)}">{box}</a>'

"""Lay out a version's lineage (datasets → run → version → deployments) for an SVG drawing.

Pure geometry: the template draws the boxes and curves this computes. Columns follow the flow of
evidence from left to right; an empty run or deployment column gets a dashed placeholder so the
reader sees what is missing rather than nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from steward.domain import Lineage, LineageNode

NODE_W = 220
NODE_H = 58
GAP_X = 64
GAP_Y = 18
PAD = 16
LABEL_MAX = 25

COLUMNS: dict[str, int] = {
    "dataset_version": 0,
    "code": 0,
    "training_run": 1,
    "environment": 1,
    "model_version": 2,
    "deployment": 3,
}
KIND_NAMES = {
    "dataset_version": "dataset",
    "code": "code commit",
    "training_run": "training run",
    "environment": "environment",
    "model_version": "model version",
    "deployment": "deployment",
}
COLUMN_TITLES = ("Data and code", "Training", "Version", "Deployments")


@dataclass(frozen=True, slots=True)
class PlacedNode:
    id: str
    kind: str
    label: str
    detail: str
    x: int
    y: int
    href: str | None = None
    warn: bool = False
    placeholder: bool = False

    @property
    def title(self) -> str:
        return f"{KIND_NAMES.get(self.kind, self.kind)}: {self.label} ({self.detail})"


@dataclass(frozen=True, slots=True)
class PlacedEdge:
    path: str
    relation: str
    source: str
    target: str
    dashed: bool


@dataclass(frozen=True, slots=True)
class LineageLayout:
    width: int
    height: int
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    columns: list[tuple[str, int]]  # (title, x of its centre)
    node_w: int = NODE_W
    node_h: int = NODE_H


def _truncate(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _detail(node: LineageNode, roles: dict[str, list[str]]) -> tuple[str, bool]:
    a = node.attributes
    if node.kind == "dataset_version":
        used = " + ".join(roles.get(node.id, [])) or "data"
        approved = bool(a.get("approved"))
        return f"{used} · {'approved source' if approved else 'unapproved source'}", not approved
    if node.kind == "training_run":
        return f"run · {a.get('platform') or 'unknown platform'}", False
    if node.kind == "model_version":
        return f"version · {str(a.get('state', '')).replace('_', ' ')}", False
    if node.kind == "deployment":
        return f"deployment · {a.get('state', '')}", False
    if node.kind == "code":
        repository = str(a.get("repository") or "")
        return f"code · {repository.rstrip('/').rsplit('/', 1)[-1] or 'repository unknown'}", False
    if node.kind == "environment":
        locked = "lock + image" if a.get("container_image_digest") else "dependency lock"
        return f"environment · {locked if a.get('dependency_lock_digest') else 'unpinned'}", False
    return node.kind, False


def _label(node: LineageNode) -> str:
    if node.kind == "code" and node.attributes.get("commit"):
        return f"commit {str(node.attributes['commit'])[:12]}"
    if node.kind == "environment" and node.attributes.get("python_version"):
        return f"Python {node.attributes['python_version']}"
    return node.label


def _href(node: LineageNode) -> str | None:
    if node.kind == "deployment":
        return "#deployment-" + node.id.removeprefix("deployment:")
    if node.kind == "model_version":
        return "#version-" + node.id.rsplit("/", 1)[-1]
    return None


def layout(lineage: Lineage) -> LineageLayout:
    roles: dict[str, list[str]] = {}
    for edge in lineage.edges:
        if edge.relation.endswith("_data"):
            roles.setdefault(edge.source, []).append(edge.relation.removesuffix("_data"))
    unique = list({n.id: n for n in lineage.nodes}.values())  # one box per node, whatever its uses

    def rank(node: LineageNode) -> tuple[int, str]:
        # training data first (it feeds the run), then code, then data the version was tested on
        if node.kind == "dataset_version":
            return (0 if "training" in roles.get(node.id, []) else 2, node.label)
        return ({"code": 1, "environment": 1}.get(node.kind, 0), node.label)

    columns: list[list[tuple[LineageNode | None, str]]] = [[], [], [], []]
    for node in sorted(unique, key=rank):
        columns[COLUMNS.get(node.kind, 0)].append((node, ""))
    if not any(n and n.kind == "training_run" for n, _ in columns[1]):
        columns[1].insert(0, (None, "no training run recorded"))
    if not columns[3]:
        columns[3].append((None, "not deployed"))

    tallest = max(len(c) for c in columns)
    body = tallest * NODE_H + (tallest - 1) * GAP_Y
    top = PAD + 22  # room for the column titles
    height = top + body + PAD
    width = PAD * 2 + 4 * NODE_W + 3 * GAP_X
    placed: dict[str, PlacedNode] = {}
    nodes: list[PlacedNode] = []
    for col, members in enumerate(columns):
        x = PAD + col * (NODE_W + GAP_X)
        size = len(members) * NODE_H + (len(members) - 1) * GAP_Y
        y = top + (body - size) // 2
        for member, missing in members:
            if member is None:
                nodes.append(PlacedNode(f"missing:{col}", "missing", missing, "", x, y, placeholder=True))
            else:
                detail, warn = _detail(member, roles)
                item = PlacedNode(
                    member.id, member.kind, _truncate(_label(member)), detail, x, y, _href(member), warn
                )
                placed[member.id] = item
                nodes.append(item)
            y += NODE_H + GAP_Y

    boxes = [[n for n in nodes if n.x == PAD + col * (NODE_W + GAP_X)] for col in range(4)]
    edges = []
    for edge in lineage.edges:
        source, target = placed.get(edge.source), placed.get(edge.target)
        if source is None or target is None:
            continue
        x1, y1 = source.x + NODE_W, source.y + NODE_H // 2
        x2, y2 = target.x - 6, target.y + NODE_H // 2
        edges.append(
            PlacedEdge(
                _route(x1, y1, x2, y2, boxes),
                edge.relation.replace("_", " "),
                source.label,
                target.label,
                dashed=edge.relation in ("test_data", "validation_data", "built_with"),
            )
        )
    titles = [(t, PAD + i * (NODE_W + GAP_X) + NODE_W // 2) for i, t in enumerate(COLUMN_TITLES)]
    return LineageLayout(width, height, nodes, edges, titles)


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    bend = max(12.0, (x2 - x1) / 2)
    return f"C{x1 + bend:g},{y1:g} {x2 - bend:g},{y2:g} {x2:g},{y2:g}"


def _route(x1: int, y1: int, x2: int, y2: int, columns: list[list[PlacedNode]]) -> str:
    """A curve from the source's right side to the target's left side; an edge that skips a column
    runs through a free lane of it (above, between or below its boxes) instead of behind a box."""
    path = f"M{x1},{y1} "
    x, y = float(x1), float(y1)
    for boxes in columns:
        if not boxes or not x1 < boxes[0].x < x2:
            continue
        tops = sorted(b.y for b in boxes)
        lanes = [tops[0] - GAP_Y / 2, *((a + NODE_H + b) / 2 for a, b in pairwise(tops))]
        lanes.append(tops[-1] + NODE_H + GAP_Y / 2)
        lane = min(lanes, key=lambda v: (abs(v - y) + abs(v - y2), abs(v - y)))
        left, right = boxes[0].x - 10, boxes[0].x + NODE_W + 10
        path += f"{_curve(x, y, left, lane)} L{right},{lane:g} "
        x, y = float(right), lane
    return path + _curve(x, y, x2, y2)

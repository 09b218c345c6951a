"""Build a federation of nodes on loopback: init, peer, agree, route. Used by the demo, the
benchmark and the integration tests, so all three exercise the same administrator steps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from secureline.cli.ports import free_port
from secureline.node.compose import Node
from secureline.node.init import InitOptions, init_node
from secureline.node.layout import NodeLayout

FIVE_AREAS = [
    "maritime-piracy",
    "counter-terrorism",
    "major-events",
    "cyber-crime",
    "child-sexual-exploitation",
]


@dataclass(frozen=True)
class NodeSpec:
    name: str
    organisation: str
    location: str = ""
    units: Sequence[tuple[str, bool, str | None]] = ()  # (unit, specialist, liaison_for)
    kinds: Sequence[str] | None = None  # [line] kinds: None, every kind the software knows


@dataclass(frozen=True)
class LinkSpec:
    a: str
    b: str
    crime_areas: Sequence[str] = field(default_factory=lambda: list(FIVE_AREAS))
    data_subjects: Sequence[str] = ("suspect", "convicted", "contact", "potential-offender")
    onward_transfer: str = "with-permission"
    confidentiality: str = "optional"


def agreement_text(link: LinkSpec, version: int = 1) -> str:
    areas = ", ".join(f'"{a}"' for a in link.crime_areas)
    subjects = ", ".join(f'"{s}"' for s in link.data_subjects)
    return f"""[agreement]
id = "{link.a}-{link.b}"
version = {version}
parties = ["{link.a}", "{link.b}"]
crime_areas = [{areas}]
kinds = ["*"]
classification_ceiling = "restricted"
purposes = ["*"]
personal_data = true
data_subjects = [{subjects}]
max_attachment_bytes = 52428800
onward_transfer = "{link.onward_transfer}"
retention_max_days = 1825
alerts_need_review = true
confidentiality = "{link.confidentiality}"
"""


def build(
    root: Path,
    nodes: Sequence[NodeSpec],
    links: Sequence[LinkSpec],
    *,
    store: Callable[[str], tuple[str, str | None]] = lambda name: ("sqlite:///store.db", None),
) -> dict[str, Path]:
    """Create, peer and route the nodes; returns each node's directory."""
    adjacency: dict[str, set[str]] = {n.name: set() for n in nodes}
    for link in links:
        adjacency[link.a].add(link.b)
        adjacency[link.b].add(link.a)
    dirs: dict[str, Path] = {}
    for spec in nodes:
        url, schema = store(spec.name)
        dirs[spec.name] = init_node(
            InitOptions(
                name=spec.name,
                directory=root / spec.name,
                organisation=spec.organisation,
                line_port=free_port(),
                api_port=free_port(),
                store_url=url,
                store_schema=schema,
                location=spec.location,
                routes=tuple(_routes(spec.name, adjacency).items()),
                kinds=None if spec.kinds is None else tuple(spec.kinds),
            )
        ).root
    built = {name: Node(path) for name, path in dirs.items()}
    try:
        files = {name: node.peering.export() for name, node in built.items()}
        for name, node in built.items():
            for other, peer_file in files.items():
                if other != name:
                    node.peering.add(peer_file, "setup", direct=other in adjacency[name])
            for unit, specialist, liaison in next(s for s in nodes if s.name == name).units:
                node.accounts.add_unit("setup", unit, specialist=specialist, liaison_for=liaison)
        for link in links:
            text = agreement_text(link)
            NodeLayout(dirs[link.a]).agreement(link.b).write_text(text, encoding="utf-8")
            NodeLayout(dirs[link.b]).agreement(link.a).write_text(text, encoding="utf-8")
    finally:
        for node in built.values():
            node.db.dispose()
    return dirs


def _routes(origin: str, adjacency: dict[str, set[str]]) -> dict[str, str]:
    """Next hop to every node not linked directly (breadth-first over the links)."""
    routes: dict[str, str] = {}
    frontier = [(n, n) for n in sorted(adjacency[origin])]
    seen = {origin, *adjacency[origin]}
    while frontier:
        nxt = []
        for current, first in frontier:
            for neighbour in sorted(adjacency[current]):
                if neighbour not in seen:
                    seen.add(neighbour)
                    routes[neighbour] = first
                    nxt.append((neighbour, first))
        frontier = nxt
    return routes

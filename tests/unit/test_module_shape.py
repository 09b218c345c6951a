"""Modules that fit in a head (issue 14 item 5, STYLE 10): none over 500 lines, and no two
that import each other, directly or round a longer loop (``cli/bench.py`` and
``cli/main.py`` once did). Read from the source, the way import-linter reads the layers."""

from __future__ import annotations

from pathlib import Path

import grimp  # import-linter's own graph builder (requirements.lock)

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_LINES = 500
#: over the bound, and being split along their seams on another branch (issue 14)
BEING_SPLIT = {"secureline/services/line/inbox.py", "secureline/services/sharing.py"}


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert {name: n for name, n in long.items() if name not in BEING_SPLIT} == {}


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every set of modules that reach one another by imports (Tarjan's strongly connected
    components, iteratively: the graph has hundreds of modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    imported = sorted(graph.find_modules_directly_imported_by(target))
                    work.append((target, iter(imported)))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_modules_import_each_other() -> None:
    assert _cycles(grimp.build_graph("secureline")) == []


def test_the_cycle_finder_finds_a_loop() -> None:
    """The check above could pass by finding nothing at all: it does find a loop."""
    graph = grimp.ImportGraph()
    for name in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(name)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.d")
    graph.add_import(importer="a.d", imported="a.b")
    assert _cycles(graph) == [["a.b", "a.c", "a.d"]]

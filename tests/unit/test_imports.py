"""The import graph follows the data path: no cycles, and each part imports only the parts
before it. A new module that imports against the flow fails here with the edge named."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("relay", "signaling")

# What each part of relay/ may import from the rest of the product (besides itself).
# The application root (relay/*.py), routes and testing sit on top and may import anything.
ALLOWED = {
    "relay.common": set(),
    # Who may do what: pure, beside the data path.
    "relay.access": {"relay.common"},
    "relay.ingest": {"relay.common"},
    "relay.video": {"relay.common", "relay.ingest"},
    "relay.processing": {"relay.common"},
    # The control service learns the board's framesize table from the JPEGs' sizes.
    "relay.control": {"relay.common", "relay.ingest"},
    # The simulated board shares the framesize tables and draws the frame code.
    "relay.simulator": {"relay.common", "relay.control", "relay.video"},
    "signaling": set(),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Product modules imported at module level (not inside functions or TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from . import x` may name a submodule.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    modules = {
        _module_name(p): p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path, name) if m in modules and m != name}
    return graph


def _part(module: str) -> str | None:
    for part in sorted(ALLOWED, key=len, reverse=True):
        if module == part or module.startswith(part + "."):
            return part
    return None


def test_no_module_imports_against_the_data_path() -> None:
    wrong = []
    for module, imports in _graph().items():
        part = _part(module)
        if part is None:
            continue
        for target in imports:
            other = _part(target)
            if other == part:
                continue
            if other is None or other not in ALLOWED[part]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_there_is_no_import_cycle() -> None:
    graph = _graph()
    # Package __init__ files re-export their modules: an edge from a module to its own
    # package's __init__ is not a cycle of meaning, but a real cycle through it still is.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_graph_is_read() -> None:
    # The checks above mean something only if the parser sees the imports that exist.
    graph = _graph()
    assert "relay.ingest.stream" in graph["relay.cameras"]
    assert "relay.common.backoff" in graph["relay.ingest.stream"]
    assert any(m.startswith("signaling.") for m in graph["relay.app"])

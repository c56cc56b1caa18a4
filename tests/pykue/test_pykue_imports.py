"""Issue 15.2: pykue's import graph has no cycle, not even through imports made only for
type hints (``if TYPE_CHECKING:``) or inside functions; the core never imports Queue."""

from __future__ import annotations

import ast
from pathlib import Path

PYKUE = Path(__file__).resolve().parents[2] / "pykue"
# the public API's users: they take a Queue (the package itself exports it)
QUEUE_USERS = {"pykue", "pykue.__main__", "pykue.admin"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PYKUE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every pykue module ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from pykue.web import app" imports the module pykue.web.app; names that are
            # not modules come from pykue.web itself
            subs = [f"{node.module}.{a.name}" for a in node.names]
            names = [n for n in subs if n in modules]
            if len(names) < len(subs):
                names.append(node.module)
        else:
            continue
        found.update(n for n in names if n in modules)
    return found


def graph() -> dict[str, set[str]]:
    paths = sorted(PYKUE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    edges = {module_name(p): imports_of(p, modules) for p in paths}
    for name, deps in edges.items():  # a module's own packages are run before it, not by it
        for parent in [name[:i] for i, c in enumerate(name) if c == "."] + [name]:
            deps.discard(parent)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    edges = graph()
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_api_users_import_queue():
    importers = {name for name, deps in graph().items() if "pykue.queue" in deps}
    web = {name for name in importers if name.startswith("pykue.web")}
    assert importers - web <= QUEUE_USERS, importers - web
    for core in ("pykue.job", "pykue.worker", "pykue.events", "pykue.test_mode"):
        assert core not in importers

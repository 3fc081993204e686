"""No module of pydcom imports itself through others: the layers of DESIGN.md stack, they do not
loop. A circle of imports makes a module's names depend on which module a program happens to
import first, and hides which of two modules is the lower one.

Every module under src/pydcom is parsed with ``ast`` (not imported: nothing runs). Its imports,
at module level and inside functions alike, are edges to the pydcom modules they load:
``import a.b``, ``from a import b`` (to ``a.b`` when that is a module, else to ``a``) and relative
imports resolved against the module's package. Imports under ``if TYPE_CHECKING:`` never run, so
they are not edges. Loading ``a.b`` also runs the package ``a``'s ``__init__``; that implicit step
is not counted, or every package that re-exports its modules would be a circle with each of them.
"""

from __future__ import annotations

import ast
from pathlib import Path


SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "pydcom"
MAX_LISTED = 40  # cycles listed per strongly connected component before "... and N more"


def module_names(root: Path = SRC / PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name; a package is named by its ``__init__``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Import nodes anywhere in the tree except the body of ``if TYPE_CHECKING:``."""
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)  # the else branch is what runs
            continue
        pending.extend(ast.iter_child_nodes(node))


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a module of the package (``a.b.func`` -> ``a.b``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(modules: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """module -> the package's modules it imports when it runs."""
    modules = module_names() if modules is None else modules
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    # Relative to the module's package: a package's own __init__ is its package.
                    base = name.split(".")
                    drop = node.level - 1 if is_package else node.level
                    base = base[:len(base) - drop] if drop else base
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                # `from a import b` loads the module a.b when there is one, else a's name b.
                targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules
                           else origin for alias in node.names]
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved is not None and resolved != name:
                    edges.add(resolved)
        graph[name] = edges
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def cycles(graph: dict[str, set[str]], limit: int = MAX_LISTED) -> list[list[str]]:
    """Elementary cycles, each from its smallest module, at most ``limit`` per component."""
    listed = []
    for component in strongly_connected(graph):
        members = set(component)
        found: list[list[str]] = []
        for start in component:  # cycles through ``start`` among modules not before it
            allowed = {m for m in members if m >= start}
            path = [start]
            work = [iter(sorted(graph[start] & allowed))]
            while work and len(found) <= limit:
                for child in work[-1]:
                    if child == start:
                        found.append(path + [start])
                    elif child not in path:
                        path.append(child)
                        work.append(iter(sorted(graph[child] & allowed)))
                        break
                else:
                    work.pop()
                    path.pop()
        if len(found) > limit:
            found = found[:limit] + [[f"... and more in {{{', '.join(component)}}}"]]
        listed.extend(found)
    return listed


def _message(found: list[list[str]]) -> str:
    return "import cycles:\n" + "\n".join("  " + " -> ".join(cycle) for cycle in found)


def test_the_graph_sees_the_imports_it_should():
    graph = import_graph()
    assert "pydcom.rpc.pdu" in graph["pydcom.rpc.framing"]
    assert "pydcom.rpc.server_connection" in graph["pydcom.rpc.server"]
    assert all(m == PACKAGE or m.startswith(PACKAGE + ".") for e in graph.values() for m in e)


def test_walker_resolves_relative_function_level_and_type_checking_imports(tmp_path):
    """A package-relative import, a function-level one, one under TYPE_CHECKING (not an edge)
    and the else branch of that ``if`` (an edge)."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import thing\n")
    (pkg / "a.py").write_text("thing = 1\ndef later():\n    from pkg.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nfrom .. import a\nfrom . import c\n"
        "if TYPE_CHECKING:\n    from pkg import d\nelse:\n    import pkg.e\n")
    for name in ("c", "d", "e"):
        target = pkg / "sub" / f"{name}.py" if name == "c" else pkg / f"{name}.py"
        target.write_text("")
    graph = import_graph(module_names(pkg))
    assert graph["pkg"] == {"pkg.a"}
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.a", "pkg.sub.c", "pkg.e"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.a"]]


def test_no_import_cycles_in_rpc():
    def in_rpc(module: str) -> bool:
        return module == "pydcom.rpc" or module.startswith("pydcom.rpc.")

    rpc = {m: {e for e in edges if in_rpc(e)} for m, edges in import_graph().items() if in_rpc(m)}
    found = cycles(rpc)
    assert not found, _message(found)


def test_no_import_cycles_in_pydcom():
    found = cycles(import_graph())
    assert not found, _message(found)

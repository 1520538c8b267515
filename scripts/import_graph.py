"""The module graph of django_tasks, the spec and the conformance kit: no cycles, no hidden imports.

What import-linter's contracts (pyproject.toml) cannot say, this says, for ``./dev lint`` and
tests/test_architecture.py:

- no module imports another in a circle, however long (imports under ``if TYPE_CHECKING:``
  are left out: they are for the type checker only);
- a function-local import of one of our own modules says why on the comment line right above it,
  which starts with ``# Imported here``. Django's app loading is the usual reason: models cannot
  be imported while the apps load;
- the dialect boundary: only ``django_tasks.dialects`` imports Django's ``django.tasks`` or reads
  ``django.VERSION`` (import-linter tracks an external package only as a whole, ``django``).

    .venv/bin/python scripts/import_graph.py                   # check; exit 1 with the problems
    .venv/bin/python scripts/import_graph.py --dot graph.dot    # and draw the graph (Graphviz)
"""

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "django_tasks": ROOT / "django_tasks",
    "django_tasks_spec": ROOT / "spec" / "django_tasks_spec",
    "django_tasks_conformance": ROOT / "conformance" / "django_tasks_conformance",
}
REASON = "# Imported here"
BOUNDARY = ROOT / "django_tasks" / "dialects.py"
"""The only module of django_tasks that may import django.tasks or ask which Django runs."""


def module_graph() -> dict[str, set[str]]:
    """Each of our modules and the modules of ours it imports."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    return {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(edges.get(module, ())):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while (top := stack.pop()) != module:
                component.append(top)
            if component:
                found.append(sorted([module, *component]))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges)))
    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def undocumented_local_imports() -> Iterator[str]:
    """``path:line: statement`` for each function-local import of our modules with no reason."""
    for directory in PACKAGES.values():
        for path in sorted(directory.rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            for node in _local_imports(ast.parse("\n".join(lines))):
                names = [node.module] if isinstance(node, ast.ImportFrom) else []
                names += [alias.name for alias in getattr(node, "names", [])]
                if not any(name and name.split(".")[0] in PACKAGES for name in names):
                    continue
                comments = []  # The comment lines right above the import.
                line = node.lineno - 1
                while line > 0 and lines[line - 1].strip().startswith("#"):
                    comments.append(lines[line - 1].strip())
                    line -= 1
                if not any(comment.startswith(REASON) for comment in comments):
                    where = path.relative_to(ROOT)
                    yield f"{where}:{node.lineno}: {ast.unparse(node)}"


def boundary_crossings() -> Iterator[str]:
    """``path:line: code`` for each import of ``django.tasks``, or read of ``django.VERSION``,
    in django_tasks outside its dialect boundary (the spec and the kit speak no dialect)."""
    for directory in PACKAGES.values():
        for path in sorted(directory.rglob("*.py")):
            if path == BOUNDARY:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if _crosses(node):
                    line = getattr(node, "lineno", 0)
                    yield f"{path.relative_to(ROOT)}:{line}: {ast.unparse(node)}"


def _crosses(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
    elif isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.Attribute):
        return node.attr == "VERSION" and ast.unparse(node.value) == "django"
    else:
        return False
    return any(name == "django.tasks" or name.startswith("django.tasks.") for name in names)


def _local_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements inside functions (each once, however deeply nested)."""
    seen: set[int] = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in seen:
                    seen.add(id(node))
                    yield node


def dot(edges: dict[str, set[str]]) -> str:
    """The graph in Graphviz's language, one cluster per package."""
    lines = ["digraph modules {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    for package in PACKAGES:
        members = sorted(m for m in edges if m == package or m.startswith(f"{package}."))
        lines.append(f'  subgraph "cluster_{package}" {{ label="{package}";')
        lines += [f'    "{module}";' for module in members]
        lines.append("  }")
    for module in sorted(edges):
        lines += [f'  "{module}" -> "{imported}";' for imported in sorted(edges[module])]
    return "\n".join([*lines, "}"]) + "\n"


def problems() -> list[str]:
    """Everything this script reports, one line each."""
    found = [f"Import cycle: {' <-> '.join(cycle)}." for cycle in cycles(module_graph())]
    found += [
        f"{where} is a function-local import with no reason: say why on the comment line "
        f"above it, starting with {REASON!r}."
        for where in undocumented_local_imports()
    ]
    found += [
        f"{where} crosses the dialect boundary: only {BOUNDARY.relative_to(ROOT)} imports "
        f"django.tasks or asks which Django runs."
        for where in boundary_crossings()
    ]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dot", type=Path, help="Write the module graph here (Graphviz).")
    arguments = parser.parse_args()
    if arguments.dot:
        arguments.dot.write_text(dot(module_graph()), encoding="utf-8")
    found = problems()
    edges = module_graph()
    sys.stdout.write("".join(f"{problem}\n" for problem in found))
    sys.stdout.write(
        f"{len(edges)} modules, {sum(map(len, edges.values()))} imports, "
        f"{len(cycles(edges))} cycles, {len(found)} problems.\n"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

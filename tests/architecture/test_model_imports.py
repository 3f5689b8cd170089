"""The domain's modules import each other in one direction: no import cycle among them, and no import
hidden inside a function to dodge one (the few left are listed with their reason)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]

# (file, imported module): function-level imports that stay, each for a reason other than a cycle.
# None left: settings reach the domain as policies installed by the edge (docs/decisions/132).
ALLOWED_INSIDE_FUNCTIONS: dict[tuple[str, str], str] = {}


def _function_level_imports() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in (ROOT / "models").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(ROOT).as_posix()
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.module:
                    found.add((rel, node.module))
                elif isinstance(node, ast.Import):
                    found.update((rel, alias.name) for alias in node.names)
    return found


def test_no_import_cycle_among_the_domain_modules() -> None:
    graph = grimp.build_graph("models", exclude_type_checking_imports=True)
    modules = {m for m in graph.modules if ".migrations" not in m}
    cycles = []
    for module in sorted(modules):
        for imported in graph.find_modules_directly_imported_by(module) & modules:
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append((module, imported))
    assert cycles == []


def test_no_import_inside_a_domain_function_without_a_reason() -> None:
    unexplained = sorted(_function_level_imports() - set(ALLOWED_INSIDE_FUNCTIONS))
    assert unexplained == []

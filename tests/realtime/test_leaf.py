"""realtime/ is a leaf: it knows nothing of GraphQL, the domain or the application around it."""

from __future__ import annotations

import ast
from pathlib import Path

REALTIME = Path(__file__).resolve().parents[2] / "realtime"
FORBIDDEN = {"gualema", "schema", "resolvers", "models", "integrations", "strawberry", "graphql", "tortoise"}


def test_realtime_imports_nothing_from_the_layers_above_it() -> None:
    imported: set[tuple[str, str]] = set()
    for module in REALTIME.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {(module.name, alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add((module.name, node.module.split(".")[0]))

    assert sorted((name, package) for name, package in imported if package in FORBIDDEN) == []

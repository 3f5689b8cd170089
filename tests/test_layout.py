"""The layout decision (docs/decisions/001): generic top-level names live in this repository only,
and imports flow one way: schema -> resolvers -> models, with models a leaf of the application."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.fixtures.api import REPOSITORY

TOP_LEVEL = ["schema", "models", "resolvers", "realtime", "integrations", "gualema"]
# models may use settings (gualema.settings) but nothing that sits above it.
FORBIDDEN_FROM_MODELS = ("schema", "resolvers", "realtime", "integrations", "gualema.app")


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_each_top_level_name_resolves_inside_the_repository(name: str) -> None:
    module = importlib.import_module(name)
    location = Path(module.__file__ or "").resolve()
    assert location.is_relative_to(REPOSITORY), f"{name} comes from {location}, not the repository"
    assert "site-packages" not in location.parts


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
            found.append((node.lineno, node.module))
    return found


def is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_models_never_import_the_layers_above_them() -> None:
    offences = [
        f"{path.relative_to(REPOSITORY)}:{line} imports {module}"
        for path in sorted((REPOSITORY / "models").rglob("*.py"))
        for line, module in imported_modules(path)
        if any(is_under(module, forbidden) for forbidden in FORBIDDEN_FROM_MODELS)
    ]
    assert offences == []


def test_the_import_check_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import schema.root\nfrom resolvers import context\nfrom gualema import app\n"
        "def f():\n    from realtime.broker import get_broker\n",
        encoding="utf-8",
    )
    modules = [module for _, module in imported_modules(sample)]
    assert all(
        any(is_under(m, forbidden) for m in modules)
        for forbidden in ("schema", "resolvers", "gualema.app", "realtime")
    )

"""The packages depend one way (issue 11): data_contracts <- segmentation <- models <-
training and api; training and api never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What each package may import of the project's own packages.
ALLOWED = {
    "data_contracts": {"data_contracts"},
    "segmentation": {"data_contracts", "segmentation"},
    "models": {"data_contracts", "segmentation", "models"},
    "training": {"data_contracts", "segmentation", "models", "training"},
    "api": {"data_contracts", "segmentation", "models", "api"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imports(path) - ALLOWED[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) - ALLOWED[package]
    }
    assert not wrong, wrong


def test_serve_hands_uvicorn_an_import_string() -> None:
    source = (ROOT / "training" / "cli" / "service.py").read_text()
    assert '"api.app:create_app"' in source and "factory=True" in source

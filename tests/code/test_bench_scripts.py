"""The benchmark scripts still import: a rename in the package must not leave one broken
until someone runs it (``bench_review_choice`` imported a function renamed a session before)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", sorted(BENCH.glob("bench_*.py")), ids=lambda p: p.stem)
def test_a_bench_script_imports_and_has_a_main(
    script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scripts import each other as top-level modules, as they do when run.
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location(f"_bench_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    assert callable(module.main)

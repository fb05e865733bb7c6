"""The command line starts without the heavy libraries where a command does not need them:
``--help`` and ``generate`` must not wait seconds for MLflow and scikit-learn to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import sys
sys.argv = ["segmentation", *sys.argv[1:]]
from training.cli import entry
try:
    entry()
except SystemExit:
    pass
print("heavy:", sorted(m for m in ("mlflow", "sklearn") if m in sys.modules))
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["generate", "--help"], ["generate", "--citizens", "50", "--employers", "5"]],
)
def test_light_commands_do_not_import_mlflow_or_scikit_learn(
    args: list[str], tmp_path: Path
) -> None:
    if args[0] == "generate" and "--help" not in args:
        args = [*args, "--out", str(tmp_path / "data")]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "heavy: []", result.stdout

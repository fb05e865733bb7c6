"""Commands started together on a fresh home: MLflow's first use of the registry file (its
tables made and migrated, the experiment made) one process at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIRST_USE = """
import sys
from pathlib import Path
from models.registry import configure_mlflow
home = Path(sys.argv[1])
print(configure_mlflow(f"sqlite:///{home / 'mlflow.db'}", home / "mlartifacts"))
"""


@pytest.mark.parametrize("attempt", [1, 2])
def test_three_commands_on_a_fresh_home_at_once_all_find_the_registry(
    tmp_path: Path, attempt: int
) -> None:
    """Before the lock, three at once failed in four tries of four (MLflow's migrations run
    twice at once: ``CircularDependencyError``, a traceback, exit 1)."""
    home = tmp_path / f"home{attempt}"
    started = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE, str(home)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    answers = [process.communicate(timeout=300) for process in started]
    assert [process.returncode for process in started] == [0, 0, 0], answers
    assert {out.strip() for out, _ in answers} == {"1"}  # one experiment, the same for all

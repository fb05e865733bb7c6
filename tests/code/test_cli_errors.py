"""An operator's mistake at the command line is one line that names what is wrong, with exit
code 2 (bad input), never a traceback and never a silent success."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SEGMENTATION_HOME=str(tmp_path / "home"), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "training.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        # A folder without the tables: not "no champion", which sends the operator to train.
        (["score", "--data", "{tmp}/empty"], "no citizens.parquet or employers.parquet in"),
        (["score", "--data", "{tmp}/nowhere"], "no citizens.parquet or employers.parquet in"),
        # A misspelt population: refused, not an empty answer as if nothing were scored.
        (["drift", "--population", "citisens"], "citizens or employers"),
        (["oversight", "--population", "citisens"], "citizens or employers"),
        # A scenario that would change nothing, or makes no sense, says why.
        (["capacity", "--shift", "irregular:fax:0.2"], "channel 'fax'"),
        (["capacity", "--shift", "irregular:phone:2"], "share 2: a fraction between 0 and 1"),
        (["capacity", "--move", "needs_support:needs_suport:0.1"], "category 'needs_suport'"),
        # Periods the wrong way round would swap the newcomers and the leavers.
        (["transitions", "--from", "2025-12-31", "--to", "2024-12-31"], "an earlier period"),
        # The indicators: a month that is not one, a folder without the tables.
        (["indicators", "--month", "2026-13"], "not a month, YYYY-MM"),
        (
            ["indicators", "--month", "2026-01", "--data", "{tmp}/empty"],
            "no cases.parquet, calls.parquet, surveys.parquet in",
        ),
        (["indicators", "--month", "2026-01", "--data", "{tmp}/garbled"], "not a readable Parquet"),
        (
            ["indicators", "--month", "2026-01", "--data", "{tmp}/numbers"],
            "customer_id is stored as int64; the contract wants text",
        ),
        (
            ["indicators", "--month", "2026-01", "--data", "{tmp}/dates"],
            "answered_on is stored as int64; the contract wants a date or a time",
        ),
        # A folder that cannot be written: the path and the reason.
        (["generate", "--out", "{tmp}/a-file/data", "--citizens", "10"], "Not a directory"),
    ],
)
def test_a_mistake_is_one_line_with_exit_code_2(args: list[str], said: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("not a folder")
    for folder in ("garbled", "numbers", "dates"):
        (tmp_path / folder).mkdir()
    (tmp_path / "garbled" / "cases.parquet").write_text("not Parquet")
    pd.DataFrame({"call_id": ["1"], "customer_id": [198011069229]}).to_parquet(
        tmp_path / "numbers" / "calls.parquet"
    )
    pd.DataFrame({"response_id": ["1"], "answered_on": [20260105]}).to_parquet(
        tmp_path / "dates" / "surveys.parquet"
    )
    result = _cli(tmp_path, *(arg.format(tmp=tmp_path) for arg in args))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert said in " ".join(output.split()), output  # the panel may wrap a long message
    assert "Traceback" not in output

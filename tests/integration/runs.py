"""Running `segmentation score` as a process, and watching it: for the tests that kill a
run halfway and resume it, on either engine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import sqlalchemy as sa

from tests.factories import citizen_row

#: Broken rows in ``write_scoring_data``'s citizens, each of another kind.
N_BAD = 5
#: Rows a chunk in ``score_env``.
CHUNK_ROWS = 2000


def write_scoring_data(population_dir: Path, out: Path) -> Path:
    """The citizens plus ``N_BAD`` broken rows of different kinds, and the employers."""
    citizens = pq.read_table(population_dir / "citizens.parquet").to_pandas()
    bad = pd.DataFrame(
        [
            citizen_row(customer_id="198112189875"),
            citizen_row(contacts_phone=-1),
            citizen_row(region="26"),
            citizen_row(benefit_months_barnbidrag=14),
            citizen_row(handling_minutes=float("nan")),
        ]
    )
    bad["period_end"] = pd.Timestamp("2025-12-31")
    combined = pd.concat([citizens.iloc[:30_000], bad, citizens.iloc[30_000:]], ignore_index=True)
    combined.to_parquet(out / "citizens.parquet", index=False, row_group_size=5_000)
    (out / "employers.parquet").write_bytes((population_dir / "employers.parquet").read_bytes())
    return out


def score_env(trained_home: Path, store_url: str, chunk_rows: int = CHUNK_ROWS) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SEGMENTATION_HOME=str(trained_home),
        SEGMENTATION_STORE_URL=store_url,
        SEGMENTATION_CHUNK_ROWS=str(chunk_rows),
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    return env


def score_command(data: Path, out: Path, *options: str) -> list[str]:
    command = [sys.executable, "-m", "training.cli", "score", "--data", str(data)]
    return [*command, "--out", str(out), *options]


def run_score(
    env: dict[str, str], data: Path, out: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        score_command(data, out, *options),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def chunks_done(engine: sa.Engine) -> int:
    try:
        with engine.connect() as connection:
            value = connection.execute(
                sa.text("SELECT max(chunks_done) FROM batch_runs WHERE population='citizens'")
            ).scalar()
    except sa.exc.DBAPIError:
        return 0
    return int(value or 0)


def parts_written(out: Path) -> int:
    """The citizens' chunks whose Parquet part a run has written to ``out``."""
    return len(list((out / ".parts" / "citizens_segments").glob("part-*.parquet")))


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(child) for child in (task / "children").read_text().split())
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Spark's JVM, and the Python workers it starts)."""
    found = []
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def assert_exited(pids: list[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        time.sleep(0.05)
    assert not alive, f"worker processes outlived the killed run: {alive}"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False

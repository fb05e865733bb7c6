"""The monthly result indicators at full size: `segmentation indicators --month M` on a scored
store and its cases, calls and survey answers (made by `generate --indicator-inputs`), wall
time and peak memory, median of ``--repeat`` runs.

    .venv/bin/python bench/bench_indicators.py --home /tmp/i1/home --data /tmp/i1/data

Peer in the same run, alternated with it: the bare aggregation a planner could script
without the service (read the three tables and the period's categories from the store into
pandas, join, count per segment: no contract, no overrides, no percentiles). Its ratio is
what the contract's checks, the overrides in force and the report's spreads cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PEER = """
import sys, sqlite3
import pandas as pd
home, data, month = sys.argv[1:4]
first = pd.Timestamp(month + "-01"); last = first + pd.offsets.MonthEnd(0)
store = sqlite3.connect(f"{home}/segments.db")
frames = []
for population, column in (("citizens", "customer_id"), ("employers", "org_number")):
    (table,) = store.execute(
        "SELECT table_name FROM segment_periods WHERE population = ? AND state = 'current'"
        " ORDER BY period_end DESC LIMIT 1", (population,)).fetchone()
    categories = pd.read_sql(f"SELECT subject_id, category FROM {table}", store)
    width = 12 if column == "customer_id" else 10
    categories[column] = categories.pop("subject_id").astype(str).str.zfill(width)
    frames.append((column, categories))
cases = pd.read_parquet(f"{data}/cases.parquet")
calls = pd.read_parquet(f"{data}/calls.parquet")
surveys = pd.read_parquet(f"{data}/surveys.parquet")
for frame, when in ((cases, "received_on"), (calls, "arrived_at"), (surveys, "answered_on")):
    month_rows = frame[(frame[when] >= first) & (frame[when] < last + pd.Timedelta(days=1))]
    for column, categories in frames:
        print(month_rows.merge(categories, on=column).groupby("category").size().to_dict())
"""


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident GB of ``command`` (GNU time)."""
    begun = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - begun
    peak_kb = int(result.stderr.strip().splitlines()[-1])
    return wall, peak_kb / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="SEGMENTATION_HOME (scored)")
    parser.add_argument("--data", type=Path, required=True, help="cases/calls/surveys folder")
    parser.add_argument("--month", default="2026-06")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, SEGMENTATION_HOME=str(args.home))
    python = str(ROOT / ".venv" / "bin" / "python")
    ours = [python, "-m", "training.cli", "indicators", "--month", args.month]
    ours += ["--data", str(args.data), "--json"]
    peer = [python, "-c", PEER, str(args.home), str(args.data), args.month]
    runs: dict[str, list[tuple[float, float]]] = {"indicators": [], "peer": []}
    for _ in range(args.repeat):  # alternated: the VM's speed drifts
        runs["indicators"].append(_timed(ours, env))
        runs["peer"].append(_timed(peer, env))
    medians = {name: statistics.median(w for w, _ in times) for name, times in runs.items()}
    for name, times in runs.items():
        walls = ", ".join(f"{w:.2f}" for w, _ in times)
        peak = max(p for _, p in times)
        print(f"{name}: median {medians[name]:.2f} s ({walls}), peak {peak:.2f} GB")
    print(f"indicators / peer: {medians['indicators'] / medians['peer']:.2f}")


if __name__ == "__main__":
    main()

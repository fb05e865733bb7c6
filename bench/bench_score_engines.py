"""`segmentation score` on Spark against this machine's worker processes: the same folder
scored into a fresh SQLite store by each engine in turn, wall time, median of ``--repeat``.

    .venv/bin/python bench/bench_score_engines.py --home /tmp/se1/home --data /tmp/se1/data

``--home`` holds champion models (``segmentation train``); its store is not touched: every
run writes a store of its own in a temporary folder. The peer is the local engine, the
default, alternated with the Spark engine in the same run (the VM's speed drifts). Both
engines run the same chunks with the same code, so the ratio is Spark's own cost on this
machine: its JVM's start, the task scheduling and the Python workers it starts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _timed(command: list[str], env: dict[str, str]) -> float:
    begun = time.perf_counter()
    subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - begun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="SEGMENTATION_HOME (trained)")
    parser.add_argument("--data", type=Path, required=True, help="the folder to score")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]", help="SEGMENTATION_SPARK_MASTER")
    args = parser.parse_args()
    python = str(ROOT / ".venv" / "bin" / "python")
    command = [python, "-m", "training.cli", "score", "--data", str(args.data)]
    runs: dict[str, list[float]] = {"local": [], "spark": []}
    with tempfile.TemporaryDirectory(prefix="score-engines-") as scratch:
        for attempt in range(args.repeat):  # alternated: the VM's speed drifts
            for engine, seconds in runs.items():
                store = Path(scratch) / f"{engine}-{attempt}.db"
                env = dict(
                    os.environ,
                    SEGMENTATION_HOME=str(args.home),
                    SEGMENTATION_STORE_URL=f"sqlite:///{store}",
                    SEGMENTATION_SPARK_MASTER=args.master,
                )
                seconds.append(_timed([*command, "--engine", engine], env))
                print(f"{engine} run {attempt + 1}: {seconds[-1]:.1f} s", flush=True)
                store.unlink()
    local, spark = (statistics.median(runs[name]) for name in ("local", "spark"))
    print(f"local (peer): median {local:.1f} s of {[round(s, 1) for s in runs['local']]}")
    print(f"spark:        median {spark:.1f} s of {[round(s, 1) for s in runs['spark']]}")
    print(f"spark / local: {spark / local:.2f}")


if __name__ == "__main__":
    sys.exit(main())

"""Full-size pipeline benchmark: generate, train, score into SQLite, score to Parquet.

Each step runs as its own process under /usr/bin/time (wall time, peak RSS). A peer measured
in the same run — Parquet -> predict -> Parquet with the same champion and no store — shows
what the model alone costs, so the store's share is the ratio. Medians over --repeat runs.

    .venv/bin/python bench/bench_pipeline.py --citizens 7200000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "training.cli"]

PEER = r"""
import sys, time, pyarrow.parquet as pq, pyarrow as pa, numpy as np
from models.registry import configure_mlflow, load_champion
from segmentation.settings import get_settings
from segmentation.features import numeric_matrix
s = get_settings(); configure_mlflow(s.resolved_tracking_uri, s.artifact_root)
bundle, version = load_champion("citizens")
names = np.asarray(bundle.categories)
f = pq.ParquetFile(sys.argv[1])
schema = pa.schema([("customer_id", pa.string()), ("category", pa.string())])
with pq.ParquetWriter(sys.argv[2], schema) as w:
    for batch in f.iter_batches(batch_size=500_000):
        frame = batch.to_pandas()
        idx = bundle.predict_index(numeric_matrix(frame, "citizens"))
        ids = pa.array(frame["customer_id"].astype(str), pa.string())
        w.write_table(pa.table({"customer_id": ids, "category": pa.array(names[idx], pa.string())}))
"""


#: Case handlers answering a review sample truthfully (from the generator's truth file).
ANSWER = r"""
import sys, pandas as pd
sample = pd.read_parquet(sys.argv[1])
truth = pd.read_parquet(sys.argv[2]).set_index("customer_id")["category"]
sample["category"] = truth.reindex(sample["customer_id"]).to_numpy()
sample["reviewer"] = "bench"
sample["reviewed_at"] = pd.Timestamp.now(tz="UTC").floor("s")
sample.to_parquet(sys.argv[3], index=False)
"""


def answer(sample: Path, data: Path, out: Path) -> list[str]:
    """The command that answers ``sample`` from ``data``'s truth file into ``out``."""
    return [
        sys.executable,
        "-c",
        ANSWER,
        str(sample),
        str(data / "citizens_truth.parquet"),
        str(out),
    ]


def rounds_of_review(data: Path, work: Path, rounds: list[int]) -> dict[str, list[str]]:
    """The steps of reviews in ``rounds`` (customers per round), as the command line runs
    them: round i's sample, its answers, and a training with every round so far."""
    steps: dict[str, list[str]] = {}
    answered: list[str] = []
    for number, n in enumerate(rounds, start=1):
        sample = work / f"round{number}.parquet"
        drawn = (
            ["--part", "spread"]
            if number == 1
            else [option for path in answered for option in ("--reviews", path)]
        )
        steps[f"round{number}_sample"] = [
            *CLI, "review", "sample", "--n", str(n), "--data", str(data), "--out", str(sample),
            *drawn,
        ]  # fmt: skip
        reviews = work / f"round{number}-reviews.parquet"
        steps[f"round{number}_answer"] = answer(sample, data, reviews)
        answered.append(str(reviews))
        last = number == len(rounds)
        name = (
            f"round{number}_train"
            if not last
            else ("train_two_rounds" if len(rounds) == 2 else f"train_{len(rounds)}_rounds")
        )
        steps[name] = [
            *CLI, "train", "--data", str(data),
            *(option for path in answered for option in ("--reviews", path)),
        ]  # fmt: skip
    return steps


def timed(command: list[str], env: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-v", *command], env=env, capture_output=True, text=True, cwd=ROOT
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    return {"wall_s": wall, "peak_mb": int(peak.group(1)) / 1024 if peak else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=7_200_000)
    parser.add_argument("--employers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="keep data already in --work")
    parser.add_argument(
        "--rounds",
        type=int,
        nargs="+",
        default=[500, 500],
        help="reviews per round for the round steps (default 500 500: steps round1_sample "
        "round1_answer round1_train round2_sample round2_answer train_two_rounds; with N "
        "rounds the last training is train_N_rounds)",
    )
    parser.add_argument(
        "--steps",
        nargs="+",
        default=None,
        help="only these steps (e.g. train review_sample review_answer review_opinions "
        "train_with_reviews; "
        "the rounds' steps by name, e.g. round1_sample round1_answer round1_train "
        "round2_sample round2_answer train_two_rounds, or 'rounds' for all of them)",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="segbench-"))
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", SEGMENTATION_HOME=str(work / "home"))
    data, out = work / "data", work / "out"
    results: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeat):
        if not args.steps or "train" in args.steps:
            shutil.rmtree(work / "home", ignore_errors=True)
        steps = {
            "generate": [
                *CLI,
                "generate",
                "--out",
                str(data),
                "--citizens",
                str(args.citizens),
                "--employers",
                str(args.employers),
            ],
            "train": [*CLI, "train", "--data", str(data)],
            "score_sqlite": [*CLI, "score", "--data", str(data)],
            "score_sqlite_again": [*CLI, "score", "--data", str(data)],
            "score_sqlite_and_parquet": [*CLI, "score", "--data", str(data), "--out", str(out)],
            "peer_parquet_predict_parquet": [
                sys.executable,
                "-c",
                PEER,
                str(data / "citizens.parquet"),
                str(work / "peer.parquet"),
            ],
            # The review loop: 1,000 reviews drawn by `review sample`, answered truthfully.
            "review_sample": [
                *CLI,
                "review",
                "sample",
                "--n",
                "1000",
                "--data",
                str(data),
                "--out",
                str(work / "sample.parquet"),
            ],
            "review_answer": answer(work / "sample.parquet", data, work / "reviews.parquet"),
            # Second opinions asked in a file: the champion scores the reviewed customers.
            "review_opinions": [
                *CLI,
                "review",
                "opinions",
                "--reviews",
                str(work / "reviews.parquet"),
                "--data",
                str(data),
                "--out",
                str(work / "opinions.parquet"),
            ],
            "train_with_reviews": [
                *CLI,
                "train",
                "--data",
                str(data),
                "--reviews",
                str(work / "reviews.parquet"),
            ],
            # The same 1,000 reviews in rounds (README, "The review loop"; default two of
            # 500): the first all spread; after each round a training, then the next all
            # borderline, cross-fitted, drawn with `--reviews` of the rounds before; the last
            # training with every round.
            **rounds_of_review(data, work, args.rounds),
        }  # fmt: skip
        if args.steps:
            # "rounds": every step of the rounds of review.
            wanted = set(args.steps) | (
                set(rounds_of_review(data, work, args.rounds)) if "rounds" in args.steps else set()
            )
            steps = {name: command for name, command in steps.items() if name in wanted}
        if args.reuse and (data / "citizens.parquet").exists():
            steps.pop("generate", None)
        for name, command in steps.items():
            measured = timed(command, env)
            results.setdefault(name, []).append(measured)
            print(
                f"{name:30s} {measured['wall_s']:8.1f} s  {measured['peak_mb']:8.0f} MB", flush=True
            )
    summary = {
        name: {
            "median_wall_s": statistics.median(r["wall_s"] for r in runs),
            "median_peak_mb": statistics.median(r["peak_mb"] for r in runs),
            "runs": len(runs),
        }
        for name, runs in results.items()
    }
    if "peer_parquet_predict_parquet" in summary:
        peer = summary["peer_parquet_predict_parquet"]["median_wall_s"]
        for row in summary.values():
            row["ratio_to_peer"] = row["median_wall_s"] / peer
    print(json.dumps({"citizens": args.citizens, "employers": args.employers, **summary}, indent=2))
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / f"pipeline-{args.citizens}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

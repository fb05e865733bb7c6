"""Two consecutive periods of the same people (issue 9), at full size: train on the first,
score both into a fresh SQLite store, then measure against the generator's truth:

- the transition matrix (model categories) against the true movement, per cell;
- the first period's early-warning list against who truly slides from irregular into
  needing support by the second (recall, precision, the list's share of the population);
- the wall time of scoring each period, and of the transitions query.

    .venv/bin/python bench/bench_periods.py --citizens 1000000

Peer in the same run: a list of the same length drawn at random (its recall is the list's
share of the population) and the matrix of the true categories.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from segmentation.settings import Settings  # noqa: E402
from segmentation.store import SegmentStore  # noqa: E402
from segmentation.transitions import (  # noqa: E402
    rate,
    transition_report,
    with_period_estimate,
)


def _answered_reviews(period, folder: Path, settings: Settings, n: int) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """``n`` customers drawn as `segmentation review sample` draws them, answered from the
    truth file as careful case handlers would."""
    from data_contracts.validation import validate
    from models.registry import load_champion
    from segmentation.features import numeric_matrix
    from training.review import draw_sample, sample_file

    accepted = validate(pd.read_parquet(folder / "citizens.parquet"), "citizens").accepted
    raw = numeric_matrix(accepted, "citizens")
    bundle, _ = load_champion("citizens")
    sample = draw_sample(
        bundle.segmenter, raw, accepted["customer_id"].to_numpy(), n=n, seed=settings.seed
    )
    reviews = sample_file("citizens", sample)
    truth = period.truth.set_index("customer_id")["category"]
    reviews["category"] = truth.reindex(reviews["customer_id"]).to_numpy()
    reviews["reviewer"] = "bench"
    reviews["reviewed_at"] = pd.Timestamp.now(tz="UTC").floor("s")
    return reviews


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument(
        "--reviews",
        type=int,
        default=1000,
        help="case handlers' reviews of the first period (answered from the truth); 0: none",
    )
    args = parser.parse_args()
    from models.registry import configure_mlflow, load_champion
    from training.drift import record_drift
    from training.periods import consecutive_periods
    from training.score import score_folder
    from training.train import train

    work = args.work or Path(tempfile.mkdtemp(prefix="segperiods-"))
    started = time.perf_counter()
    periods = consecutive_periods(args.citizens, args.seed, periods=2)
    print(f"generated {len(periods)} periods in {time.perf_counter() - started:.1f} s", flush=True)
    folders = []
    for period in periods:
        folder = work / period.period_end.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        period.citizens.to_parquet(folder / "citizens.parquet", index=False)
        # Kept beside the data for analysis after the run (never read by the pipeline).
        period.truth.to_parquet(folder / "truth.parquet", index=False)
        folders.append(folder)
    settings = Settings(home=work / "home")
    train(folders[0], settings)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    if args.reviews:
        reviews = _answered_reviews(periods[0], folders[0], settings, args.reviews)
        reviews.to_parquet(work / "reviews.parquet", index=False)
        train(folders[0], settings, work / "reviews.parquet")
    champions = {"citizens": load_champion("citizens")}
    store = SegmentStore(f"sqlite:///{work / 'segments.db'}")
    timings = {}
    for period, folder in zip(periods, folders, strict=True):
        begun = time.perf_counter()
        score_folder(folder, store, champions, chunk_rows=settings.chunk_rows, out=folder / "out")
        timings[f"score {period.period_end}"] = time.perf_counter() - begun
        record_drift(store, "citizens", artifact_root=settings.artifact_root)
    first, second = store.periods("citizens", fresh=True)[::-1]
    begun = time.perf_counter()
    counts = store.transition_counts("citizens", first, second)
    timings["transitions query"] = time.perf_counter() - begun
    report = transition_report("citizens", first.period_end, second.period_end, counts)
    # Each period's model errors as its calibrated probabilities expect them (kept by the run).
    report = with_period_estimate(report, first.soft_confusion, second.soft_confusion)

    truth1, truth2 = periods[0].truth, periods[1].truth
    joined = truth1.merge(truth2, on="customer_id", how="left", suffixes=("_1", "_2"))
    joined["category_2"] = joined["category_2"].fillna("left")
    true_rates = pd.crosstab(joined["category_1"], joined["category_2"], normalize="index")
    names = ["regular", "irregular", "needs_support"]
    estimated = report["estimated"]
    cells = {
        f"{a} -> {b}": {
            "model": rate(report, a, b),
            "estimated": rate({"matrix": estimated}, a, b) if estimated else None,
            "true": float(true_rates.loc[a, b]),
        }
        for a in names
        for b in [*names, "left"]
    }
    worst = max(abs(v["model"] - v["true"]) for v in cells.values())
    worst_estimated = (
        max(abs(v["estimated"] - v["true"]) for v in cells.values()) if estimated else None
    )

    accuracy = {}
    for period, folder in zip(periods, folders, strict=True):
        segments = pd.read_parquet(folder / "out" / "citizens_segments.parquet")
        both = segments.merge(period.truth, on="customer_id", suffixes=("", "_true"))
        accuracy[str(period.period_end)] = float((both.category == both.category_true).mean())

    threshold = store.warning_threshold(first, share=0.05, min_risk=0.2)
    listed = {str(i).zfill(12) for i in store.risky_ids(first, threshold).tolist()}
    slid = joined[(joined.category_1 == "irregular") & (joined.category_2 == "needs_support")]
    movers = set(slid.customer_id)
    caught = len(listed & movers)
    rng = np.random.default_rng(0)
    drawn = set(rng.choice(truth1.customer_id.to_numpy(), size=len(listed), replace=False))
    warning = {
        "list": len(listed),
        "list_share": len(listed) / first.rows,
        "movers": len(movers),
        "recall": caught / max(len(movers), 1),
        "precision": caught / max(len(listed), 1),
        "peer_random_recall": len(drawn & movers) / max(len(movers), 1),
        "threshold": threshold,
    }
    result = {
        "citizens": args.citizens,
        "accuracy": accuracy,
        "transitions": cells,
        "worst_cell_points": 100 * worst,
        "worst_estimated_cell_points": 100 * worst_estimated if worst_estimated else None,
        "reviews": args.reviews,
        "early_warning": warning,
        "timings_s": timings,
    }
    print(json.dumps(result, indent=2))
    print(
        f"\n{args.citizens:,} citizens, two periods: model accuracy "
        + ", ".join(f"{k} {v:.3f}" for k, v in accuracy.items())
        + f"; worst transition cell {100 * worst:.1f} points from the truth (corrected by "
        f"each period's expected errors, probabilities calibrated on the reviews: "
        + (f"{100 * worst_estimated:.1f}" if worst_estimated is not None else "n/a")
        + " points); early warning: "
        f"list {warning['list_share']:.1%} of the population, recall {warning['recall']:.2f} "
        f"(random list of the same length: {warning['peer_random_recall']:.2f}), precision "
        f"{warning['precision']:.2f}"
    )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "periods.json").write_text(json.dumps(result, indent=2))
    store.dispose()


if __name__ == "__main__":
    main()

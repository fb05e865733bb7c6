"""How often the reported agreement's interval holds the true figure, under the real design.

Training reports the agreement with case handlers from the spread reviews (weighted by 1 /
inclusion probability) with a Wilson 95 % interval per category (at Student's t for the
design's degrees of freedom), combined into one for the
macro recall (``training.review``). Whether that interval is honest depends on the design:
the spread draws the same number of customers from every cluster, so a large cluster's few
customers of another category carry heavy weights, and where the model gets those wrong the
estimate hangs on a few reviews.

This script takes a trained population (its data, truth file and two registered model
versions: the one whose clusters the spread was drawn from, and the one whose agreement is
reported), draws the spread part again and again exactly as `review sample` allocates it, and
counts how often each interval holds the model's true macro recall and per-category recall.
Shipped: ``weighted_recall`` and ``macro_interval`` as training uses them (Student's t at
the design's degrees of freedom). Peers, in the same run: the same effective sizes at the
normal quantile (``normal``, the rule before the twenty-fourth session), those combined into
the macro interval by their mean half-widths (``symmetric``, the rule before the fourteenth
session), and that on Kish's effective sample size alone (``kish``, the rule before the
twelfth session). ``--allocation sqrt`` tries a
spread allocated by the square root of the cluster's size instead of equally (a design
question, not shipped).

    .venv/bin/python bench/bench_coverage.py --data /tmp/lc86/data --home /tmp/lc86/home \
        --design-version 1 --model-version 5 --draws 2000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def allocate(sizes: np.ndarray, n: int, how: str) -> np.ndarray:
    """Reviews per stratum: equal (``training.review.allocate``, as `review sample` draws
    the spread) or by the square root of the size (at least 2 each)."""
    if how == "sqrt":
        share = np.sqrt(sizes) / np.sqrt(sizes).sum() * n
        allocation = np.minimum(np.maximum(2, np.floor(share)).astype(np.int64), sizes)
        while allocation.sum() > n:
            allocation[np.argmax(allocation)] -= 1
        while allocation.sum() < n:
            open_strata = allocation < sizes
            allocation[np.argmax(np.where(open_strata, share - allocation, -np.inf))] += 1
        return allocation
    from training.review import allocate as equal

    return equal(sizes, n)


def symmetric(per_category: dict) -> tuple[float, float]:
    """The macro interval the categories' mean half-widths give (the peer rule)."""
    estimates = np.array([i.estimate for i in per_category.values()])
    halves = np.array([(i.high - i.low) / 2 for i in per_category.values()])
    half = float(np.sqrt(np.sum(halves**2)) / len(halves))
    return max(0.0, estimates.mean() - half), min(1.0, estimates.mean() + half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--design-version", required=True, help="the version that drew the spread")
    parser.add_argument("--model-version", required=True, help="the version whose agreement")
    parser.add_argument("--n", type=int, default=400, help="spread reviews per draw")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--allocation", choices=["equal", "sqrt"], default="equal")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "coverage.json")
    args = parser.parse_args()
    os.environ["SEGMENTATION_HOME"] = str(args.home)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    warnings.filterwarnings("ignore")

    from models.registry import configure_mlflow, load_version
    from segmentation.features import numeric_matrix
    from segmentation.settings import Settings
    from segmentation.taxonomy import CATEGORIES
    from training.evaluate import blockwise
    from training.review import (
        Interval,
        at_normal_quantile,
        macro_interval,
        weighted_recall,
        wilson,
    )
    from training.train import _truth_codes

    settings = Settings()
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    frame = pq.read_table(args.data / "citizens.parquet").to_pandas()
    raw = numeric_matrix(frame, "citizens")
    ids = frame["customer_id"].astype(np.int64).to_numpy()
    del frame
    labels = [category.name for category in CATEGORIES["citizens"]]
    truth = _truth_codes(args.data / "citizens_truth.parquet", ids, "customer_id", labels)
    design = load_version("citizens", args.design_version).segmenter
    model = load_version("citizens", args.model_version).segmenter
    strata = blockwise(raw, design.strata)
    hit = blockwise(raw, model.predict_index) == truth
    true = np.array([hit[truth == c].mean() for c in range(len(labels))])
    sizes = np.bincount(strata)
    allocation = allocate(sizes, args.n, args.allocation)
    order = np.argsort(strata, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    weight_of = sizes / np.maximum(allocation, 1)
    rng = np.random.default_rng(0)
    rules = ("shipped", "normal", "symmetric", "kish")
    held = {rule: np.zeros(len(labels) + 1) for rule in rules}
    above = dict.fromkeys(rules, 0)
    width = dict.fromkeys(rules, 0.0)
    category_width = {rule: np.zeros(len(labels)) for rule in rules}
    for _ in range(args.draws):
        rows = np.concatenate(
            [
                order[starts[s] + rng.choice(sizes[s], allocation[s], replace=False)]
                for s in np.flatnonzero(allocation)
            ]
        )
        weights = weight_of[strata[rows]].astype(np.float64)
        reviewed, predicted = truth[rows], np.where(hit[rows], truth[rows], -1)
        shipped = weighted_recall(reviewed, predicted, weights, len(labels))
        normal = {
            category: Interval(
                interval.estimate, *at_normal_quantile(interval), interval.effective_n
            )
            for category, interval in shipped.items()
        }
        kish = {}
        for category, interval in shipped.items():
            w = weights[reviewed == category]
            effective = float(w.sum() ** 2 / np.sum(w * w))
            low, high = wilson(interval.estimate * effective, effective)
            kish[category] = Interval(interval.estimate, low, high, effective)
        shipped_macro, normal_macro = macro_interval(shipped), macro_interval(normal)
        judged = (
            ("shipped", shipped, (shipped_macro.low, shipped_macro.high)),
            ("normal", normal, (normal_macro.low, normal_macro.high)),
            ("symmetric", normal, symmetric(normal)),
            ("kish", kish, symmetric(kish)),
        )
        for rule, per_category, (low, high) in judged:
            for category, interval in per_category.items():
                held[rule][category] += interval.low <= true[category] <= interval.high
                category_width[rule][category] += interval.high - interval.low
            held[rule][-1] += low <= true.mean() <= high
            above[rule] += low > true.mean()
            width[rule] += high - low
    result = {
        "allocation": args.allocation,
        "n": args.n,
        "draws": args.draws,
        "true_macro_recall": float(true.mean()),
        "true_recall": dict(zip(labels, true.round(4).tolist(), strict=True)),
        "largest_weight": float(weight_of[allocation > 0].max()),
        **{
            rule: {
                "macro_held": float(held[rule][-1] / args.draws),
                "macro_interval_above_truth": above[rule] / args.draws,
                "mean_macro_width": width[rule] / args.draws,
                "per_category_held": dict(
                    zip(labels, (held[rule][:-1] / args.draws).round(3).tolist(), strict=True)
                ),
                "per_category_mean_width": dict(
                    zip(
                        labels,
                        (category_width[rule] / args.draws).round(3).tolist(),
                        strict=True,
                    )
                ),
            }
            for rule in rules
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

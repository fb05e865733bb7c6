"""The world suite at full size: how the method does on every world, worst world first.

For each world of ``training.worlds`` and each seed: the unsupervised model's macro recall
and ARI against the world's truth, its stability (share of customers a re-fit with another
seed keeps), then 1,000 reviews drawn by the review sample and answered from the truth: the
refit's macro recall and ARI, and the agreement training reports (cross-validated on the
reviews, Wilson 95 %) with whether its interval holds the true figure. Employers: accuracy
against head count. Peers measured in the same run: the method this replaced (share-matched
naming, the last commit before issue 8, when ``--previous`` gives its checkout) and a
supervised ceiling (gradient boosting given every second customer's true category).

    .venv/bin/python bench/bench_worlds.py --size 100000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.segmenter import ClusterSegmenter  # noqa: E402
from segmentation.features import build_features, numeric_matrix  # noqa: E402
from training.evaluate import agreement, choose_review_weight  # noqa: E402
from training.review import draw_sample  # noqa: E402
from training.worlds import WORLDS  # noqa: E402

NAMES = ["regular", "irregular", "needs_support"]


def ceiling(raw: np.ndarray, truth: np.ndarray, seed: int) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = build_features(raw, "citizens")
    half = len(raw) // 2
    model = HistGradientBoostingClassifier(random_state=seed).fit(features[:half], truth[:half])
    return agreement(model.predict(features[half:]), truth[half:], "citizens")["truth_macro_recall"]


def one(world: str, seed: int, size: int, reviews: int) -> dict[str, object]:
    frame, truth_frame = WORLDS[world].citizens(size, seed)
    raw = numeric_matrix(frame, "citizens")
    truth = pd.Categorical(truth_frame["category"], categories=NAMES).codes.astype(np.int64)
    started = time.perf_counter()
    model = ClusterSegmenter("citizens", random_state=seed).fit(raw)
    fit_seconds = time.perf_counter() - started
    predicted = model.predict_index(raw)
    unsupervised = agreement(predicted, truth, "citizens")
    refit = ClusterSegmenter("citizens", random_state=seed + 1000).fit(raw)
    stability = float(np.mean(refit.predict_index(raw) == predicted))
    sample = draw_sample(model, raw, np.arange(len(raw)), n=reviews, seed=seed)
    reviewed = np.full(len(raw), -1)
    rows = sample["id"].to_numpy()
    reviewed[rows] = truth[rows]
    weights = np.full(len(raw), np.nan)
    weights[rows] = 1.0 / sample["inclusion_probability"].to_numpy()
    # As training does: the reviews' weight chosen by cross-validated agreement with them.
    learnt_model = ClusterSegmenter("citizens", random_state=seed)
    chosen = choose_review_weight(
        learnt_model, raw, reviewed, weights, folds=5, seed=seed, champion=model
    )
    weight, reported = chosen.weight, chosen.agreement
    learnt_model.set_params(review_weight=weight, relabel=chosen.relabel).fit(
        raw, reviewed, champion=model
    )
    learnt = agreement(learnt_model.predict_index(raw), truth, "citizens")
    employers, employer_truth = WORLDS[world].employers(max(size // 10, 2_000), seed)
    employer_model = ClusterSegmenter("employers", random_state=seed).fit(
        numeric_matrix(employers, "employers")
    )
    employer_accuracy = float(
        np.mean(
            employer_model.predict(numeric_matrix(employers, "employers"))
            == employer_truth["category"].to_numpy()
        )
    )
    true_macro = learnt["truth_macro_recall"]
    return {
        "world": world,
        "seed": seed,
        "macro_recall": unsupervised["truth_macro_recall"],
        "ari": unsupervised["truth_ari"],
        "stability": stability,
        "reviewed_macro_recall": true_macro,
        "reviewed_ari": learnt["truth_ari"],
        "reported": reported.get("review_macro_recall", float("nan")),
        "reported_low": reported.get("review_macro_recall_low", float("nan")),
        "reported_high": reported.get("review_macro_recall_high", float("nan")),
        "interval_holds_truth": bool(
            reported.get("review_macro_recall_low", 2)
            <= true_macro
            <= reported.get("review_macro_recall_high", -1)
        ),
        "review_weight": weight,
        "relabel": chosen.relabel,
        "employer_accuracy": employer_accuracy,
        "ceiling": ceiling(raw, truth, seed),
        "fit_seconds": fit_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--reviews", type=int, default=1_000)
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "worlds.json")
    parser.add_argument("--summarise", type=Path, help="Only print the table of a results file.")
    args = parser.parse_args()
    if args.summarise:
        summarise(pd.DataFrame(json.loads(args.summarise.read_text())))
        return
    warnings.filterwarnings("ignore")
    results = []
    for world in args.worlds:
        for seed in args.seeds:
            result = one(world, seed, args.size, args.reviews)
            results.append(result)
            print(json.dumps(result), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    summarise(pd.DataFrame(results))


def summarise(table: pd.DataFrame) -> None:
    """The README's table: one row per world, the worst world first."""
    summary = (
        table.groupby("world")
        .agg(
            macro_recall_min=("macro_recall", "min"),
            macro_recall_median=("macro_recall", "median"),
            ari_min=("ari", "min"),
            stability_min=("stability", "min"),
            reviewed_min=("reviewed_macro_recall", "min"),
            reviewed_ari_min=("reviewed_ari", "min"),
            intervals_holding=("interval_holds_truth", "sum"),
            employers_min=("employer_accuracy", "min"),
            ceiling=("ceiling", "median"),
            fit_seconds=("fit_seconds", statistics.median),
        )
        .sort_values("macro_recall_min")
    )
    print(markdown(summary.round(3)))


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table for the README (without the optional tabulate package)."""
    header = [frame.index.name or "", *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *(f"{v:g}" for v in row)]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""The world suite at full size: how the method does on every world, worst world first.

For each world of ``training.worlds`` and each seed: the unsupervised model's macro recall
and ARI against the world's truth, its stability (share of customers a re-fit with another
seed keeps), then 1,000 reviews drawn by the review sample and answered from the truth: the
refit's macro recall and ARI, and the agreement training reports (cross-validated on the
reviews, Wilson 95 %) with whether its interval holds the true figure. The reviews come in
one round (half spread, half borderline) and, in the ``two_rounds_`` columns, in two rounds
of half as many (all spread; a training; all borderline among the customers not reviewed
yet, cross-fitted: each half drawn by a model taught by half of the first round; a training
with both, its agreement cross-validated by the halves). Employers: accuracy
against head count. The peer measured in the same run: a supervised ceiling (gradient
boosting given every second customer's true category). (The method this replaced,
share-matched naming, is the checkout before commit 838c611; the README quotes it.)

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
from training.evaluate import ReviewWeight, agreement, choose_review_weight  # noqa: E402
from training.review import draw_cross_fitted, draw_sample, review_halves  # noqa: E402
from training.worlds import WORLDS  # noqa: E402

NAMES = ["regular", "irregular", "needs_support"]


def ceiling(raw: np.ndarray, truth: np.ndarray, seed: int) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = build_features(raw, "citizens")
    half = len(raw) // 2
    model = HistGradientBoostingClassifier(random_state=seed).fit(features[:half], truth[:half])
    return agreement(model.predict(features[half:]), truth[half:], "citizens")["truth_macro_recall"]


def answer(
    truth: np.ndarray,
    sample: pd.DataFrame,
    reviewed: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The sample answered from the truth, added to earlier answers: each row's reviewed
    category (-1: none) and design weight (1 / inclusion probability; NaN: none)."""
    reviewed = np.full(len(truth), -1) if reviewed is None else reviewed.copy()
    weights = np.full(len(truth), np.nan) if weights is None else weights.copy()
    rows = sample["id"].to_numpy()
    reviewed[rows] = truth[rows]
    weights[rows] = 1.0 / sample["inclusion_probability"].to_numpy()
    return reviewed, weights


def train_with(
    raw: np.ndarray,
    reviewed: np.ndarray,
    weights: np.ndarray,
    seed: int,
    *,
    champion: ClusterSegmenter,
    halves: np.ndarray | None = None,
) -> tuple[ClusterSegmenter, ReviewWeight]:
    """As training does: the agreement with the reviews cross-validated (of the review
    settings' average; of each setting, and the best one taken, for a model that does not
    average), then the model fitted."""
    model = ClusterSegmenter("citizens", random_state=seed)
    chosen = choose_review_weight(
        model, raw, reviewed, weights, folds=5, seed=seed, champion=champion, halves=halves
    )
    if not chosen.blend:
        model.set_params(review_weight=chosen.weight, relabel=chosen.relabel)
    return model.fit(raw, reviewed, champion=champion), chosen


def outcome(
    model: ClusterSegmenter, chosen: ReviewWeight, raw: np.ndarray, truth: np.ndarray
) -> dict[str, object]:
    """The true figures of a model trained with reviews beside what training reported."""
    learnt = agreement(model.predict_index(raw), truth, "citizens")
    reported = chosen.agreement
    true_macro = learnt["truth_macro_recall"]
    low = reported.get("review_macro_recall_low", float("nan"))
    high = reported.get("review_macro_recall_high", float("nan"))
    return {
        "reviewed_macro_recall": true_macro,
        "reviewed_ari": learnt["truth_ari"],
        "reported": reported.get("review_macro_recall", float("nan")),
        "reported_low": low,
        "reported_high": high,
        "interval_holds_truth": bool(low <= true_macro <= high),
        "review_weight": chosen.weight,
        "relabel": chosen.relabel,
        "blend": chosen.blend,
    }


def two_rounds_of_review(
    raw: np.ndarray, truth: np.ndarray, model: ClusterSegmenter, seed: int, reviews: int
) -> tuple[ClusterSegmenter, np.ndarray, np.ndarray, np.ndarray]:
    """``reviews`` in two rounds, as `review sample` draws them: half all spread, from
    ``model``; a training (the champion then); the rest all borderline, cross-fitted (two
    models, each taught by half of the first round, not named by the champion that learnt
    from all of it). Returns the first round's champion, every row's reviewed category and
    design weight after both rounds, and every row's half (-1: none) for the training."""
    rows = np.arange(len(raw))
    first = reviews // 2
    reviewed, weights = answer(
        truth, draw_sample(model, raw, rows, n=first, seed=seed, part="spread")
    )
    first_champion, _ = train_with(raw, reviewed, weights, seed, champion=model)
    # As `review sample` does: the champion's way of weighing reviews, not its names.
    template = ClusterSegmenter(
        "citizens",
        random_state=seed,
        review_weight=first_champion.review_weight,
        relabel=first_champion.relabel,
        review_blend=first_champion.review_blend,
    )
    estimating = (reviewed >= 0) & np.isfinite(weights)
    second = draw_cross_fitted(
        template,
        raw,
        rows,
        reviewed,
        estimating,
        np.full(len(raw), -1),
        n=reviews - first,
        seed=seed,
    )
    reviewed, weights = answer(truth, second, reviewed, weights)
    halves = np.full(len(raw), -1)
    halves[np.flatnonzero(estimating)] = review_halves(np.flatnonzero(estimating))
    halves[second["id"].to_numpy()] = second["half"].to_numpy()
    return first_champion, reviewed, weights, halves


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
    # One round: half spread, half borderline, drawn by the unsupervised model.
    reviewed, weights = answer(
        truth, draw_sample(model, raw, np.arange(len(raw)), n=reviews, seed=seed)
    )
    learnt_model, chosen = train_with(raw, reviewed, weights, seed, champion=model)
    one_round = outcome(learnt_model, chosen, raw, truth)
    # Two rounds of half as many, as `review sample` draws them.
    first_champion, reviewed, weights, halves = two_rounds_of_review(
        raw, truth, model, seed, reviews
    )
    two_model, two_chosen = train_with(
        raw, reviewed, weights, seed, champion=first_champion, halves=halves
    )
    two_rounds = outcome(two_model, two_chosen, raw, truth)
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
    return {
        "world": world,
        "seed": seed,
        "macro_recall": unsupervised["truth_macro_recall"],
        "ari": unsupervised["truth_ari"],
        "stability": stability,
        **one_round,
        **{f"two_rounds_{key}": value for key, value in two_rounds.items()},
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
            reviewed_median=("reviewed_macro_recall", "median"),
            reviewed_ari_min=("reviewed_ari", "min"),
            intervals_holding=("interval_holds_truth", "sum"),
            two_rounds_min=("two_rounds_reviewed_macro_recall", "min"),
            two_rounds_median=("two_rounds_reviewed_macro_recall", "median"),
            two_rounds_ari_min=("two_rounds_reviewed_ari", "min"),
            two_rounds_intervals_holding=("two_rounds_interval_holds_truth", "sum"),
            employers_min=("employer_accuracy", "min"),
            ceiling=("ceiling", "median"),
            fit_seconds=("fit_seconds", statistics.median),
        )
        .sort_values("macro_recall_min")
    )
    print(markdown(summary.round(3)))


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table for the README (without the optional tabulate package)."""
    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *(f"{v:g}" for v in row)]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

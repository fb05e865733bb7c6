"""How the model with reviews (the six review settings averaged) does against each setting
and against choosing one.

For each world and seed: reviews in two rounds as `review sample` draws them (500 spread; a
training; 500 borderline, cross-fitted; see ``bench_worlds.py``), then every setting (review
weight x re-naming) fitted with all 1,000 reviews on the same clustering: its true macro
recall and its cross-validated figure; the model training gives (their average,
``review_blend``); the setting cross-validation would choose (the previous default); the
average of the three settings with the best cross-validated figures. Peer: the best single
setting in hindsight.

    .venv/bin/python bench/bench_review_choice.py --worlds life_course_86 life_course \
        latent_need latent_need_70 --seeds 0 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_worlds import collect, rounds_of_review, train_with, world_citizens  # noqa: E402

from models.segmenter import ClusterSegmenter  # noqa: E402
from training.evaluate import RELABEL_OPTIONS, REVIEW_WEIGHTS, agreement  # noqa: E402
from training.review import drawn_at_random  # noqa: E402
from training.worlds import WORLDS  # noqa: E402


def one(world: str, seed: int, size: int) -> dict[str, object]:
    raw, truth = world_citizens(world, seed, size)
    model = ClusterSegmenter("citizens", random_state=seed).fit(raw)
    first, reviewed, weights, halves = rounds_of_review(raw, truth, model, seed, [500, 500])
    trained, measured = train_with(raw, reviewed, weights, seed, champion=first, halves=halves)
    # In the order cross-validation breaks ties: the lighter weight, then not re-naming.
    settings = sorted((w, r) for r in RELABEL_OPTIONS for w in REVIEW_WEIGHTS)
    fitted = ClusterSegmenter("citizens", random_state=seed).fit_review_weights(
        raw,
        reviewed,
        champion=first,
        representative=drawn_at_random(reviewed, weights),
        weights=REVIEW_WEIGHTS,
        relabels=RELABEL_OPTIONS,
    )
    fits = dict(zip([(w, r) for r in RELABEL_OPTIONS for w in REVIEW_WEIGHTS], fitted, strict=True))

    def macro(predicted: np.ndarray) -> float:
        return float(agreement(predicted, truth, "citizens")["truth_macro_recall"])

    def key(weight: float, relabel: bool) -> str:
        return f"{weight:g}" + ("R" if relabel else "")

    true = {key(*s): macro(fits[s].predict_index(raw)) for s in settings}
    cv = {
        s: measured.agreement[
            f"review_macro_recall_at_weight_{s[0]:g}" + ("_relabel" if s[1] else "")
        ]
        for s in settings
    }
    ranked = sorted(settings, key=lambda s: (-cv[s], settings.index(s)))
    return {
        "world": world,
        "seed": seed,
        "true": true,
        "cv": {key(*s): cv[s] for s in settings},
        "blended_true": macro(trained.predict_index(raw)),
        "blended_cv": measured.agreement["review_macro_recall"],
        "cv_chosen": key(*ranked[0]),
        "cv_chosen_true": true[key(*ranked[0])],
        "top3_true": macro(
            ClusterSegmenter.blended([fits[s] for s in ranked[:3]]).predict_index(raw)
        ),
        "best_single": max(true.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS))
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "review_choice.json"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = collect(
        lambda world, seed: one(world, seed, args.size), args.worlds, args.seeds, args.out
    )
    table = pd.DataFrame(results)
    columns = ["blended_true", "cv_chosen_true", "top3_true", "best_single"]
    print("min / median true macro recall per world")
    for world, group in table.groupby("world", sort=False):
        print(
            world,
            "  ".join(
                f"{c} {group[c].min():.4f} / {statistics.median(group[c]):.4f}" for c in columns
            ),
        )


if __name__ == "__main__":
    main()

"""How training's choice of review setting does against every setting it chooses among.

For each world and seed: reviews in two rounds as `review sample` draws them (500 spread; a
training; 500 borderline, cross-fitted; see ``bench_worlds.py``), then every candidate setting
(review weight x re-naming) fitted with all 1,000 reviews on the same clustering: its true macro
recall, its cross-validated figure (what training chooses by), the setting training chose, and
two choices that need no single winner: the candidates' probabilities averaged, and their
logits averaged (the same as one quadratic model with averaged coefficients, which is the form
the API scores). Peer: the best single candidate in hindsight.

    .venv/bin/python bench/bench_review_choice.py --worlds life_course_86 life_course \
        latent_need latent_need_70 --seeds 0 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_worlds import NAMES, train_with, two_rounds_of_review  # noqa: E402

from models.segmenter import ClusterSegmenter  # noqa: E402
from segmentation.features import build_features, numeric_matrix  # noqa: E402
from training.evaluate import REVIEW_WEIGHTS, agreement  # noqa: E402
from training.worlds import WORLDS  # noqa: E402


def one(world: str, seed: int, size: int) -> dict[str, object]:
    frame, truth_frame = WORLDS[world].citizens(size, seed)
    raw = numeric_matrix(frame, "citizens")
    truth = pd.Categorical(truth_frame["category"], categories=NAMES).codes.astype(np.int64)
    model = ClusterSegmenter("citizens", random_state=seed).fit(raw)
    first, reviewed, weights, halves = two_rounds_of_review(raw, truth, model, seed, 1_000)
    _, chosen = train_with(raw, reviewed, weights, seed, champion=first, halves=halves)
    settings = [(w, r) for r in (False, True) for w in REVIEW_WEIGHTS]
    fits = ClusterSegmenter("citizens", random_state=seed).fit_review_weights(
        raw, reviewed, champion=first, weights=REVIEW_WEIGHTS, relabels=(False, True)
    )

    def macro(predicted: np.ndarray) -> float:
        return float(agreement(predicted, truth, "citizens")["truth_macro_recall"])

    def key(weight: float, relabel: bool) -> str:
        return f"{weight:g}" + ("R" if relabel else "")

    true = {key(*s): macro(f.predict_index(raw)) for s, f in zip(settings, fits, strict=True)}
    features = build_features(raw, "citizens")
    return {
        "world": world,
        "seed": seed,
        "true": true,
        "cv": {
            key(w, r): chosen.agreement[
                f"review_macro_recall_at_weight_{w:g}" + ("_relabel" if r else "")
            ]
            for w, r in settings
        },
        "chosen": key(chosen.weight, chosen.relabel),
        "chosen_true": true[key(chosen.weight, chosen.relabel)],
        "probabilities_averaged": macro(
            np.mean([f.predict_proba(raw) for f in fits], axis=0).argmax(axis=1)
        ),
        "logits_averaged": macro(
            np.mean([f._log_joint(features) for f in fits], axis=0).argmax(axis=1)
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
    results = []
    for world in args.worlds:
        for seed in args.seeds:
            result = one(world, seed, args.size)
            results.append(result)
            print(json.dumps(result), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    table = pd.DataFrame(results)
    columns = ["chosen_true", "probabilities_averaged", "logits_averaged", "best_single"]
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

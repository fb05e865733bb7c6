"""How learnable a latent-need world is, beside what the method makes of it.

Issue 8 gives one figure for how surely population A's behaviour tells the category: a
classifier given the true category of 1,000 customers reached 0.94-0.96 macro recall. This
script measures that peer on the latent-need world at each ``--clarities`` value
(``training.worlds.latent_need_citizens``): gradient boosting given 1,000 random customers'
true categories, and given 50,000 (what the features allow at all), each scored on the
other customers; then, unless ``--peer-only``, the method itself on the same world as
``bench_worlds.py`` runs it (no reviews; 1,000 reviews in one round and in ``--rounds``).
Which clarity makes a world "like A" is read off the first column.

    .venv/bin/python bench/bench_clarity.py --clarities 1.0 1.25 1.5 --seeds 0 1 --peer-only
    .venv/bin/python bench/bench_clarity.py --clarities 1.25 1.5 --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_worlds  # noqa: E402

from segmentation.features import build_features  # noqa: E402
from training.evaluate import agreement  # noqa: E402
from training.worlds import WORLDS, World, latent_need_citizens, loose_employers  # noqa: E402

KEPT = (
    "macro_recall",
    "ari",
    "stability",
    "reviewed_macro_recall",
    "reviewed_ari",
    "interval_holds_truth",
    "rounds_reviewed_macro_recall",
    "rounds_reviewed_ari",
    "rounds_reported",
    "rounds_reported_low",
    "rounds_reported_high",
    "rounds_interval_holds_truth",
)


def peers(raw: np.ndarray, truth: np.ndarray, seed: int, sizes: Sequence[int]) -> dict[str, float]:
    """Gradient boosting given ``n`` random customers' true categories, scored on the rest."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = build_features(raw, "citizens")
    order = np.random.default_rng(seed).permutation(len(raw))
    out: dict[str, float] = {}
    for n in sizes:
        taught, scored = order[:n], order[n:]
        model = HistGradientBoostingClassifier(random_state=seed)
        model.fit(features[taught], truth[taught])
        figures = agreement(model.predict(features[scored]), truth[scored], "citizens")
        out[f"peer_{n}_macro_recall"] = figures["truth_macro_recall"]
        out[f"peer_{n}_ari"] = figures["truth_ari"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clarities", type=float, nargs="+", default=[1.0, 1.25, 1.5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, nargs="+", default=[400, 200, 200, 200])
    parser.add_argument("--peer-only", action="store_true", help="only the two peers")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "clarity.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = []
    for clarity in args.clarities:
        name = f"latent_need_clarity_{clarity:g}"
        WORLDS[name] = World(
            name,
            partial(latent_need_citizens, clarity=clarity),
            loose_employers,
            f"latent need at clarity {clarity:g}",
        )
        for seed in args.seeds:
            raw, truth = bench_worlds.world_citizens(name, seed, args.size)
            result: dict[str, object] = {"clarity": clarity, "seed": seed}
            result.update(peers(raw, truth, seed, (1_000, 50_000)))
            if not args.peer_only:
                method = bench_worlds.one(name, seed, args.size, 1_000, args.rounds)
                result.update({key: method[key] for key in KEPT})
            results.append(result)
            print(json.dumps(result), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    table = pd.DataFrame(results).groupby("clarity").agg(["min", "max"]).drop(columns="seed")
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()

"""Issue 8's two peers on every world of the suite, beside the method without reviews.

Issue 8 measured two peers on population A, the only figures there are of how A is built:

* **without labels**, "a plain k-means (k = 8) named by two hand thresholds reached 0.91 /
  0.89" (macro recall / ARI);
* **with labels**, "a classifier given the true category of just 1,000 customers reached
  0.94-0.96 macro recall" (``bench_clarity.peers``).

A world is like A only where both peers read what they read on A. This script measures
both on the worlds of ``training.worlds`` (or ``--worlds``), beside the method fitted
without reviews (``ClusterSegmenter`` as ``bench_worlds.py`` fits it, with its stability
on a re-fit with another seed) and beside the method without each of its steps that weigh
a customer by their behaviour: without the single-change step (``weigh_single_changes=
False``: a customer with one change named by their cluster, as before
``models.single_change``; columns ``without_single_change_*``) and without the
benefit-support step (``weigh_benefit_support=False``: a customer whose benefits alone say
needs support named by their cluster, as before ``models.benefit_support``; columns
``without_benefit_support_*``). The k-means peer is
k-means with eight clusters (k-means++, three starts) on the standardised model features,
each cluster named by its mean contacts a year:

* ``kmeans``: at the geometric middles of the reference contacts (0.4, 0.9 and 6.5: below
  0.6 regular, from 2.42 needs support, irregular between), the hand thresholds the
  reference table gives;
* ``kmeans_best``: at the pair of thresholds that reads best against the truth (the most
  any two hand thresholds can make of that clustering: an upper bound on the peer).

    .venv/bin/python bench/bench_peers.py --seeds 0 1
    .venv/bin/python bench/bench_peers.py --worlds archetype latent_need_wide --seeds 0
"""

from __future__ import annotations

import argparse
import itertools
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_worlds  # noqa: E402
from bench_clarity import peers  # noqa: E402

from segmentation.features import build_features, raw_profile_metrics  # noqa: E402
from segmentation.taxonomy import CITIZEN_CATEGORIES  # noqa: E402
from training.evaluate import agreement  # noqa: E402
from training.worlds import WORLDS  # noqa: E402

#: The hand thresholds of the k-means peer: geometric middles of the reference contacts.
_REFERENCE = [category.profile["contacts_per_year"] for category in CITIZEN_CATEGORIES]
HAND_THRESHOLDS = (
    float(np.sqrt(_REFERENCE[0] * _REFERENCE[1])),
    float(np.sqrt(_REFERENCE[1] * _REFERENCE[2])),
)


def kmeans_peer(raw: np.ndarray, truth: np.ndarray, seed: int) -> dict[str, float]:
    """Issue 8's peer without labels: k-means (k = 8) named by two contact thresholds."""
    from sklearn.cluster import KMeans

    features = build_features(raw, "citizens")
    scale = features.std(axis=0)
    z = (features - features.mean(axis=0)) / np.where(scale > 1e-9, scale, 1.0)
    labels = np.asarray(KMeans(n_clusters=8, n_init=3, random_state=seed).fit(z).labels_)
    contacts = raw_profile_metrics(raw, "citizens")["contacts_per_year"]
    means = np.bincount(labels, weights=contacts, minlength=8) / np.maximum(
        np.bincount(labels, minlength=8), 1
    )

    def named(low: float, high: float) -> dict[str, float]:
        category = np.where(means < low, 0, np.where(means < high, 1, 2))
        return agreement(category[labels], truth, "citizens")

    hand = named(*HAND_THRESHOLDS)
    ordered = np.sort(means)
    cuts = np.concatenate([[-np.inf], (ordered[:-1] + ordered[1:]) / 2, [np.inf]])
    best = max(
        (named(low, high) for low, high in itertools.combinations(cuts, 2)),
        key=lambda figures: (figures["truth_macro_recall"], figures["truth_ari"]),
    )
    return {
        "kmeans_macro_recall": hand["truth_macro_recall"],
        "kmeans_ari": hand["truth_ari"],
        "kmeans_best_macro_recall": best["truth_macro_recall"],
        "kmeans_best_ari": best["truth_ari"],
    }


def one(world: str, seed: int, size: int) -> dict[str, object]:
    raw, truth = bench_worlds.world_citizens(world, seed, size)
    method = bench_worlds.unsupervised(raw, truth, seed)
    # The method without each step: such customers named by their cluster.
    without = {
        step: bench_worlds.unsupervised(raw, truth, seed, **{parameter: False})
        for step, parameter in (
            ("single_change", "weigh_single_changes"),
            ("benefit_support", "weigh_benefit_support"),
        )
    }
    return {
        "world": world,
        "seed": seed,
        "method_macro_recall": method.figures["truth_macro_recall"],
        "method_ari": method.figures["truth_ari"],
        "method_stability": method.stability,
        **{
            f"without_{step}_{figure}": value
            for step, fit in without.items()
            for figure, value in (
                ("macro_recall", fit.figures["truth_macro_recall"]),
                ("ari", fit.figures["truth_ari"]),
                ("stability", fit.stability),
            )
        },
        **kmeans_peer(raw, truth, seed),
        **peers(raw, truth, seed, (1_000,)),
        "fit_seconds": method.fit_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS), choices=list(WORLDS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "peers.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = bench_worlds.collect(
        lambda world, seed: one(world, seed, args.size), args.worlds, args.seeds, args.out
    )
    table = (
        pd.DataFrame(results)
        .drop(columns=["seed", "fit_seconds"])
        .groupby("world")
        .agg(["min", "max"])
    )
    table = table.sort_values(("method_macro_recall", "min"))
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()

"""Issue 8's two peers on every world of the suite, beside the method without reviews.

Issue 8 measured two peers on population A, the only figures there are of how A is built:

* **without labels**, "a plain k-means (k = 8) named by two hand thresholds reached 0.91 /
  0.89" (macro recall / ARI);
* **with labels**, "a classifier given the true category of just 1,000 customers reached
  0.94-0.96 macro recall" (``bench_clarity.peers``).

A world is like A only where both peers read what they read on A. This script measures
both on the worlds of ``training.worlds`` (or ``--worlds``), beside the method fitted
without reviews (``ClusterSegmenter`` as ``bench_worlds.py`` fits it, with its stability
on a re-fit with another seed) and beside ``WeighedSegmenter``, the method with one step
more that is measured here and not shipped (a customer with one change named by the rest
of their behaviour; README, "Model quality on unseen worlds"). The k-means peer is
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

from models.segmenter import ClusterSegmenter  # noqa: E402
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


#: Features that count changes (or benefits, which change): not evidence of whether a
#: customer with one change leads an irregular life.
CHANGE_FEATURES = ("life_events", "changing_benefits", "benefits")
SUPPORT = bench_worlds.NAMES.index("needs_support")
#: A customer with one change is named irregular from this likeness on.
IRREGULAR_LIKENESS = 0.35
LIKENESS_MARGIN = 0.4


def irregular_likeness(
    changes: np.ndarray,
    supportive: np.ndarray,
    evidence: np.ndarray,
    *,
    anchor_rows: int = 10_000,
) -> np.ndarray | None:
    """How likely each row is to lead an irregular everyday life rather than a regular one
    (0-1), among rows not named needs support (``supportive``; their entries are 0).

    Seed 004's irregular customers go through changes, but a regular customer may move or
    change one benefit in a year too. So the changes alone settle only two kinds: customers
    with several (irregular) and customers with none (regular). A customer with exactly one
    change is weighed by how much the rest of their behaviour (``evidence``: features other
    than the changes) resembles the first kind or the second: a classifier of the two kinds
    gives each such row a likelihood ratio, and the share of the single-change rows that
    belong with the changing kind is estimated from the population itself (expectation-
    maximisation of a two-part mixture with those likelihoods), not assumed. Where one of
    the three kinds is (nearly) absent: None (the method names them as it does)."""
    from sklearn.linear_model import LogisticRegression

    calm = ~supportive & (changes == 0)
    several = ~supportive & (changes >= 2)
    single = ~supportive & (changes == 1)
    if min(calm.sum(), several.sum(), single.sum()) < 50:
        return None
    rng = np.random.default_rng(0)
    anchors = [
        rng.choice(rows, size=min(len(rows), anchor_rows), replace=False)
        for rows in (np.flatnonzero(calm), np.flatnonzero(several))
    ]
    kinds = np.concatenate([np.zeros(len(anchors[0])), np.ones(len(anchors[1]))])
    # Each kind weighs alike, so the classifier's odds are a likelihood ratio (no prior).
    balance = np.concatenate([np.full(len(rows), 0.5 / len(rows)) for rows in anchors])
    judge = LogisticRegression(max_iter=1_000).fit(
        evidence[np.concatenate(anchors)], kinds, sample_weight=balance * len(kinds)
    )
    like = np.clip(judge.predict_proba(evidence[single])[:, 1], 1e-6, 1 - 1e-6)
    share = 0.5
    for _ in range(200):
        posterior = share * like / (share * like + (1.0 - share) * (1.0 - like))
        if abs(posterior.mean() - share) < 1e-6:
            break
        share = float(posterior.mean())
    likeness = several.astype(np.float64)
    likeness[single] = share * like / (share * like + (1.0 - share) * (1.0 - like))
    return likeness


class WeighedSegmenter(ClusterSegmenter):
    """The method with one step more, measured here and not shipped: after the vote, each
    customer with exactly one change (a life event or a benefit that started or stopped)
    whom no review and no champion names, and not named needs support, is named irregular
    where ``irregular_likeness`` is ``IRREGULAR_LIKENESS`` or more, else regular. The
    shipped method names such a customer by their cluster, and the clusters are cut by the
    changes, so a regular customer who moved once is named irregular."""

    def _name(
        self,
        sample: np.ndarray,
        scaled: np.ndarray,
        reviewed: np.ndarray,
        naming: np.ndarray,
        champion: ClusterSegmenter | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        category, confidence = super()._name(sample, scaled, reviewed, naming, champion)
        if self.population != "citizens" or champion is not None or (naming >= 0).any():
            return category, confidence
        # The counts, back from the standardised features the fit built (rounded: whole).
        names = self.feature_names_
        features = scaled * self.feature_scale_ + self.feature_mean_
        changes = np.round(np.expm1(features[:, names.index("life_events")])) + np.round(
            features[:, names.index("changing_benefits")]
        )
        evidence = scaled[:, [name not in CHANGE_FEATURES for name in names]]
        likeness = irregular_likeness(changes, category == SUPPORT, evidence)
        if likeness is None:
            return category, confidence
        single = (changes == 1) & (category != SUPPORT)
        weighed = (likeness >= IRREGULAR_LIKENESS).astype(np.int64)
        sure = np.clip(np.abs(likeness - IRREGULAR_LIKENESS) / LIKENESS_MARGIN, 0.0, 1.0)
        return np.where(single, weighed, category), np.where(single, sure, confidence)


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
    weighed = bench_worlds.unsupervised(raw, truth, seed, WeighedSegmenter)
    return {
        "world": world,
        "seed": seed,
        "method_macro_recall": method.figures["truth_macro_recall"],
        "method_ari": method.figures["truth_ari"],
        "method_stability": method.stability,
        "weighed_macro_recall": weighed.figures["truth_macro_recall"],
        "weighed_ari": weighed.figures["truth_ari"],
        "weighed_stability": weighed.stability,
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

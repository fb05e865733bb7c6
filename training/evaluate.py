"""Quality measures of a trained segmenter and the gate that guards the `champion` alias."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score

from models.segmenter import ClusterSegmenter
from segmentation.features import build_features
from segmentation.taxonomy import CATEGORIES, Population

#: Threads for independent fits (the candidates, the stability refits).
CORES = max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class GateThresholds:
    """The explicit quality gate (README, "Model lifecycle")."""

    max_share_gap: float = 0.05
    max_profile_rel_error: float = 0.35
    min_stability_ari: float = 0.70
    min_macro_recall: float = 0.85


@dataclass
class GateResult:
    passed: bool
    reasons: list[str] = field(default_factory=list)


def silhouette(model: ClusterSegmenter, raw: np.ndarray, *, rows: int, seed: int) -> float:
    """Silhouette of the categories on a sample, in the model's standardised feature space."""
    rng = np.random.default_rng(seed)
    sample = raw[rng.choice(len(raw), size=min(rows, len(raw)), replace=False)]
    labels = model.predict_index(sample)
    if len(np.unique(labels)) < 2:
        return float("nan")
    scaled = (build_features(sample, model.population) - model.feature_mean_) / model.feature_scale_
    return float(silhouette_score(scaled, labels, random_state=seed))


def stability(
    model: ClusterSegmenter, raw: np.ndarray, *, seeds: list[int], rows: int, seed: int
) -> float:
    """Mean adjusted Rand index between the model and refits with other seeds."""
    rng = np.random.default_rng(seed)
    sample = raw[rng.choice(len(raw), size=min(rows, len(raw)), replace=False)]
    reference = model.predict_index(sample)
    size = len(model.categories_)

    def refit(other_seed: int) -> float:
        other = ClusterSegmenter(**{**model.get_params(), "random_state": other_seed}).fit(raw)
        return adjusted_rand(contingency(reference, other.predict_index(sample), size))

    # In threads, as the candidates are (training/train.py): the refits release the GIL.
    with ThreadPoolExecutor(max_workers=max(1, min(len(seeds), CORES))) as pool:
        scores = list(pool.map(refit, seeds))
    return float(np.mean(scores))


def contingency(first: np.ndarray, second: np.ndarray, size: int) -> np.ndarray:
    """(size, size) counts of label pairs; labels are integer codes, -1 (unknown) is dropped."""
    known = (first >= 0) & (second >= 0)
    pairs = first[known].astype(np.int64) * size + second[known]
    return np.bincount(pairs, minlength=size * size).reshape(size, size)


def adjusted_rand(table: np.ndarray) -> float:
    """The adjusted Rand index from a contingency table (Hubert and Arabie, 1985); the same
    number as scikit-learn's ``adjusted_rand_score`` (tested), computed in O(rows) instead
    of sorting every label."""
    table = table.astype(np.float64)
    n = table.sum()

    def pairs(x: np.ndarray | float) -> np.ndarray | float:
        return x * (x - 1) / 2

    index = float(np.sum(pairs(table)))
    rows = float(np.sum(pairs(table.sum(axis=1))))
    columns = float(np.sum(pairs(table.sum(axis=0))))
    expected = rows * columns / float(pairs(n)) if n > 1 else 0.0
    maximum = (rows + columns) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def agreement(predicted: np.ndarray, truth: np.ndarray, population: Population) -> dict[str, float]:
    """Agreement with a truth file: ARI, macro recall and recall per category.

    ``predicted`` and ``truth`` are category names or integer codes in the population's
    category order (codes are much faster at 7.2 M rows: names are hashed first)."""
    labels = [category.name for category in CATEGORIES[population]]
    truth_codes, predicted_codes = (
        np.asarray(x)
        if np.issubdtype(np.asarray(x).dtype, np.integer)
        else pd.Categorical(x, categories=labels).codes
        for x in (truth, predicted)
    )
    table = contingency(truth_codes, predicted_codes, len(labels))
    actual = table.sum(axis=1)
    per_category = np.divide(np.diag(table), actual, out=np.zeros(len(labels)), where=actual > 0)
    out = {
        "truth_ari": adjusted_rand(table),
        "truth_macro_recall": float(np.mean(per_category)),
    }
    out.update(
        {f"truth_recall_{name}": float(v) for name, v in zip(labels, per_category, strict=True)}
    )
    return out


def gate(
    population: Population,
    profiles: pd.DataFrame,
    stability_ari: float,
    truth: dict[str, float] | None,
    thresholds: GateThresholds,
) -> GateResult:
    """Check a challenger against the gate; every failed rule is named in ``reasons``."""
    reasons: list[str] = []
    for category in CATEGORIES[population]:
        row = {str(k): float(v) for k, v in profiles.astype(float).T[category.name].items()}
        gap = abs(row["share"] - category.share)
        if row["share"] == 0.0:
            reasons.append(f"{category.name}: no customers")
        elif gap > thresholds.max_share_gap:
            reasons.append(
                f"{category.name}: share {row['share']:.3f} is {gap:.3f} from the reference "
                f"{category.share:.2f} (max {thresholds.max_share_gap})"
            )
        for metric, reference in category.profile.items():
            error = abs(row[metric] - reference) / max(reference, 1.0)
            if error > thresholds.max_profile_rel_error:
                reasons.append(
                    f"{category.name}: {metric} {row[metric]:.2f} vs reference {reference} "
                    f"(error {error:.0%}, max {thresholds.max_profile_rel_error:.0%})"
                )
    if not stability_ari >= thresholds.min_stability_ari:
        reasons.append(f"stability ARI {stability_ari:.3f} below {thresholds.min_stability_ari}")
    if truth is not None and truth["truth_macro_recall"] < thresholds.min_macro_recall:
        reasons.append(
            f"macro recall against truth {truth['truth_macro_recall']:.3f} below "
            f"{thresholds.min_macro_recall}"
        )
    return GateResult(passed=not reasons, reasons=reasons)

"""Quality measures of a trained segmenter and the gate that guards the `champion` alias."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, recall_score, silhouette_score

from models.segmenter import ClusterSegmenter
from segmentation.features import build_features
from segmentation.taxonomy import CATEGORIES, Population


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
    scores = []
    for other_seed in seeds:
        other = ClusterSegmenter(**{**model.get_params(), "random_state": other_seed}).fit(raw)
        scores.append(adjusted_rand_score(reference, other.predict_index(sample)))
    return float(np.mean(scores))


def agreement(predicted: np.ndarray, truth: np.ndarray, population: Population) -> dict[str, float]:
    """Agreement with a truth file: ARI, macro recall and recall per category."""
    labels = [category.name for category in CATEGORIES[population]]
    per_category = recall_score(truth, predicted, labels=labels, average=None, zero_division=0)
    out = {
        "truth_ari": float(adjusted_rand_score(truth, predicted)),
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

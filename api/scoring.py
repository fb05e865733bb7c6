"""The one-row hot path: numpy from the fitted parameters, no DataFrame, no scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from api.schemas import ExplanationItem
from api.state import ActiveModel
from segmentation.explain import explain
from segmentation.features import NUMERIC_COLUMNS, build_features
from segmentation.life_situations import life_situations


@dataclass(frozen=True)
class Scored:
    category_index: int
    probabilities: np.ndarray
    features: np.ndarray


def raw_row(values: dict[str, object], model: ActiveModel) -> np.ndarray:
    """The numeric contract columns of one row, in contract order, as a (1, n) matrix."""
    return np.array(
        [[float(values[name]) for name in NUMERIC_COLUMNS[model.population]]],  # type: ignore[arg-type]
        dtype=np.float64,
    )


def score(raw: np.ndarray, model: ActiveModel) -> Scored:
    features = build_features(raw, model.population)
    probabilities = model.bundle.segmenter.predict_proba_features(features)[0]
    return Scored(int(np.argmax(probabilities)), probabilities, features[0])


def explanation(model: ActiveModel, scored: Scored, chosen: int) -> list[ExplanationItem]:
    order = np.argsort(-scored.probabilities)
    runner_up = int(order[0] if int(order[0]) != chosen else order[1])
    segmenter = model.bundle.segmenter
    reasons = explain(
        model.population,
        scored.features,
        chosen,
        runner_up,
        typical_model=segmenter.typical_features_,
        typical_natural=segmenter.typical_values_,
        scale=model.scale,
        categories=model.categories,
    )
    return [
        ExplanationItem(
            feature=r.feature,
            description=r.description,
            value=round(r.value, 3),
            typical_for_category=round(r.typical_chosen, 3),
            typical_for_runner_up=round(r.typical_runner_up, 3),
            runner_up=model.categories[runner_up],
            text=r.text,
        )
        for r in reasons
    ]


def tags(raw: np.ndarray, model: ActiveModel) -> list[str]:
    return life_situations(raw, model.population)[0]


def probabilities_by_name(model: ActiveModel, scored: Scored) -> dict[str, float]:
    return {
        name: round(float(p), 6)
        for name, p in zip(model.categories, scored.probabilities, strict=True)
    }

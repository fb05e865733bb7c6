"""The one-row hot path: numpy from the fitted parameters, no DataFrame, no scikit-learn.

A row is a 1-D array of the contract's numeric columns; the feature and tag code runs on
its scalars (see ``segmentation.features``), and the answer is built as plain dicts that
``api.responses.JSONBytes`` serialises (the response models document the shape; tests and
schemathesis check that the answers conform).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from api.state import ActiveModel
from segmentation.explain import explain
from segmentation.features import NUMERIC_COLUMNS, build_features
from segmentation.life_situations import row_life_situations
from segmentation.taxonomy import borderline_note, supportive_index


@dataclass(frozen=True)
class Scored:
    category_index: int
    probabilities: np.ndarray
    features: np.ndarray


def raw_row(values: dict[str, object], model: ActiveModel) -> np.ndarray:
    """The numeric contract columns of one row, in contract order, as a 1-D array."""
    return np.array(
        [float(values[name]) for name in NUMERIC_COLUMNS[model.population]],  # type: ignore[arg-type]
        dtype=np.float64,
    )


def stored_row(inputs: bytes) -> np.ndarray:
    """The stored numeric contract columns (little-endian float32) as a 1-D float64 array."""
    return np.frombuffer(inputs, dtype="<f4").astype(np.float64)


def score(raw: np.ndarray, model: ActiveModel) -> Scored:
    features = build_features(raw, model.population)
    probabilities = model.bundle.segmenter.probabilities(features, model.membership)
    return Scored(int(np.argmax(probabilities)), probabilities, features)


def explanation(model: ActiveModel, scored: Scored, chosen: int) -> list[dict[str, Any]]:
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
    runner_up_name = model.categories[runner_up]
    return [
        {
            "feature": r.feature,
            "description": r.description,
            "value": round(r.value, 3),
            "typical_for_category": round(r.typical_chosen, 3),
            "typical_for_runner_up": round(r.typical_runner_up, 3),
            "runner_up": runner_up_name,
            "text": r.text,
        }
        for r in reasons
    ]


def tags(raw: np.ndarray, model: ActiveModel) -> list[str]:
    return row_life_situations(raw, model.population)


def probabilities_by_name(model: ActiveModel, scored: Scored) -> dict[str, float]:
    return {
        name: round(p, 6)
        for name, p in zip(model.categories, scored.probabilities.tolist(), strict=True)
    }


def suggested_channel(model: ActiveModel, scored: Scored) -> tuple[str, str | None]:
    """The channel to suggest for a freshly scored row, and why when it is not the
    category's own (a borderline customer gets the more supportive one)."""
    chosen, moved = supportive_index(
        model.population, scored.probabilities.tolist(), model.categories
    )
    if not moved:
        return model.channels[scored.category_index], None
    note = borderline_note(
        model.population, model.categories[scored.category_index], model.categories[chosen]
    )
    return model.channels[chosen], note

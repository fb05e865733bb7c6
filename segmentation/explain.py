"""Explanations a case handler understands: which features decided the category, and the
customer's value beside the typical value of the chosen and the runner-up category."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation.features import FEATURES
from segmentation.taxonomy import Population


@dataclass(frozen=True)
class Reason:
    feature: str
    description: str
    value: float
    typical_chosen: float
    typical_runner_up: float
    text: str


def natural_units(features: np.ndarray, population: Population) -> np.ndarray:
    """Model features back in the units a person reads (counts, shares, years)."""
    out = np.array(features, dtype=np.float64, copy=True)
    for index, spec in enumerate(FEATURES[population]):
        if spec.unit == "log1p":
            out[..., index] = np.expm1(out[..., index])
    return out


def _format(value: float, unit: str) -> str:
    if unit == "share":
        return f"{value:.0%}"
    if unit == "flag":
        return "yes" if value >= 0.5 else "no"
    if abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def explain(
    population: Population,
    features: np.ndarray,
    chosen: int,
    runner_up: int,
    *,
    typical_model: np.ndarray,
    typical_natural: np.ndarray,
    scale: np.ndarray,
    categories: list[str],
    top: int = 3,
) -> list[Reason]:
    """The ``top`` features on which the customer is most clearly closer to the chosen
    category than to the runner-up (distances in standard deviations of the feature)."""
    specs = FEATURES[population]
    closer = (
        np.abs(features - typical_model[runner_up]) - np.abs(features - typical_model[chosen])
    ) / scale
    order = [int(i) for i in np.argsort(-closer) if closer[i] > 0][:top]
    if not order:  # a borderline customer: show the features where the categories differ most
        spread = np.abs(typical_model[chosen] - typical_model[runner_up]) / scale
        order = [int(i) for i in np.argsort(-spread)[:top]]
    value_natural = natural_units(features, population)
    chosen_name = categories[chosen].replace("_", "-")
    runner_name = categories[runner_up].replace("_", "-")
    reasons = []
    for index in order:
        spec = specs[index]
        value = float(value_natural[index])
        typical_c = float(typical_natural[chosen, index])
        typical_r = float(typical_natural[runner_up, index])
        text = (
            f"{_format(value, spec.unit)} {spec.description} — typical for {chosen_name}: "
            f"{_format(typical_c, spec.unit)}; for {runner_name}: {_format(typical_r, spec.unit)}"
        )
        reasons.append(Reason(spec.name, spec.description, value, typical_c, typical_r, text))
    return reasons

"""Explanations a case handler understands: which features decided the category, and the
customer's value beside the typical value of the chosen and the runner-up category."""

from __future__ import annotations

import functools
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


_LOGGED: dict[Population, np.ndarray] = {
    population: np.array([spec.unit == "log1p" for spec in specs])
    for population, specs in FEATURES.items()
}


def natural_units(
    features: np.ndarray, population: Population, columns: list[int] | None = None
) -> np.ndarray:
    """Model features back in the units a person reads (counts, shares, years).
    ``columns``: which features the last axis holds, if not all of them in order."""
    out = np.array(features, dtype=np.float64, copy=True)
    logged = _LOGGED[population] if columns is None else _LOGGED[population][columns]
    out[..., logged] = np.expm1(out[..., logged])
    return out


@functools.lru_cache(maxsize=8192)  # typical values repeat, and most customer values do
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
    ranked = np.argsort(-closer, kind="stable")[:top].tolist()
    order = [i for i in ranked if closer[i] > 0]  # sorted, so the positive ones come first
    if not order:  # a borderline customer: show the features where the categories differ most
        spread = np.abs(typical_model[chosen] - typical_model[runner_up]) / scale
        order = np.argsort(-spread, kind="stable")[:top].tolist()
    value_natural = natural_units(features[order], population, order).tolist()
    typical_c_all = typical_natural[chosen, order].tolist()
    typical_r_all = typical_natural[runner_up, order].tolist()
    chosen_name = categories[chosen].replace("_", "-")
    runner_name = categories[runner_up].replace("_", "-")
    reasons = []
    for position, index in enumerate(order):
        spec = specs[index]
        value = value_natural[position]
        typical_c = typical_c_all[position]
        typical_r = typical_r_all[position]
        text = (
            f"{_format(value, spec.unit)} {spec.description} — typical for {chosen_name}: "
            f"{_format(typical_c, spec.unit)}; for {runner_name}: {_format(typical_r, spec.unit)}"
        )
        reasons.append(Reason(spec.name, spec.description, value, typical_c, typical_r, text))
    return reasons

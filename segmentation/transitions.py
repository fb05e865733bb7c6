"""Movement between two periods: counts and rates between categories, overall and per
county, with the flow that matters most called out (irregular -> needs support: seed 004,
"risken att glida över i kategorin som behöver stöd"). Pure: built from the store's
counts (``SegmentStore.transition_counts``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from segmentation.taxonomy import Population, category_names

#: The row of newcomers and the column of leavers.
NEW = "new"
LEFT = "left"
#: The flow called out, per population.
WATCHED: dict[Population, tuple[str, str]] = {
    "citizens": ("irregular", "needs_support"),
    "employers": ("small", "medium_large"),
}


def _matrix(counts: Mapping[tuple[str, str], int], names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for origin in [*names, NEW]:
        total = sum(counts.get((origin, target), 0) for target in [*names, LEFT])
        for target in [*names, LEFT]:
            if origin == NEW and target == LEFT:
                continue
            n = counts.get((origin, target), 0)
            rows.append(
                {
                    "from": origin,
                    "to": target,
                    "customers": n,
                    "rate": n / total if total else 0.0,
                }
            )
    return rows


def transition_report(
    population: Population,
    before: dt.date,
    after: dt.date,
    counts: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """The matrix of counts and rates (share of the row's customers) between the
    categories of two periods, overall and per county."""
    names = category_names(population)
    overall: dict[tuple[str, str], int] = {}
    by_region: dict[str, dict[tuple[str, str], int]] = {}
    for row in counts:
        key = (row["before"] or NEW, row["after"] or LEFT)
        n = int(row["customers"])
        overall[key] = overall.get(key, 0) + n
        region = by_region.setdefault(str(row["region"]), {})
        region[key] = region.get(key, 0) + n
    origin, target = WATCHED[population]

    def watched(table: Mapping[tuple[str, str], int]) -> dict[str, Any]:
        total = sum(v for (a, _), v in table.items() if a == origin)
        n = table.get((origin, target), 0)
        return {"customers": n, "rate": n / total if total else 0.0, "of": total}

    return {
        "population": population,
        "from_period": before.isoformat(),
        "to_period": after.isoformat(),
        "categories": names,
        "matrix": _matrix(overall, names),
        "by_region": {region: _matrix(table, names) for region, table in sorted(by_region.items())},
        "watched": {
            "from": origin,
            "to": target,
            **watched(overall),
            "by_region": {region: watched(table) for region, table in sorted(by_region.items())},
        },
    }


def rate(report: Mapping[str, Any], origin: str, target: str) -> float:
    """One cell's rate of the overall matrix."""
    for cell in report["matrix"]:
        if cell["from"] == origin and cell["to"] == target:
            return float(cell["rate"])
    raise KeyError((origin, target))


def review_confusion(
    truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray, size: int
) -> np.ndarray:
    """P(model category | reviewed category), rows summing to 1, weighted by 1 / inclusion
    probability: how the model's errors look, estimated from the reviews. A category
    without reviews keeps the identity row (no correction for it)."""
    matrix = np.zeros((size, size))
    np.add.at(matrix, (truth, predicted), weights)
    return _rows_to_one(matrix)


def _rows_to_one(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (a row without any weight becomes the identity's)."""
    totals = matrix.sum(axis=1, keepdims=True)
    out: np.ndarray = np.where(
        totals > 0, matrix / np.where(totals > 0, totals, 1), np.eye(len(matrix))
    )
    return out


def confusion_metrics(confusion: np.ndarray, names: list[str]) -> dict[str, float]:
    """The confusion matrix as metrics ``review_confusion_<reviewed>__<model>``."""
    return {
        f"review_confusion_{names[t]}__{names[p]}": float(confusion[t, p])
        for t in range(len(names))
        for p in range(len(names))
    }


def corrected_matrix(
    report: Mapping[str, Any], before: np.ndarray, after: np.ndarray
) -> list[dict[str, Any]]:
    """The movement estimated from the observed one and the models' confusion matrices
    (``P(model category | true category)`` from reviews, one per period's model): observed
    counts = C1^T · true counts · C2, solved for the true counts (leavers and newcomers are
    observed exactly; negative estimates are set to zero). Errors of one person in two
    periods are taken as independent."""
    names = list(report["categories"])
    k = len(names)
    cells = {(c["from"], c["to"]): c["customers"] for c in report["matrix"]}
    observed = np.array(
        [[cells.get((a, b), 0) for b in [*names, LEFT]] for a in names], dtype=np.float64
    )
    newcomers = np.array([cells.get((NEW, b), 0) for b in names], dtype=np.float64)
    after_full = np.eye(k + 1)
    after_full[:k, :k] = after
    true = np.linalg.solve(before.T, observed) @ np.linalg.inv(after_full)
    true = np.clip(true, 0, None)
    new_true = np.clip(newcomers @ np.linalg.inv(after), 0, None)
    counts: dict[tuple[str, str], int] = {}
    for i, a in enumerate(names):
        for j, b in enumerate([*names, LEFT]):
            counts[(a, b)] = int(np.rint(true[i, j]))
    for j, b in enumerate(names):
        counts[(NEW, b)] = int(np.rint(new_true[j]))
    return _matrix(counts, names)


def soft_confusion(
    probabilities: np.ndarray, predicted: np.ndarray, names: list[str]
) -> dict[str, dict[str, float]]:
    """The model's expected errors on a set of customers, ``{true: {model: customers}}``:
    for true category t and model category m, the sum of P(truly t) (calibrated) over the
    customers the model put in m. Summed chunk by chunk as a period is scored
    (``merge_soft``)."""
    size = len(names)
    chosen = np.zeros((len(predicted), size))
    chosen[np.arange(len(predicted)), predicted] = 1.0
    sums = probabilities.T @ chosen
    return {t: {p: float(sums[i, j]) for j, p in enumerate(names)} for i, t in enumerate(names)}


def merge_soft(
    total: dict[str, dict[str, float]], part: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Two sums of ``soft_confusion`` added up."""
    merged = {t: dict(row) for t, row in total.items()}
    for t, row in part.items():
        target = merged.setdefault(t, {})
        for p, value in row.items():
            target[p] = target.get(p, 0.0) + value
    return merged


def period_confusion(soft: dict[str, dict[str, float]], names: list[str]) -> np.ndarray | None:
    """``P(model category | true category)`` of a period, from its ``soft_confusion``
    sums; None for a period scored before they were kept."""
    if not all(t in soft for t in names):
        return None
    return _rows_to_one(np.array([[soft[t].get(p, 0.0) for p in names] for t in names]))


def with_estimate(
    report: dict[str, Any], before: np.ndarray | None, after: np.ndarray | None
) -> dict[str, Any]:
    """The report with ``estimated``: the movement corrected for the models' errors on each
    period (``period_confusion``: the model's probabilities, calibrated on case handlers'
    reviews), when both periods have them; otherwise ``estimated`` is None."""
    if before is None or after is None:
        return {**report, "estimated": None}
    return {**report, "estimated": corrected_matrix(report, before, after)}


def with_period_estimate(
    report: dict[str, Any],
    before: dict[str, dict[str, float]],
    after: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """``with_estimate`` from the two periods' ``soft_confusion`` sums (as the catalog of
    periods keeps them)."""
    names = list(report["categories"])
    return with_estimate(report, period_confusion(before, names), period_confusion(after, names))

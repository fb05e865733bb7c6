"""Movement between two periods: counts and rates between categories, overall and per
county, with the flow that matters most called out (irregular -> needs support: seed 004,
"risken att glida över i kategorin som behöver stöd"). Pure: built from the store's
counts (``SegmentStore.transition_counts``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

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

"""Oversight of the model by the people who use it (issue 9): how often case handlers
override its category, per category, county and reason, month by month. A category or
county overridden much more often than the rest is where the model and the agency's
judgement part ways."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from segmentation.taxonomy import county_name

#: Reasons are free text: grouped by their first words, lower-cased.
REASON_CHARS = 40


def reason_group(reason: str) -> str:
    text = " ".join(reason.lower().split())
    return text[:REASON_CHARS] + ("…" if len(text) > REASON_CHARS else "")


def oversight_figures(
    events: Iterable[Mapping[str, Any]], customers: Mapping[str, int]
) -> dict[str, Any]:
    """Overrides per category (with the rate per 1,000 customers the model put in it),
    county, reason and month."""
    listed = list(events)
    by_category = Counter(e["category"] for e in listed)
    return {
        "overrides": len(listed),
        "by_category": [
            {
                "category": name,
                "overrides": by_category.get(name, 0),
                "customers": customers.get(name, 0),
                "per_1000": 1000 * by_category.get(name, 0) / customers[name]
                if customers.get(name)
                else 0.0,
            }
            for name in sorted(set(customers) | set(by_category))
        ],
        "by_county": [
            {"region": region, "county": county_name(region) if region else "", "overrides": n}
            for region, n in sorted(Counter(e["region"] or "" for e in listed).items())
        ],
        "by_reason": [
            {"reason": reason, "overrides": n}
            for reason, n in Counter(reason_group(e["reason"]) for e in listed).most_common(20)
        ],
        "by_month": [
            {"month": month, "overrides": n}
            for month, n in sorted(Counter(e["at"].strftime("%Y-%m") for e in listed).items())
        ],
    }

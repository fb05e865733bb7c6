"""Life-situation tags from the benefit mix and events: they decide what Mina sidor shows
first. Each tag is one readable rule over the contract's columns (listed in the README)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from data_contracts.schemas import CITIZEN_COLUMN_INDEX, EMPLOYER_COLUMN_INDEX
from segmentation.taxonomy import Population

_C = CITIZEN_COLUMN_INDEX
_E = EMPLOYER_COLUMN_INDEX


_MONTHS = tuple(i for name, i in _C.items() if name.startswith("benefit_months_"))

#: A rule reads the columns ``x[i]`` of a matrix (``raw.T``), or the scalars of one row.
Rule = Callable[[Any], Any]


def _months(x: Any, code: str) -> Any:
    return x[_C[f"benefit_months_{code}"]]


def _benefits_at_once(x: Any) -> Any:
    return sum(x[i] >= 6 for i in _MONTHS)


#: tag -> (rule, the rule in words)
CITIZEN_TAGS: dict[str, tuple[Rule, str]] = {
    "parental_leave": (
        lambda r: _months(r, "foraldrapenning") > 0,
        "föräldrapenning paid in at least one month",
    ),
    "sick_child_care": (
        lambda r: _months(r, "tillfallig_foraldrapenning") > 0,
        "tillfällig föräldrapenning (VAB) paid in at least one month",
    ),
    "sick_soon_well": (
        lambda r: (
            (_months(r, "sjukpenning") > 0)
            & (_months(r, "sjukpenning") < 12)
            & (_months(r, "sjukersattning") == 0)
            & (_months(r, "aktivitetsersattning") == 0)
        ),
        "sjukpenning for part of the year, without sjuk- or aktivitetsersättning",
    ),
    "long_term_illness": (
        lambda r: (_months(r, "sjukersattning") > 0) | (_months(r, "aktivitetsersattning") > 0),
        "sjukersättning or aktivitetsersättning paid",
    ),
    "between_jobs": (
        lambda r: _months(r, "aktivitetsstod") > 0,
        "aktivitetsstöd paid in at least one month",
    ),
    "single_parent": (
        lambda r: _months(r, "underhallsstod") > 0,
        "underhållsstöd paid in at least one month",
    ),
    "caring_for_someone": (
        lambda r: (_months(r, "omvardnadsbidrag") > 0) | (_months(r, "assistansersattning") > 0),
        "omvårdnadsbidrag or assistansersättning paid",
    ),
    "housing_support": (
        lambda r: _months(r, "bostadsbidrag") > 0,
        "bostadsbidrag paid in at least one month",
    ),
    "life_change": (
        lambda r: r[_C["life_events"]] > 0,
        "at least one registered life event (move, child, sickness, separation, ...)",
    ),
    "multi_benefit": (
        lambda r: _benefits_at_once(r) >= 3,
        "three or more benefits paid for at least six months each",
    ),
}

EMPLOYER_TAGS: dict[str, tuple[Rule, str]] = {
    "payroll_integrated": (
        lambda r: r[_E["payroll_integration"]] > 0,
        "submits through a payroll system / the income register",
    ),
    "paper_applications": (
        lambda r: r[_E["applications_paper"]] > r[_E["applications_electronic"]],
        "more applications on paper than electronically",
    ),
    "many_contacts_per_case": (
        lambda r: (
            (r[_E["contacts_phone"]] + r[_E["contacts_email"]] + r[_E["contacts_letter"]])
            > 3 * np.maximum(r[_E["cases"]], 1.0)
        ),
        "more than three contacts per case",
    ),
}

TAGS: dict[Population, dict[str, tuple[Rule, str]]] = {
    "citizens": CITIZEN_TAGS,
    "employers": EMPLOYER_TAGS,
}


def life_situations(raw: np.ndarray, population: Population) -> list[list[str]]:
    """The tags of each row of the numeric contract matrix, in a fixed order."""
    columns = np.atleast_2d(np.asarray(raw, dtype=np.float64)).T
    rules = TAGS[population]
    flags = np.column_stack([rule(columns) for rule, _ in rules.values()])
    names = list(rules)
    return [[names[j] for j in np.flatnonzero(row)] for row in flags]


def row_life_situations(row: np.ndarray, population: Population) -> list[str]:
    """The tags of one row (a 1-D array in contract order): the same rules on scalars."""
    values = np.asarray(row, dtype=np.float64).tolist()  # floats: the rules run on scalars
    return [name for name, (rule, _) in TAGS[population].items() if rule(values)]

"""A fairness report per model version (issue 9; EU AI Act Annex III: benefit decisions):
how each group's customers are categorised and routed, by age band, legal sex and county.
Group attributes are never features of the model: this is an audit of its outcomes.

Routing to a more personal channel (guided or personal service) is the favourable outcome:
for each attribute the report gives every group's rate of it and that rate divided by the
most favoured group's; a ratio below 0.8 (the four-fifths rule) is flagged. Computed with
fairlearn's ``MetricFrame``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from fairlearn.metrics import MetricFrame

from segmentation.taxonomy import CATEGORIES, Population, county_name

#: Below this share of the most favoured group's rate, a group is flagged.
RATIO_FLOOR = 0.8
AGE_BANDS = (0, 30, 50, 65, 200)
AGE_LABELS = ("under 30", "30-49", "50-64", "65 and over")
#: Channels that are not self-service only.
LESS_PERSONAL = {"digital_self_service", "e_service_integration"}


def age_band(birth_year: Sequence[int] | np.ndarray, period_year: int) -> pd.Categorical:
    ages = period_year - np.asarray(birth_year, dtype=np.int64)
    return pd.cut(ages, AGE_BANDS, right=False, labels=AGE_LABELS)


SEXES = ("woman", "man")


def _sex_codes(personal_numbers: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """1 for men, 0 for women: the identity number's second-to-last digit, odd for men
    (validated numbers: twelve digits). A column of Arrow strings is read as it is (through
    an object array, 7.2 M numbers took 1.7 s)."""
    numbers = (
        pa.array(personal_numbers, pa.string())
        if isinstance(personal_numbers, pd.Series)
        else pa.array(np.asarray(personal_numbers, dtype=object), pa.string())
    )
    digits = pc.cast(pc.utf8_slice_codeunits(numbers, -2, -1), pa.int8()).to_numpy()
    return (digits % 2).astype(np.int8)


def legal_sex(personal_numbers: Sequence[str] | np.ndarray) -> np.ndarray:
    """From the identity number's second-to-last digit: odd for men, even for women."""
    return np.asarray(SEXES)[_sex_codes(personal_numbers)]


def sensitive_frame(population: Population, accepted: pd.DataFrame) -> pd.DataFrame:
    """The audited attributes of validated contract rows (citizens: age band, legal sex and
    county; employers: county)."""
    regions = pd.Categorical(accepted["region"])
    counties = regions.rename_categories({r: county_name(str(r)) for r in regions.categories})
    if population != "citizens":
        return pd.DataFrame({"county": counties})
    year = int(pd.to_datetime(accepted["period_end"]).dt.year.max())
    return pd.DataFrame(
        {
            "age_band": age_band(accepted["birth_year"].to_numpy(), year),
            "legal_sex": pd.Categorical.from_codes(
                _sex_codes(accepted["customer_id"]), pd.Index(SEXES)
            ),
            "county": counties,
        }
    )


def _rate(of: int) -> Any:
    """The (weighted) share of outcomes equal to ``of``."""

    def rate(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
        total = float(np.sum(sample_weight))
        hits = float(np.sum(np.asarray(sample_weight)[np.asarray(y_pred) == of]))
        return hits / total if total else 0.0

    return rate


def _outcome_counts(
    groups: pd.Series, codes: np.ndarray, size: int, personal: np.ndarray
) -> pd.DataFrame:
    """One row per (group, category, more personal channel) with its number of customers.

    MetricFrame splits and stacks its arrays per group: 7.2 M rows of strings took minutes.
    Counted as small integer codes first (a bincount), the same rates take a second."""
    group = pd.Categorical(groups)
    if (group.codes < 0).any():  # no group (an age outside the bands): counted, as unknown
        group = group.add_categories(["unknown"]).fillna("unknown")
    key = (group.codes.astype(np.int64) * size + codes) * 2 + personal
    counts = np.bincount(key, minlength=len(group.categories) * size * 2)
    present = np.flatnonzero(counts)
    return pd.DataFrame(
        {
            "group": np.asarray(group.categories.astype(str))[present // (size * 2)],
            "code": (present // 2) % size,
            "more": present % 2,
            "n": counts[present].astype(np.float64),
        }
    )


def _categorical(values: Sequence[str] | np.ndarray | pd.Categorical) -> pd.Categorical[Any]:
    if isinstance(values, pd.Categorical):
        return values
    return pd.Categorical(pd.Series(np.asarray(values, dtype=object)))


def fairness_report(
    population: Population,
    categories: Sequence[str] | np.ndarray | pd.Categorical,
    channels: Sequence[str] | np.ndarray | pd.Categorical,
    groups: pd.DataFrame,
) -> dict[str, Any]:
    """Per attribute: each group's size, category rates, more-personal-channel rate and
    its ratio to the most favoured group's; the flags of ratios below ``RATIO_FLOOR``.

    ``categories`` and ``channels`` are names per customer (a ``pd.Categorical`` of them is
    cheapest at full size)."""
    names = [c.name for c in CATEGORIES[population]]
    codes = _categorical(categories).set_categories(names).codes.astype(np.int64)
    routed = _categorical(channels)
    less = np.isin(np.asarray(routed.categories, dtype=object), list(LESS_PERSONAL))
    personal = (~less[routed.codes]).astype(np.int64)
    report: dict[str, Any] = {"population": population, "ratio_floor": RATIO_FLOOR, "by": {}}
    flags: list[str] = []
    for attribute in groups.columns:
        combined = _outcome_counts(groups[attribute], codes, len(names), personal)
        features = combined["group"].to_numpy()
        weights = {"sample_weight": combined["n"].to_numpy()}
        by_category = MetricFrame(
            metrics={name: _rate(code) for code, name in enumerate(names)},
            y_true=combined["code"].to_numpy(),
            y_pred=combined["code"].to_numpy(),
            sensitive_features=features,
            sample_params={name: weights for name in names},
        ).by_group
        by_channel = MetricFrame(
            metrics={"more_personal": _rate(1)},
            y_true=combined["more"].to_numpy(),
            y_pred=combined["more"].to_numpy(),
            sensitive_features=features,
            sample_params={"more_personal": weights},
        ).by_group["more_personal"]
        best = float(by_channel.max()) or 1.0
        sizes = combined.groupby("group")["n"].sum()
        rows = {}
        for group in by_channel.index:
            ratio = float(by_channel[group]) / best
            rows[str(group)] = {
                "customers": int(sizes.get(group, 0)),
                **{f"rate_{name}": round(float(by_category.loc[group, name]), 4) for name in names},
                "rate_more_personal": round(float(by_channel[group]), 4),
                "ratio_to_most_favoured": round(ratio, 4),
            }
            if ratio < RATIO_FLOOR:  # English, for logs and MLflow (``read_flag``)
                flags.append(f"{attribute}={group}: ratio {ratio:.2f}")
        report["by"][attribute] = rows
        report[f"min_ratio_{attribute}"] = round(
            min(row["ratio_to_most_favoured"] for row in rows.values()), 4
        )
    report["flags"] = flags
    return report


_RATIO_FLAG = re.compile(r"(?P<attribute>\w+)=(?P<group>.+): ratio (?P<ratio>\d+(?:\.\d+)?)")


def read_flag(flag: str) -> tuple[str, str, float] | None:
    """One of ``fairness_report``'s flags read back (the pages say it in Swedish):
    ``(attribute, group, ratio)``; None for any other text."""
    found = _RATIO_FLAG.fullmatch(flag.strip())
    if found is None:
        return None
    return found["attribute"], found["group"], float(found["ratio"])

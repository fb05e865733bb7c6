"""A fairness report per model version (issue 9; EU AI Act Annex III: benefit decisions):
how each group's customers are categorised and routed, by age band, legal sex and county.
Group attributes are never features of the model: this is an audit of its outcomes.

Routing to a more personal channel (guided or personal service) is the favourable outcome:
for each attribute the report gives every group's rate of it and that rate divided by the
most favoured group's; a ratio below 0.8 (the four-fifths rule) is flagged. Computed with
fairlearn's ``MetricFrame``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from segmentation.taxonomy import CATEGORIES, Population, county_name

#: Below this share of the most favoured group's rate, a group is flagged.
RATIO_FLOOR = 0.8
AGE_BANDS = (0, 30, 50, 65, 200)
AGE_LABELS = ("under 30", "30-49", "50-64", "65 and over")
#: Channels that are not self-service only.
LESS_PERSONAL = {"digital_self_service", "e_service_integration"}


def age_band(birth_year: Sequence[int] | np.ndarray, period_year: int) -> np.ndarray:
    ages = period_year - np.asarray(birth_year, dtype=np.int64)
    return np.asarray(pd.cut(ages, AGE_BANDS, right=False, labels=AGE_LABELS).astype(str))


def legal_sex(personal_numbers: Sequence[str] | np.ndarray) -> np.ndarray:
    """From the identity number's second-to-last digit: odd for men, even for women."""
    digits = np.array([int(str(number)[-2]) for number in personal_numbers])
    return np.where(digits % 2 == 1, "man", "woman")


def sensitive_frame(population: Population, accepted: pd.DataFrame) -> pd.DataFrame:
    """The audited attributes of validated contract rows (citizens: age band, legal sex and
    county; employers: county)."""
    counties = accepted["region"].astype(str).map(county_name).to_numpy()
    if population != "citizens":
        return pd.DataFrame({"county": counties})
    year = int(pd.to_datetime(accepted["period_end"]).dt.year.max())
    return pd.DataFrame(
        {
            "age_band": age_band(accepted["birth_year"].to_numpy(), year),
            "legal_sex": legal_sex(accepted["customer_id"].astype(str).to_numpy()),
            "county": counties,
        }
    )


def _rate(of: str) -> Any:
    def rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.mean(np.asarray(y_pred) == of)) if len(y_pred) else 0.0

    return rate


def fairness_report(
    population: Population, categories: np.ndarray, channels: np.ndarray, groups: pd.DataFrame
) -> dict[str, Any]:
    """Per attribute: each group's size, category rates, more-personal-channel rate and
    its ratio to the most favoured group's; the flags of ratios below ``RATIO_FLOOR``."""
    names = [c.name for c in CATEGORIES[population]]
    personal = np.where(np.isin(channels, list(LESS_PERSONAL)), "less", "more")
    report: dict[str, Any] = {"population": population, "ratio_floor": RATIO_FLOOR, "by": {}}
    flags: list[str] = []
    for attribute in groups.columns:
        features = groups[attribute].to_numpy()
        by_category = MetricFrame(
            metrics={name: _rate(name) for name in names},
            y_true=categories,
            y_pred=categories,
            sensitive_features=features,
        ).by_group
        by_channel = MetricFrame(
            metrics={"more_personal": _rate("more")},
            y_true=personal,
            y_pred=personal,
            sensitive_features=features,
        ).by_group["more_personal"]
        best = float(by_channel.max()) or 1.0
        sizes = pd.Series(features).value_counts()
        rows = {}
        for group in by_channel.index:
            ratio = float(by_channel[group]) / best
            rows[str(group)] = {
                "customers": int(sizes.get(group, 0)),
                **{f"rate_{name}": round(float(by_category.loc[group, name]), 4) for name in names},
                "rate_more_personal": round(float(by_channel[group]), 4),
                "ratio_to_most_favoured": round(ratio, 4),
            }
            if ratio < RATIO_FLOOR:
                flags.append(f"{attribute}={group}: ratio {ratio:.2f}")
        report["by"][attribute] = rows
        report[f"min_ratio_{attribute}"] = round(
            min(row["ratio_to_most_favoured"] for row in rows.values()), 4
        )
    report["flags"] = flags
    return report

"""Model features from the contract columns: behaviour only, never birth year or region.

The same functions serve training, batch scoring and the API's one-row hot path, so they
work on a float matrix of the contract's numeric columns in contract order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_contracts.schemas import (
    BENEFIT_CODES,
    CITIZEN_NUMERIC_COLUMNS,
    EMPLOYER_NUMERIC_COLUMNS,
)
from segmentation.taxonomy import Population

#: Benefits grouped by the everyday life they tell of; months are summed within a group.
BENEFIT_GROUPS: dict[str, tuple[str, ...]] = {
    "family": ("barnbidrag", "foraldrapenning", "tillfallig_foraldrapenning", "underhallsstod"),
    "sickness": ("sjukpenning",),
    "long_term_disability": ("sjukersattning", "aktivitetsersattning"),
    "disability_support": ("assistansersattning", "merkostnadsersattning", "omvardnadsbidrag"),
    "labour_market": ("aktivitetsstod",),
    "housing": ("bostadsbidrag",),
    "dental": ("tandvardsstod",),
}


@dataclass(frozen=True)
class FeatureSpec:
    """A feature's name and how a case handler reads it."""

    name: str
    description: str
    #: How to turn the (log-scaled) feature back into the customer's own number, if at all.
    unit: str


CITIZEN_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("contacts_per_year", "contacts a year", "log1p"),
    FeatureSpec("personal_contact_share", "share of contacts by phone or at an office", "share"),
    FeatureSpec("handling_minutes", "minutes of active handling", "log1p"),
    FeatureSpec("applications", "applications in the year", "log1p"),
    FeatureSpec(
        "assisted_application_share", "share of applications on paper, orally or by proxy", "share"
    ),
    FeatureSpec("portal_logins", "Mina sidor log-ins", "log1p"),
    FeatureSpec("life_events", "registered life events (move, child, sickness, ...)", "log1p"),
    FeatureSpec("reconsiderations_and_recovery", "reconsiderations and recovery claims", "log1p"),
    FeatureSpec("benefits", "benefits paid during the year", "count"),
    FeatureSpec("changing_benefits", "benefits that started or stopped during the year", "count"),
    *(
        FeatureSpec(
            f"{group}_benefit_years", f"years of {group.replace('_', ' ')} benefits", "years"
        )
        for group in BENEFIT_GROUPS
    ),
)

EMPLOYER_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("employees", "employees", "log1p"),
    FeatureSpec("cases", "employer cases in the year", "log1p"),
    FeatureSpec("contacts_per_year", "contacts a year", "log1p"),
    FeatureSpec("contacts_per_case", "contacts per case", "ratio"),
    FeatureSpec(
        "electronic_application_share", "share of applications made electronically", "share"
    ),
    FeatureSpec("payroll_integration", "submits through a payroll system", "flag"),
    FeatureSpec("handling_minutes_per_case", "minutes of handling per case", "log1p"),
)

FEATURES: dict[Population, tuple[FeatureSpec, ...]] = {
    "citizens": CITIZEN_FEATURES,
    "employers": EMPLOYER_FEATURES,
}
NUMERIC_COLUMNS: dict[Population, tuple[str, ...]] = {
    "citizens": CITIZEN_NUMERIC_COLUMNS,
    "employers": EMPLOYER_NUMERIC_COLUMNS,
}
#: Benefits paid only on scattered days by nature; a part-year payment of these tells of no
#: change in life (VAB is paid on the days a child is sick).
SPORADIC_BENEFITS: tuple[str, ...] = ("tillfallig_foraldrapenning",)
_STEADY = np.array([code not in SPORADIC_BENEFITS for code in BENEFIT_CODES])

_CIT = {name: i for i, name in enumerate(CITIZEN_NUMERIC_COLUMNS)}
_EMP = {name: i for i, name in enumerate(EMPLOYER_NUMERIC_COLUMNS)}


def feature_names(population: Population) -> list[str]:
    return [spec.name for spec in FEATURES[population]]


def numeric_matrix(frame: pd.DataFrame, population: Population) -> np.ndarray:
    """The contract's numeric columns of ``frame`` as a float64 matrix in contract order."""
    return frame.loc[:, list(NUMERIC_COLUMNS[population])].to_numpy(dtype=np.float64)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    return np.divide(part, whole, out=np.zeros_like(part), where=whole > 0)


def _changing(months: np.ndarray) -> np.ndarray:
    """Benefits that started or stopped during the year (part-year, not sporadic by nature)."""
    return (months > 0) & (months < 12) & _STEADY


def citizen_features(raw: np.ndarray) -> np.ndarray:
    """Features of citizens from their numeric contract columns (rows x CITIZEN_NUMERIC_COLUMNS)."""
    c = _CIT
    contacts = raw[
        :, [c["contacts_phone"], c["contacts_office"], c["contacts_digital"], c["contacts_letter"]]
    ].sum(axis=1)
    personal = raw[:, c["contacts_phone"]] + raw[:, c["contacts_office"]]
    applications = raw[
        :,
        [
            c["applications_online"],
            c["applications_paper"],
            c["applications_oral"],
            c["applications_by_proxy"],
        ],
    ].sum(axis=1)
    assisted = applications - raw[:, c["applications_online"]]
    months = raw[:, [c[f"benefit_months_{code}"] for code in BENEFIT_CODES]]
    groups = [
        months[:, [BENEFIT_CODES.index(code) for code in codes]].sum(axis=1) / 12.0
        for codes in BENEFIT_GROUPS.values()
    ]
    columns = [
        np.log1p(contacts),
        _share(personal, contacts),
        np.log1p(raw[:, c["handling_minutes"]]),
        np.log1p(applications),
        _share(assisted, applications),
        np.log1p(raw[:, c["portal_logins"]]),
        np.log1p(raw[:, c["life_events"]]),
        np.log1p(raw[:, c["reconsiderations"]] + raw[:, c["recovery_claims"]]),
        (months > 0).sum(axis=1).astype(np.float64),
        _changing(months).sum(axis=1).astype(np.float64),
        *groups,
    ]
    return np.column_stack(columns)


def employer_features(raw: np.ndarray) -> np.ndarray:
    """Features of employers from their numeric contract columns."""
    e = _EMP
    contacts = raw[:, [e["contacts_phone"], e["contacts_email"], e["contacts_letter"]]].sum(axis=1)
    cases = raw[:, e["cases"]]
    applications = raw[:, e["applications_electronic"]] + raw[:, e["applications_paper"]]
    columns = [
        np.log1p(raw[:, e["employees"]]),
        np.log1p(cases),
        np.log1p(contacts),
        np.log1p(_share(contacts, cases)),
        _share(raw[:, e["applications_electronic"]], applications),
        raw[:, e["payroll_integration"]],
        np.log1p(_share(raw[:, e["handling_minutes"]], cases)),
    ]
    return np.column_stack(columns)


def build_features(raw: np.ndarray, population: Population) -> np.ndarray:
    """Features for a population from its numeric contract matrix."""
    if population == "citizens":
        return citizen_features(raw)
    return employer_features(raw)


def raw_profile_metrics(raw: np.ndarray, population: Population) -> dict[str, np.ndarray]:
    """Per-row behaviour in the reference table's units (for naming clusters and reports)."""
    if population == "citizens":
        c = _CIT
        contacts = raw[
            :,
            [
                c["contacts_phone"],
                c["contacts_office"],
                c["contacts_digital"],
                c["contacts_letter"],
            ],
        ].sum(axis=1)
        months = raw[:, [c[f"benefit_months_{code}"] for code in BENEFIT_CODES]]
        changing = _changing(months).any(axis=1)
        return {
            "contacts_per_year": contacts,
            "handling_minutes": raw[:, c["handling_minutes"]],
            "life_change_rate": ((raw[:, c["life_events"]] > 0) | changing).astype(np.float64),
            "concurrent_benefits": (months > 0).sum(axis=1).astype(np.float64),
        }
    e = _EMP
    return {"share_under_20_staff": (raw[:, e["employees"]] < 20).astype(np.float64)}

"""Small factories for contract rows."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from data_contracts.identifiers import luhn_check_digit
from data_contracts.schemas import BENEFIT_COLUMNS

VALID_PERSONAL_NUMBER = "198112189876"  # Skatteverket's example 811218-9876
VALID_ORG_NUMBER = "5560360793"
_serials = itertools.count(1)


def _luhn(body: str) -> str:
    digits = np.array([[int(d) for d in body]], dtype=np.int64)
    return body + str(int(luhn_check_digit(digits)[0]))


def personal_number() -> str:
    """A fresh valid personal identity number (born 1981-12-18, serials 001-998): a table
    holds each customer once, so rows made together need ids of their own."""
    serial = next(_serials) % 998 + 1
    return "19" + _luhn(f"811218{serial:03d}")


def organisation_number() -> str:
    """A fresh valid organisation number (55 6 ...)."""
    return _luhn(f"556{next(_serials) % 1_000_000:06d}")


def citizen_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "customer_id": personal_number(),
        "period_end": "2025-12-31",
        "birth_year": 1981,
        "region": "01",
        "contacts_phone": 0,
        "contacts_office": 0,
        "contacts_digital": 0,
        "contacts_letter": 0,
        "applications_online": 1,
        "applications_paper": 0,
        "applications_oral": 0,
        "applications_by_proxy": 0,
        "handling_minutes": 20.0,
        "portal_logins": 4,
        "life_events": 0,
        "reconsiderations": 0,
        "recovery_claims": 0,
        **{column: 0 for column in BENEFIT_COLUMNS},
    }
    row["benefit_months_barnbidrag"] = 12
    row.update(overrides)
    return row


def employer_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "org_number": organisation_number(),
        "period_end": "2025-12-31",
        "region": "14",
        "employees": 5,
        "cases": 1,
        "contacts_phone": 2,
        "contacts_email": 1,
        "contacts_letter": 0,
        "applications_electronic": 0,
        "applications_paper": 1,
        "handling_minutes": 80.0,
        "payroll_integration": False,
    }
    row.update(overrides)
    return row


def needs_support_row(**overrides: Any) -> dict[str, Any]:
    """Several long-running benefits at once and many contacts, in person."""
    return citizen_row(
        contacts_phone=5,
        contacts_office=3,
        contacts_letter=1,
        applications_online=1,
        applications_paper=2,
        applications_by_proxy=1,
        handling_minutes=45.0,
        portal_logins=1,
        reconsiderations=1,
        benefit_months_sjukersattning=12,
        benefit_months_bostadsbidrag=12,
        benefit_months_merkostnadsersattning=12,
        **overrides,
    )


def irregular_row(**overrides: Any) -> dict[str, Any]:
    """Between jobs: part-year activity support after a registered change."""
    return citizen_row(
        contacts_phone=1,
        contacts_digital=1,
        applications_online=2,
        handling_minutes=30.0,
        portal_logins=12,
        life_events=1,
        benefit_months_barnbidrag=0,
        benefit_months_aktivitetsstod=6,
        **overrides,
    )


def keep_indicator_month(
    store: Any, population_dir: Path, small_population: Path, folder: Path, month: str, seed: int
) -> dict[str, Any]:
    """The cases, calls and survey answers of ``small_population``'s customers (their true
    categories from ``population_dir``) written to ``folder``, and ``month``'s indicators
    computed from them and kept in ``store``, as `segmentation indicators` does: the report."""
    import pandas as pd

    from training.indicators import compute
    from training.operations import operations

    tables = {}
    for population in ("citizens", "employers"):
        frame = pd.read_parquet(small_population / f"{population}.parquet")
        truth = pd.read_parquet(population_dir / f"{population}_truth.parquet").head(len(frame))
        tables[population] = (frame, truth)
    for name, table in operations(tables["citizens"], tables["employers"], seed=seed).items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    run = compute(
        folder,
        month,
        store,
        timezone="Europe/Stockholm",
        hours_per_fte=1_556.0,
        answer_within_seconds=60.0,
    )
    store.save_indicators(month, run.report)
    return run.report

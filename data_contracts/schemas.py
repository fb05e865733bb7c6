"""The input tables of SPEC §2 as pandera models, and their version."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from data_contracts.identifiers import organisation_number_valid, personal_number_valid
from data_contracts.populations import POPULATIONS as POPULATIONS
from data_contracts.populations import Population as Population

#: Recorded with every trained model and every scored row; bump on any change of the rules.
CONTRACT_VERSION = "1.0.0"


BENEFIT_CODES: tuple[str, ...] = (
    "aktivitetsersattning",
    "aktivitetsstod",
    "assistansersattning",
    "barnbidrag",
    "bostadsbidrag",
    "foraldrapenning",
    "merkostnadsersattning",
    "omvardnadsbidrag",
    "sjukersattning",
    "sjukpenning",
    "tandvardsstod",
    "tillfallig_foraldrapenning",
    "underhallsstod",
)
BENEFIT_COLUMNS: tuple[str, ...] = tuple(f"benefit_months_{code}" for code in BENEFIT_CODES)

#: Region: county code, two digits 01–25 (SPEC §2).
REGION_CODES: tuple[str, ...] = tuple(f"{n:02d}" for n in range(1, 26))

#: The contract's bounds, read by the pandera models below and by the API's request models.
MIN_BIRTH_YEAR = 1900
MONTHS_IN_PERIOD = 12
#: A count or minutes above these is an error, far above any real year (keeps sums finite).
MAX_COUNT = 1_000_000
MAX_MINUTES = 10_000_000.0

CITIZEN_COUNT_COLUMNS: tuple[str, ...] = (
    "contacts_phone",
    "contacts_office",
    "contacts_digital",
    "contacts_letter",
    "applications_online",
    "applications_paper",
    "applications_oral",
    "applications_by_proxy",
    "portal_logins",
    "life_events",
    "reconsiderations",
    "recovery_claims",
)
#: The numeric behaviour of a citizen row, in a fixed order (model input, stored per customer).
CITIZEN_NUMERIC_COLUMNS: tuple[str, ...] = (
    *CITIZEN_COUNT_COLUMNS,
    "handling_minutes",
    *BENEFIT_COLUMNS,
)
EMPLOYER_COUNT_COLUMNS: tuple[str, ...] = (
    "employees",
    "cases",
    "contacts_phone",
    "contacts_email",
    "contacts_letter",
    "applications_electronic",
    "applications_paper",
)
EMPLOYER_NUMERIC_COLUMNS: tuple[str, ...] = (
    *EMPLOYER_COUNT_COLUMNS,
    "handling_minutes",
    "payroll_integration",
)
#: Where each numeric column sits in a model's input matrix (columns in the order above).
CITIZEN_COLUMN_INDEX: dict[str, int] = {n: i for i, n in enumerate(CITIZEN_NUMERIC_COLUMNS)}
EMPLOYER_COLUMN_INDEX: dict[str, int] = {n: i for i, n in enumerate(EMPLOYER_NUMERIC_COLUMNS)}


def _count() -> Any:
    """A non-negative count."""
    return pa.Field(ge=0, le=MAX_COUNT, coerce=True, nullable=False)


def _months() -> Any:
    """Months with a payment in the 12-month period."""
    return pa.Field(ge=0, le=MONTHS_IN_PERIOD, coerce=True, nullable=False)


def _period_end_checks(frame: pd.DataFrame) -> pd.Series:
    year = pd.to_datetime(frame["period_end"]).dt.year
    return (frame["birth_year"] >= MIN_BIRTH_YEAR) & (frame["birth_year"] <= year)


class _PeriodRow(pa.DataFrameModel):
    """The columns both tables have: the period, the county and the handling time."""

    period_end: Series[pa.DateTime] = pa.Field(nullable=False, coerce=True)
    region: Series[str] = pa.Field(isin=list(REGION_CODES), nullable=False)
    handling_minutes: Series[float] = pa.Field(ge=0, le=MAX_MINUTES, coerce=True, nullable=False)

    @pa.check("handling_minutes", name="finite")
    @classmethod
    def _finite_minutes(cls, values: Series[float]) -> Series[bool]:
        return values < float("inf")  # type: ignore[return-value]

    class Config:
        strict = False  # extra columns are allowed and ignored (SPEC §2)
        ordered = False


class CitizenContract(_PeriodRow):
    """One citizen per 12-month reference period (`citizens.parquet`)."""

    customer_id: Series[str] = pa.Field(nullable=False, coerce=False)
    birth_year: Series[int] = pa.Field(ge=MIN_BIRTH_YEAR, coerce=True, nullable=False)
    contacts_phone: Series[int] = _count()
    contacts_office: Series[int] = _count()
    contacts_digital: Series[int] = _count()
    contacts_letter: Series[int] = _count()
    applications_online: Series[int] = _count()
    applications_paper: Series[int] = _count()
    applications_oral: Series[int] = _count()
    applications_by_proxy: Series[int] = _count()
    portal_logins: Series[int] = _count()
    life_events: Series[int] = _count()
    reconsiderations: Series[int] = _count()
    recovery_claims: Series[int] = _count()
    benefit_months_aktivitetsersattning: Series[int] = _months()
    benefit_months_aktivitetsstod: Series[int] = _months()
    benefit_months_assistansersattning: Series[int] = _months()
    benefit_months_barnbidrag: Series[int] = _months()
    benefit_months_bostadsbidrag: Series[int] = _months()
    benefit_months_foraldrapenning: Series[int] = _months()
    benefit_months_merkostnadsersattning: Series[int] = _months()
    benefit_months_omvardnadsbidrag: Series[int] = _months()
    benefit_months_sjukersattning: Series[int] = _months()
    benefit_months_sjukpenning: Series[int] = _months()
    benefit_months_tandvardsstod: Series[int] = _months()
    benefit_months_tillfallig_foraldrapenning: Series[int] = _months()
    benefit_months_underhallsstod: Series[int] = _months()

    @pa.check("customer_id", name="personal_identity_number")
    @classmethod
    def _valid_personal_number(cls, values: Series[str]) -> Series[bool]:
        return pd.Series(personal_number_valid(values), index=values.index)  # type: ignore[return-value]

    @pa.dataframe_check(name="birth_year_not_after_period_end")
    @classmethod
    def _birth_before_period(cls, frame: pd.DataFrame) -> Series[bool]:
        return _period_end_checks(frame)  # type: ignore[return-value]


class EmployerContract(_PeriodRow):
    """One employer per 12-month reference period (`employers.parquet`)."""

    org_number: Series[str] = pa.Field(nullable=False, coerce=False)
    employees: Series[int] = _count()
    cases: Series[int] = _count()
    contacts_phone: Series[int] = _count()
    contacts_email: Series[int] = _count()
    contacts_letter: Series[int] = _count()
    applications_electronic: Series[int] = _count()
    applications_paper: Series[int] = _count()
    payroll_integration: Series[bool] = pa.Field(nullable=False, coerce=True)

    @pa.check("org_number", name="organisation_number")
    @classmethod
    def _valid_org_number(cls, values: Series[str]) -> Series[bool]:
        return pd.Series(organisation_number_valid(values), index=values.index)  # type: ignore[return-value]

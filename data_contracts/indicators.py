"""The monthly result indicators' inputs (SPEC §6): `cases.parquet`, `calls.parquet` and
`surveys.parquet`, one row per case, call and survey answer.

The agency reports its result indicators month by month (seed ``002_*``: cases received,
decided and pending with their ages, handling time, calls incoming, answered and turned away
with availability and answer times, full-time equivalents and decisions per full-time
equivalent); the satisfaction survey gives the net promoter score (seed ``003_*``). Each row
names its customer by ``customer_id`` (a citizen) or ``org_number`` (an employer), so that
the indicators can be given per segment.

- ``cases.parquet``: ``case_id`` (unique, not blank), ``customer_id`` or ``org_number``
  (exactly one), ``case_type`` (the benefit or kind of case, not blank), ``received_on``
  (a date), ``decided_on`` (a date on or after ``received_on``; empty while pending),
  ``handling_minutes`` (active handling time, ≥ 0).
- ``calls.parquet``: ``call_id`` (unique), ``customer_id`` or ``org_number`` (at most one:
  a caller the phone system did not identify has neither), ``arrived_at`` (a time; without a
  time zone it is the agency's, ``SEGMENTATION_TIMEZONE``), ``outcome`` (``answered``,
  ``abandoned``: the caller hung up in the queue, ``rejected``: the queue turned the call
  away), ``wait_seconds`` (time in the queue, ≥ 0).
- ``surveys.parquet``: ``response_id`` (unique), ``customer_id`` or ``org_number``
  (exactly one), ``answered_on`` (a date), ``score`` (0-10, "how likely are you to
  recommend ...").

Validated as the other tables are: a broken row is set aside with its reason
(``column: rule (value)``), every copy of a repeated row id is set aside as ``duplicate
case_id`` (or ``call_id``, ``response_id``), a missing required column is an error that
names it, extra columns are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pandera.errors
import pandera.pandas as pa
from pandera.typing import Series

from data_contracts.identifiers import organisation_number_problems, personal_number_problems
from data_contracts.validation import ContractError, ValidationResult, blank, short

Table = Literal["cases", "calls", "surveys"]
TABLES: tuple[Table, ...] = ("cases", "calls", "surveys")
ID_COLUMNS: dict[str, str] = {"citizens": "customer_id", "employers": "org_number"}
CALL_OUTCOMES: tuple[str, ...] = ("answered", "abandoned", "rejected")


class CaseContract(pa.DataFrameModel):
    case_id: Series[str] = pa.Field(nullable=False)
    case_type: Series[str] = pa.Field(nullable=False)
    received_on: Series[pa.DateTime] = pa.Field(nullable=False, coerce=True)
    decided_on: Series[pa.DateTime] = pa.Field(nullable=True, coerce=True)
    handling_minutes: Series[float] = pa.Field(ge=0, nullable=False, coerce=True)

    class Config:
        strict = False
        ordered = False


class CallContract(pa.DataFrameModel):
    call_id: Series[str] = pa.Field(nullable=False)
    arrived_at: Series[pa.DateTime] = pa.Field(nullable=False, coerce=True)
    outcome: Series[str] = pa.Field(isin=list(CALL_OUTCOMES), nullable=False)
    wait_seconds: Series[float] = pa.Field(ge=0, nullable=False, coerce=True)

    class Config:
        strict = False
        ordered = False


class SurveyContract(pa.DataFrameModel):
    response_id: Series[str] = pa.Field(nullable=False)
    answered_on: Series[pa.DateTime] = pa.Field(nullable=False, coerce=True)
    score: Series[float] = pa.Field(ge=0, le=10, nullable=False, coerce=True)

    class Config:
        strict = False
        ordered = False


@dataclass(frozen=True)
class _Table:
    model: type[pa.DataFrameModel]
    key: str  # the row's own id: unique in the file
    customer_required: bool  # False: a row may name no customer (an unidentified caller)
    #: Text columns that must not be blank (checked on the whole column at once: a regular
    #: expression per row took most of the validation's time, 1.5 s of 4 at 1.1 M cases).
    text: tuple[str, ...]


CONTRACTS: dict[Table, _Table] = {
    "cases": _Table(CaseContract, "case_id", True, ("case_id", "case_type")),
    "calls": _Table(CallContract, "call_id", False, ("call_id",)),
    "surveys": _Table(SurveyContract, "response_id", True, ("response_id",)),
}


TIME_COLUMNS: dict[Table, tuple[str, ...]] = {
    "cases": ("received_on", "decided_on"),
    "calls": ("arrived_at",),
    "surveys": ("answered_on",),
}
NUMBER_COLUMNS: dict[Table, tuple[str, ...]] = {
    "cases": ("handling_minutes",),
    "calls": ("wait_seconds",),
    "surveys": ("score",),
}


def required_columns(table: Table) -> list[str]:
    """The table's required columns (besides ``customer_id`` or ``org_number``)."""
    return list(CONTRACTS[table].model.to_schema().columns)


def _rule(check: str) -> str:
    if check.startswith("isin("):
        return "not one of " + ", ".join(CALL_OUTCOMES)
    if check.startswith("coerce_dtype("):
        return "not a " + ("time" if "datetime" in check else "number")
    if check == "not_nullable":
        return "missing"
    return check


def local_times(values: pd.Series, timezone: str) -> pd.Series:
    """Times as the agency's wall-clock time (naive): a time with a zone is converted to
    ``timezone``, one without is taken as already there; what is not a time is ``NaT``."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(timezone).dt.tz_localize(None)
    if values.dtype.kind == "M":
        return values
    try:
        parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):  # zones differ between rows
        parsed = pd.Series(pd.NaT, index=values.index)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert(timezone).dt.tz_localize(None)
    missed = parsed.isna() & values.notna()
    if missed.any():  # a time with a zone among times without one: one at a time

        def one(value: object) -> pd.Timestamp:
            try:
                stamp = pd.Timestamp(value)  # type: ignore[arg-type]
            except (ValueError, TypeError):
                return pd.NaT  # type: ignore[return-value]
            if stamp.tzinfo is not None:
                stamp = stamp.tz_convert(timezone).tz_localize(None)
            return stamp

        parsed = parsed.astype("datetime64[us]")
        parsed[missed] = values[missed].map(one).astype("datetime64[us]")
    return parsed


def validate_table(
    table: Table, frame: pd.DataFrame, *, timezone: str = "Europe/Stockholm"
) -> ValidationResult:
    """Accepted rows, typed, with ``population`` (``citizens``, ``employers`` or empty for
    a row that names no customer) and the customer's id in ``id``; rejected rows as given
    plus ``reason``. Times are the agency's wall-clock time in ``timezone``."""
    contract = CONTRACTS[table]
    id_columns = [c for c in ID_COLUMNS.values() if c in frame.columns]
    missing = [c for c in required_columns(table) if c not in frame.columns]
    if not id_columns:
        missing.insert(0, "customer_id or org_number")
    if missing:
        raise ContractError(f"{table}: missing required column(s): {', '.join(missing)}")
    given = frame.reset_index(drop=True)
    reasons = np.full(len(given), "", dtype=object)

    def add(mask: np.ndarray, text: str | pd.Series | np.ndarray) -> None:
        """Add ``text`` (one for all, or each row's) to the reasons of the rows in ``mask``."""
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(rows):
            return
        texts = text if isinstance(text, str) else np.asarray(text, dtype=object)[rows]
        current = reasons[rows]
        reasons[rows] = np.where(current == "", texts, current + "; " + texts)

    present = {c: ~blank(given[c]) for c in id_columns}
    both = np.logical_and.reduce([present[c] for c in id_columns])
    if len(id_columns) > 1:
        add(both, "id: both customer_id and org_number given")
    else:
        both = np.zeros(len(given), dtype=bool)
    if contract.customer_required:
        add(
            ~np.logical_or.reduce([present[c] for c in id_columns]),
            "id: neither customer_id nor org_number given",
        )
    population = np.full(len(given), "", dtype=object)
    ids = pd.Series("", index=given.index, dtype="str")  # Arrow strings, never a Python one each
    for name, column in ID_COLUMNS.items():
        if column not in given.columns:
            continue
        rows = present[column] & ~both
        values = given[column].where(rows, "").astype("str")
        checker = personal_number_problems if name == "citizens" else organisation_number_problems
        named = np.flatnonzero(rows)  # checked where given only: most rows name the other
        problems = checker(values.iloc[named]).to_numpy(dtype=object)
        broken = problems != ""
        if broken.any():
            where = np.zeros(len(given), dtype=bool)
            where[named[broken]] = True
            texts = np.full(len(given), "", dtype=object)
            texts[named[broken]] = column + ": " + problems[broken]
            add(where, texts)
        population[rows] = name
        ids = ids.where(~rows, values)
    keys = given[contract.key]
    add(keys.duplicated(keep=False).to_numpy() & ~blank(keys), f"duplicate {contract.key}")
    for column in contract.text:
        add(blank(given[column]), f"{column}: not blank")

    columns = required_columns(table)
    typed = given[columns].copy()
    for column in TIME_COLUMNS[table]:
        typed[column] = local_times(given[column], timezone)
        if column.endswith("_on"):  # a date: a time of day given with it is not kept
            typed[column] = typed[column].dt.normalize()
        add(typed[column].isna().to_numpy() & ~blank(given[column]), f"{column}: not a time")
    try:
        contract.model.to_schema().validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        for _, case in cases[cases["index"].notna()].iterrows():
            position = int(case["index"])
            mask = np.arange(len(given)) == position
            check, column = str(case["check"]), str(case["column"])
            if (
                column in TIME_COLUMNS[table]
                or (check.startswith("dtype(") and column in NUMBER_COLUMNS[table])
                or (check == "not_nullable" and column in contract.text)
            ):
                continue  # said once: above ("not a time", "not blank") or by coerce_dtype
            text = f"{column}: {_rule(check)} ({short(case['failure_case'])})"
            if text not in str(reasons[position]):
                add(mask, text)
    for column in NUMBER_COLUMNS[table]:
        numbers = pd.to_numeric(given[column], errors="coerce")
        add(np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan)), f"{column}: not finite")
        typed[column] = numbers
    if table == "cases":
        early = (typed["decided_on"] < typed["received_on"]).fillna(False).to_numpy()
        add(early, "decided_on: before received_on")
    if table == "surveys":
        whole = (typed["score"] % 1 == 0).fillna(True).to_numpy()
        add(~whole, "score: not a whole number")
    bad = reasons != ""
    rejected = given.loc[bad].copy()
    rejected["reason"] = reasons[bad].astype(str)
    accepted = typed.loc[~bad].copy()
    accepted["population"] = pd.Categorical(population[~bad], categories=["", *ID_COLUMNS])
    accepted["id"] = ids[~bad]  # aligned on the rows' labels, as typed.loc keeps them
    return ValidationResult(
        accepted=accepted.reset_index(drop=True), rejected=rejected.reset_index(drop=True)
    )

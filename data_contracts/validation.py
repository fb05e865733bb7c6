"""Row-by-row validation: the accepted rows, and the rejected rows with their reasons."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors
import pandera.pandas as pa
import pyarrow.compute as pc

from data_contracts.identifiers import (
    arrow_strings,
    organisation_number_problems,
    personal_number_problems,
)
from data_contracts.schemas import (
    CITIZEN_COUNT_COLUMNS,
    CITIZEN_NUMERIC_COLUMNS,
    EMPLOYER_COUNT_COLUMNS,
    EMPLOYER_NUMERIC_COLUMNS,
    CitizenContract,
    EmployerContract,
    Population,
)

log = logging.getLogger(__name__)

_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "citizens": CitizenContract,
    "employers": EmployerContract,
}
ID_COLUMN: dict[str, str] = {"citizens": "customer_id", "employers": "org_number"}
BOOLEAN_COLUMNS: dict[str, tuple[str, ...]] = {"employers": ("payroll_integration",)}
NUMERIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "citizens": CITIZEN_NUMERIC_COLUMNS,
    "employers": EMPLOYER_NUMERIC_COLUMNS,
}


def _parse_boolean(value: object) -> bool | None:
    """A real boolean, or ``None``: the API refuses "yes", "true" and 1 for a boolean, and
    so does the batch (one rule; README, "Data contracts")."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return None


def _text_in_numbers(column: pd.Series) -> np.ndarray:
    """Rows of a numeric column that hold text ("5"): refused as the API refuses them."""
    if column.dtype.kind in "biuf":
        return np.zeros(len(column), dtype=bool)
    return np.asarray(column.map(lambda value: isinstance(value, str | bytes)), dtype=bool)


class ContractError(ValueError):
    """The table as a whole breaks the contract (for example a required column is missing)."""


@dataclass(frozen=True)
class ValidationResult:
    """Accepted rows (typed as the contract says) and rejected rows as given plus ``reason``."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame

    @property
    def counts(self) -> dict[str, int]:
        return {"accepted": len(self.accepted), "rejected": len(self.rejected)}

    def reasons(self, most: int = 3) -> str:
        """Why rows were set aside, the ``most`` commonest reasons first with their counts
        (``reviewed_at: in the future: 500``). Each reason is named by its column and rule
        alone, without the value that broke it, so the text holds no one's identity."""
        if not len(self.rejected):
            return ""
        parts = self.rejected["reason"].astype(str).str.split("; ").explode()
        counts = parts.str.replace(r" \(.*\)$", "", regex=True).value_counts()
        shown = [f"{reason}: {count:,}" for reason, count in counts.head(most).items()]
        if len(counts) > most:
            shown.append(f"{len(counts) - most} more")
        return "; ".join(shown)


def required_columns(population: Population) -> list[str]:
    """The contract's required columns, in contract order."""
    return list(_MODELS[population].to_schema().columns)


def check_columns(present: Any, population: Population, where: str) -> None:
    """Raise :class:`ContractError` naming ``where`` and every required column ``present``
    (column names) lacks: the one missing-column rule of validation and batch scoring."""
    missing = [name for name in required_columns(population) if name not in present]
    if missing:
        raise ContractError(f"{where}: missing required column(s): {', '.join(missing)}")


def short(value: object) -> str:
    """A broken value as a reason quotes it: its repr, cut at 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def blank(values: pd.Series) -> np.ndarray:
    """Missing, or text of spaces only (a column of numbers or times: missing only)."""
    if values.dtype.kind in "Mmbiuf":  # no text to be blank (and none to format)
        return np.asarray(values.isna(), dtype=bool)
    return np.asarray(values.isna() | (values.astype(str).str.strip() == ""), dtype=bool)


def _rule_text(column: str, check: str) -> str:
    if check.startswith("isin("):
        return "not a county code 01-25" if column == "region" else "not an allowed value"
    return check


def _collect_reasons(row_level: pd.DataFrame, id_column: str, reasons: pd.Series) -> None:
    """Write ``column: rule (value)`` for each failing row into ``reasons`` (by position)."""
    for key, group in row_level.groupby(["index", "column"], sort=False):
        index, column = key  # type: ignore[misc]
        position = int(str(index).split(".")[0])
        check = str(group["check"].iloc[0])
        if column == id_column:
            continue  # described precisely by _identifier_reasons
        current = str(reasons.iat[position])
        if group["schema_context"].iloc[0] == "DataFrameSchema":
            # A row-wise check over several columns: report it once, under its own name.
            column = "birth_year" if "birth_year" in check else "row"
            if check in current:
                continue
            value = ""
        else:
            value = f" ({short(group['failure_case'].iloc[0])})"
        text = f"{column}: {_rule_text(str(column), check)}{value}"
        reasons.iat[position] = f"{current}; {text}" if current else text


def _identifier_reasons(population: Population, values: pd.Series) -> pd.Series:
    problems = (
        personal_number_problems(values)
        if population == "citizens"
        else organisation_number_problems(values)
    )
    column = ID_COLUMN[population]
    return problems.where(problems == "", column + ": " + problems)


def _repeated(ids: pd.Series) -> np.ndarray:
    """Rows whose id appears more than once. Ids made of digits are compared as integers
    (hashing 7.2 M strings took 2 s); anything else is compared as text."""
    strings = arrow_strings(ids)
    digits = pc.fill_null(
        pc.and_(pc.utf8_is_digit(strings), pc.less_equal(pc.utf8_length(strings), 18)), False
    )
    numbers = pc.cast(pc.if_else(digits, strings, None), "int64").to_numpy(zero_copy_only=False)
    is_number = digits.to_numpy(zero_copy_only=False)
    keys = np.where(is_number, numbers, 0).astype(np.int64)
    ordered = np.sort(keys[is_number])
    if (ordered[1:] == ordered[:-1]).any():  # which rows, only when some id repeats
        repeated = pd.Series(keys).duplicated(keep=False).to_numpy() & is_number
    else:  # the usual table: a sort (7.2 M ids: 0.6 s) says no number repeats
        repeated = np.zeros(len(keys), dtype=bool)
    others = ~is_number & ids.notna().to_numpy()
    if others.any():
        text = ids[others]
        repeated[np.flatnonzero(others)] = text.duplicated(keep=False).to_numpy()
    return np.asarray(repeated)


def _check_types(population: Population, subset: pd.DataFrame, reasons: pd.Series) -> None:
    """The rules checked before pandera's, noted in ``reasons`` (changed in place): booleans
    (pandera's bool coercion turns None into False; each parsed column is written back to
    ``subset``) and text in a numeric column."""
    for column in BOOLEAN_COLUMNS.get(population, ()):
        parsed = subset[column].map(_parse_boolean)
        unparsed = parsed.isna()
        for position in np.flatnonzero(unparsed.to_numpy()).tolist():
            reasons.iat[position] = (
                f"{column}: not a boolean ({short(subset[column].iat[position])})"
            )
        subset[column] = parsed.where(~unparsed, False).astype(bool)
    for column in NUMERIC_COLUMNS[population]:
        if column in BOOLEAN_COLUMNS.get(population, ()):
            continue
        for position in np.flatnonzero(_text_in_numbers(subset[column])).tolist():
            text = f"{column}: a number, not text ({short(subset[column].iat[position])})"
            current = str(reasons.iat[position])
            reasons.iat[position] = f"{current}; {text}" if current else text


#: The columns an extract can leave out by mistake: counts and handling time (not benefits:
#: a benefit nobody in the table holds is no sign of a broken extract).
RECORDED_COLUMNS: dict[str, tuple[str, ...]] = {
    "citizens": (*CITIZEN_COUNT_COLUMNS, "handling_minutes"),
    "employers": (*EMPLOYER_COUNT_COLUMNS, "handling_minutes"),
}


def unrecorded(accepted: pd.DataFrame, population: Population) -> list[str]:
    """The count and handling-time columns that are 0 on every accepted row: most likely
    not recorded by the agency's extract (a register that does not link life events, a
    channel not logged). The contract allows it; the model learns nothing from them, and on
    the suite's worlds a citizens' table without life events loses part of its irregular
    customers (docs/model-quality.md). An empty table records nothing to judge by."""
    if not len(accepted):
        return []
    return [
        column for column in RECORDED_COLUMNS[population] if not accepted[column].to_numpy().any()
    ]


def validate(
    frame: pd.DataFrame,
    population: Population,
    duplicated: frozenset[str] = frozenset(),
) -> ValidationResult:
    """Validate ``frame`` against the population's contract, lazily and row by row.

    A missing required column raises :class:`ContractError` naming it; extra columns are
    ignored (kept in the rejected rows, which are returned as given). Every other problem
    sets the row aside with a ``reason`` listing ``column: rule (value)`` for each failure.
    A customer appears once per table: every copy of an id repeated in ``frame``, or listed
    in ``duplicated`` (repeated elsewhere in the same file, for a table validated in
    chunks), is set aside as ``duplicate customer_id`` (or ``org_number``).
    """
    check_columns(frame.columns, population, population)
    schema = _MODELS[population].to_schema()
    required = list(schema.columns)

    given = frame.reset_index(drop=True)
    # A column selection is its own frame under copy-on-write (pandas 3): validating it in
    # place never touches ``given``, and an explicit copy cost 1.5 GB and seconds at 7.2 M.
    subset = given[required]
    reasons = pd.Series("", index=given.index, dtype=object)
    id_column = ID_COLUMN[population]
    failures: pandera.errors.SchemaErrors | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="duplicates") as beside:
        # Repeated ids are looked for beside the row checks: a sort and Arrow's kernels,
        # which leave the GIL to pandera's checks (7.2 M rows: 0.5-1 s of the look-up;
        # validation 2.68 -> 2.38 s, medians of 4 run in turn).
        finding = beside.submit(_repeated, subset[id_column])
        _check_types(population, subset, reasons)
        try:
            checked = schema.validate(subset, lazy=True, inplace=True)  # subset is our own
        except pandera.errors.SchemaErrors as errors:
            failures = errors
        repeated = finding.result()
    if duplicated:
        repeated |= subset[id_column].isin(duplicated).to_numpy()
    for position in np.flatnonzero(repeated).tolist():
        current = str(reasons.iat[position])
        text = f"duplicate {id_column}"
        reasons.iat[position] = f"{current}; {text}" if current else text
    if failures is not None:
        cases = failures.failure_cases
        table_level = cases[cases["index"].isna()]
        table_level = table_level[table_level["check"].astype(str) != "column_in_dataframe"]
        row_level = cases[cases["index"].notna()]
        if len(row_level) == 0 and len(table_level) > 0:
            # Whole-column failures without row indices (e.g. a dtype no row can be coerced to).
            detail = "; ".join(
                f"{c}: {k}"
                for c, k in zip(table_level["column"], table_level["check"], strict=True)
            )
            raise ContractError(f"{population}: {detail}") from failures
        _collect_reasons(row_level, id_column, reasons)
    elif not (reasons != "").any():
        # pandera found nothing, and neither did the rules checked before it (booleans).
        log.info("%s: %d rows accepted, 0 rejected", population, len(checked))
        return ValidationResult(
            accepted=checked.reset_index(drop=True),
            rejected=given.iloc[0:0].assign(reason=""),
        )
    id_reasons = _identifier_reasons(population, subset[id_column])
    has_id_problem = id_reasons != ""
    reasons = reasons.where(~has_id_problem | (reasons == ""), id_reasons + "; " + reasons)
    reasons = reasons.where(~has_id_problem | (reasons != ""), id_reasons)

    bad = (reasons != "").to_numpy()
    rejected = given.loc[bad].copy()
    rejected["reason"] = reasons[bad].astype(str)
    good = subset.loc[~bad]
    # The good rows passed every check in the pass above (all checks are row by row): they
    # need only their types, not a second validation of millions of rows.
    accepted = schema.coerce_dtype(good)
    accepted = accepted.reset_index(drop=True)
    log.info("%s: %d rows accepted, %d rejected", population, len(accepted), int(np.sum(bad)))
    return ValidationResult(accepted=accepted, rejected=rejected.reset_index(drop=True))

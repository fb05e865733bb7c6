"""The monthly result indicators from files: read and validate `cases.parquet`,
`calls.parquet` and `surveys.parquet`, give each row its customer's segment in force that
month from the segment store, and build the report (``segmentation.indicators``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.identifiers import as_integers
from data_contracts.indicators import ID_COLUMNS, TABLES, TIME_COLUMNS, Table, validate_table
from data_contracts.validation import ContractError, ValidationResult
from segmentation.indicators import UNIDENTIFIED, UNSCORED, monthly_report, parse_month
from segmentation.store import Period, SegmentStore
from segmentation.taxonomy import POPULATIONS, Population, known_categories

log = logging.getLogger(__name__)
#: The population of a call that names no customer.
NO_POPULATION = "unknown"


class NoInputs(ValueError):
    """The folder holds none of the indicators' tables."""


class NoPeriod(LookupError):
    """No population has a period scored on or before the month."""


@dataclass(frozen=True)
class IndicatorRun:
    report: dict[str, Any]
    validated: dict[Table, ValidationResult]


def input_files(data: Path) -> dict[Table, Path]:
    """The indicators' tables present in ``data``; ``NoInputs`` if none is."""
    found = {table: data / f"{table}.parquet" for table in TABLES}
    present = {table: path for table, path in found.items() if path.is_file()}
    if not present:
        raise NoInputs(f"no {', '.join(p.name for p in found.values())} in {data}")
    return present


def check_table(table: Table, path: Path) -> None:
    """Refuse the table as a whole when its file or a column's type cannot be what the
    contract says (``ContractError`` naming the file and the column): an id stored as a
    number loses leading zeros, a date stored as a number would read as a moment in 1970.
    Read from the file's schema, before anything else is done."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise ContractError(f"{path.name}: not a readable Parquet file ({error})") from error
    for column in [*ID_COLUMNS.values(), *TIME_COLUMNS[table]]:
        if column not in schema.names:
            continue  # a missing column is named by the validation
        kind = schema.field(column).type
        if column in ID_COLUMNS.values() and not (
            pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)
        ):
            raise ContractError(
                f"{path.name}: {column} is stored as {kind}; the contract wants text (leading "
                "zeros and check digits are part of the number)"
            )
        if column in TIME_COLUMNS[table] and (
            pa.types.is_integer(kind) or pa.types.is_floating(kind)
        ):
            raise ContractError(
                f"{path.name}: {column} is stored as {kind}; the contract wants a date or a time"
            )


def period_in_force(
    store: SegmentStore, population: Population, last_day: dt.date
) -> Period | None:
    """The newest period of ``population`` that ended on or before ``last_day``: the
    categories the agency met its customers with that month."""
    for period in store.periods(population, fresh=True):
        if period.period_end <= last_day:
            return period
    return None


def month_end(last_day: dt.date, timezone: str) -> dt.datetime:
    """The end of ``last_day`` where the agency is, as an aware UTC time."""
    midnight = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), ZoneInfo(timezone))
    return midnight.astimezone(dt.UTC)


def _population_ids(frame: pd.DataFrame, population: str) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``frame`` naming a customer of ``population``, and their ids as integers."""
    rows = np.flatnonzero(np.asarray(frame["population"] == population))
    return rows, as_integers(frame["id"].iloc[rows]) if len(rows) else np.array([], np.int64)


def attach_segments(
    frames: Mapping[Table, pd.DataFrame],
    store: SegmentStore,
    periods: Mapping[Population, Period],
    at: dt.datetime,
) -> dict[Table, pd.DataFrame]:
    """Each frame (validated) with ``segment``: the customer's category in force at ``at``,
    ``unscored`` for one the store does not hold, ``unidentified`` for a row naming no one.
    Each population's customers are looked up once, whichever tables name them; segments
    are categoricals built from codes (a few names over millions of rows)."""
    names = [*(c for p in POPULATIONS for c in known_categories(p) or ()), UNSCORED, UNIDENTIFIED]
    located = {
        (table, name): _population_ids(frame, name)
        for table, frame in frames.items()
        for name in POPULATIONS
    }
    segments = {
        table: np.full(len(frame), names.index(UNIDENTIFIED), dtype=np.int8)
        for table, frame in frames.items()
    }
    for name in POPULATIONS:
        parts = [(table, *located[(table, name)]) for table in frames]
        period = periods.get(name)
        if period is None:
            for table, rows, _ in parts:
                segments[table][rows] = names.index(UNSCORED)
            continue
        # One sort of every table's ids: the customers to look up, and where each row's is.
        unique, inverse = np.unique(np.concatenate([ids for *_, ids in parts]), return_inverse=True)
        categories = store.categories_in_force(name, period, unique, at)
        codes = pd.Categorical(categories, categories=names).codes.copy()
        codes[codes < 0] = names.index(UNSCORED)  # not in the period: None
        start = 0
        for table, rows, ids in parts:
            segments[table][rows] = codes[inverse[start : start + len(ids)]]
            start += len(ids)
    out: dict[Table, pd.DataFrame] = {}
    for table, frame in frames.items():
        segment = segments[table]
        population = frame["population"].cat.rename_categories({"": NO_POPULATION})
        out[table] = frame.assign(
            population=population, segment=pd.Categorical.from_codes(segment, pd.Index(names))
        )
    return out


def compute(
    data: Path,
    month: str,
    store: SegmentStore,
    *,
    timezone: str,
    hours_per_fte: float,
    answer_within_seconds: float,
) -> IndicatorRun:
    """Read, validate, segment and report one month (``ValueError`` for a bad month,
    ``NoInputs``, ``NoPeriod``, ``ContractError`` for a table without a required column)."""
    last = parse_month(month)[1]
    files = input_files(data)
    for table, path in files.items():
        check_table(table, path)
    periods: dict[Population, Period] = {
        name: period
        for name in POPULATIONS
        if (period := period_in_force(store, name, last)) is not None
    }
    if not periods:
        raise NoPeriod(f"no period scored with an end on or before {last}")
    at = month_end(last, timezone)
    validated: dict[Table, ValidationResult] = {}
    for table, path in files.items():
        result = validate_table(table, pd.read_parquet(path), timezone=timezone)
        validated[table] = result
        log.info("%s: %s accepted, %s set aside", table, *result.counts.values())
    accepted = {table: result.accepted for table, result in validated.items()}
    segmented = attach_segments(accepted, store, periods, at)
    tables: dict[str, pd.DataFrame | None] = {table: segmented.get(table) for table in TABLES}
    report = monthly_report(
        month,
        tables,
        periods={name: period.period_end.isoformat() for name, period in periods.items()},
        hours_per_fte=hours_per_fte,
        answer_within_seconds=answer_within_seconds,
        categories={name: tuple(known_categories(name) or ()) for name in periods},
    )
    report["rows"] = {table: result.counts for table, result in validated.items()}
    return IndicatorRun(report, validated)

"""The hot read path: one customer's current category, override and history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from segmentation.store.base import Period, StoreBase
from segmentation.store.blocks import inputs_expression, stored_inputs
from segmentation.store.schema import format_id, period_columns, stored_time, utcnow
from segmentation.taxonomy import Population

_OVERRIDE_COLUMNS = ["category", "reason", "actor", "created_at", "expires_at"]
_HISTORY_COLUMNS = ["category", "source", "model_version", "at", "until", "actor", "reason"]
_OVERRIDE_SQL = (
    f"SELECT {', '.join(_OVERRIDE_COLUMNS)} FROM segment_overrides"
    " WHERE population = :population AND subject_id = :subject_id"
)
_HISTORY_SQL = (
    f"SELECT {', '.join(_HISTORY_COLUMNS)} FROM segment_history"
    " WHERE population = :population AND subject_id = :subject_id ORDER BY at, id"
)


def _row_columns(population: Population) -> list[str]:
    """What a lookup reads of each period: the columns after the ids, then the row's id and
    its inputs (``segmentation.store.blocks``)."""
    return [*period_columns(population)[2:], "row_id", "inputs"]


@dataclass(frozen=True)
class SubjectRecord:
    """What the API reads about one customer: the latest period's row, the override in
    force (if any) and the history, oldest first: the periods and the override events."""

    current: dict[str, Any]
    override: dict[str, Any] | None
    history: list[dict[str, Any]]


def _periods_sql(population: Population, periods: Sequence[Period]) -> str:
    """The customer's row in each period, newest first: one indexed read per period (and
    one of its inputs' block)."""
    columns = ", ".join(f"t.{name}" for name in _row_columns(population)[:-1])
    return " UNION ALL ".join(
        f"SELECT {index} AS period_index, {columns},"
        f" {inputs_expression(period.table_name, 't', period.input_blocks)} AS inputs"
        f" FROM {period.table_name} t WHERE t.subject_id = :subject_id"
        for index, period in enumerate(periods)
    )


def _override_record(values: Sequence[Any], now: dt.datetime) -> dict[str, Any] | None:
    """The override, if one is set and has not expired."""
    record = dict(zip(_OVERRIDE_COLUMNS, values, strict=True))
    record["created_at"] = stored_time(record["created_at"])
    record["expires_at"] = stored_time(record["expires_at"])
    if record["expires_at"] is not None and record["expires_at"] <= now:
        return None
    return record


def _history(
    period_rows: Sequence[tuple[Period, Mapping[str, Any]]], events: Sequence[Sequence[Any]]
) -> list[dict[str, Any]]:
    """The periods (oldest first, each until the next one's scoring) and override events,
    by time."""
    out: list[dict[str, Any]] = []
    ordered = sorted(period_rows, key=lambda item: item[0].period_end)
    for position, (period, row) in enumerate(ordered):
        following = ordered[position + 1][0].scored_at if position + 1 < len(ordered) else None
        out.append(
            {
                "category": row["category"],
                "source": "model",
                "model_version": period.model_version,
                "period_end": period.period_end,
                "at": period.scored_at,
                "until": following,
                "actor": None,
                "reason": None,
            }
        )
    for values in events:
        record = dict(zip(_HISTORY_COLUMNS, values, strict=True))
        record["at"] = stored_time(record["at"])
        record["until"] = stored_time(record["until"])
        record["period_end"] = None
        out.append(record)
    out.sort(key=lambda entry: entry["at"])
    return out


class PointReads(StoreBase):
    """One customer at a time (the API's lookups and routing)."""

    def lookup(
        self,
        population: Population,
        subject_id: str,
        *,
        with_history: bool = True,
        now: dt.datetime | None = None,
    ) -> SubjectRecord | None:
        """One customer's latest row, override in force and history; ``None`` if the
        customer is in no period. The row's ``period_end`` says which period it is."""
        try:
            return self._lookup(population, subject_id, with_history, now, fresh=False)
        except (OperationalError, ProgrammingError, DBAPIError) as error:
            # A period replaced since the catalog was read: read it again, once.
            if "no such table" not in str(error) and "does not exist" not in str(error):
                raise
            return self._lookup(population, subject_id, with_history, now, fresh=True)

    def _lookup(
        self,
        population: Population,
        subject_id: str,
        with_history: bool,
        now: dt.datetime | None,
        *,
        fresh: bool,
    ) -> SubjectRecord | None:
        periods = self.periods(population, fresh=fresh)
        if not periods:
            return None
        key = int(subject_id)
        keyed = {"population": population, "subject_id": key}
        listed = periods if with_history else periods[:1]
        queries: list[tuple[str, Mapping[str, Any]]] = [
            (_periods_sql(population, listed), {"subject_id": key}),
            (_OVERRIDE_SQL, keyed),
        ]
        if with_history:
            queries.append((_HISTORY_SQL, keyed))
        try:
            results = self._read(queries)
        except Exception as error:  # sqlite3 errors are not SQLAlchemy's: one shape
            if "no such table" in str(error):
                raise OperationalError("lookup", {}, error) from error
            raise
        if not results[0] and not with_history and len(periods) > 1:
            # Not in the latest period: the customer's newest period, wherever it is.
            return self._lookup(population, subject_id, True, now, fresh=fresh)
        if not results[0]:
            return None
        names = _row_columns(population)
        rows = [
            (listed[values[0]], dict(zip(names, values[1:], strict=True))) for values in results[0]
        ]
        newest_period, newest = max(rows, key=lambda item: item[0].period_end)
        current = {
            **newest,
            "subject_id": format_id(population, key),
            "model_version": newest_period.model_version,
            "scored_at": newest_period.scored_at,
            "period_end": newest_period.period_end,
            "inputs": stored_inputs(newest["inputs"], newest["row_id"], newest_period.input_blocks),
        }
        del current["row_id"]
        override = _override_record(results[1][0], now or utcnow()) if results[1] else None
        history = _history(rows, results[2]) if with_history else []
        return SubjectRecord(current, override, history)

    def current(self, population: Population, subject_id: str) -> dict[str, Any] | None:
        """The latest stored row of one customer, or ``None``."""
        record = self.lookup(population, subject_id, with_history=False)
        return record.current if record else None

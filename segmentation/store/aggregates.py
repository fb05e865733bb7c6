"""Reads over whole periods, for planners and operators: capacity loads, transitions
between periods, the early-warning work list, samples for drift and the oversight
figures. Counts and scores, never more about a person than the work list needs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy import bindparam, select, text, update

from segmentation.capacity import (
    PeriodLoads,
    SegmentLoad,
    chunk_loads,
    load_rows,
    loads_from_rows,
    merge_loads,
)
from segmentation.store.base import Period, StoreBase
from segmentation.store.blocks import (
    CHUNK_SHIFT,
    inputs_expression,
    rows_of_blocks,
    stored_inputs,
)
from segmentation.store.schema import (
    BEHAVIOUR_COLUMNS,
    behaviour_positions,
    format_id,
    monthly_indicators,
    period_drift,
    segment_periods,
    sqlite_time,
    stored_time,
    utcnow,
)
from segmentation.taxonomy import POPULATIONS, Population

#: Consecutive inputs blocks a drift sample reads at a time (512 customers of a chunk).
SAMPLE_RUN_BLOCKS = 8
#: Customers looked up in one query by ``categories_in_force`` (bound parameters: SQLite
#: allows 32,766 since 3.32).
LOOKUP_IDS = 5_000


def _blocks(connection: Any, table: str, start: int, stop: int) -> dict[int, bytes]:
    """The inputs blocks ``start`` up to (not including) ``stop`` of a period table."""
    sql = text(f"SELECT block, data FROM {table}_inputs WHERE block >= :start AND block < :stop")
    rows = connection.execute(sql, {"start": start, "stop": stop})
    return {int(block): bytes(data) for block, data in rows}


def _kept_report(row: Any) -> dict[str, Any]:
    """A kept month's indicators, with when they were computed."""
    return {**json.loads(row.report), "computed_at": stored_time(row.computed_at)}


class Aggregates(StoreBase):
    """Whole-period reads."""

    def _now_param(self) -> Any:
        return utcnow() if not self.is_sqlite else utcnow().replace(tzinfo=None)

    def segment_loads(self, population: Population) -> list[dict[str, Any]]:
        """Customers and behaviour of the latest period summed per effective category
        (overrides in force win) and region: what the capacity report is built from. The
        sums per model category were kept as the run wrote the period; an override moves its
        customer's behaviour (read from the stored inputs) to the overriding category."""
        latest = self.period(population)
        if latest is None:
            return []
        loads = latest.loads if latest.loads is not None else self._sum_loads(latest)
        positions = behaviour_positions(population)
        moved_in: PeriodLoads = {}
        moved_out: PeriodLoads = {}
        inputs = inputs_expression(latest.table_name, "s", latest.input_blocks)
        sql = (
            f"SELECT o.category AS override, s.category, s.region, s.row_id, {inputs} AS inputs"
            f" FROM segment_overrides o JOIN {latest.table_name} s ON s.subject_id = o.subject_id"
            " WHERE o.population = :population AND o.category <> s.category"
            " AND (o.expires_at IS NULL OR o.expires_at > :now)"
        )
        with self.engine.connect() as connection:
            params = {"population": population, "now": self._now_param()}
            for row in connection.execute(text(sql), params):
                stored = stored_inputs(row.inputs, row.row_id, latest.input_blocks)
                behaviour = np.frombuffer(stored, dtype="<f4")[positions]
                values = {str(row.region): [1.0, *behaviour.astype(np.float64).tolist()]}
                moved_in = merge_loads(moved_in, {row.override: values})
                moved_out = merge_loads(moved_out, {row.category: values})
        loads = merge_loads(merge_loads(loads, moved_in), moved_out, sign=-1.0)
        return load_rows(BEHAVIOUR_COLUMNS[population], loads)

    def _sum_loads(self, period: Period) -> PeriodLoads:
        """The loads of a period scored before runs kept them: summed from its table's
        inputs once, then kept in the catalog."""
        loads: PeriodLoads = {}
        positions = behaviour_positions(period.population)
        for categories, regions, inputs in self._period_inputs(period):
            names, codes = np.unique(categories, return_inverse=True)
            matrix = inputs[:, positions]
            loads = merge_loads(loads, chunk_loads(names.tolist(), codes, regions, matrix))
        with self.begin() as connection:
            connection.execute(
                update(segment_periods)
                .where(segment_periods.c.table_name == period.table_name)
                .values(loads=json.dumps(loads, sort_keys=True))
            )
        self.forget_periods()
        return loads

    def _period_inputs(
        self, period: Period, batch_rows: int = 100_000
    ) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
        """Every row of a period in batches: categories, regions and inputs (float32)."""
        table, block_rows = period.table_name, period.input_blocks
        inputs = "inputs" if block_rows is None else "row_id"
        sql = f"SELECT category, region, {inputs} FROM {table} ORDER BY row_id"
        with self.engine.connect() as connection:
            result = connection.execute(text(sql))
            while rows := result.fetchmany(batch_rows):
                if block_rows is None:
                    blob = b"".join(bytes(row[2]) for row in rows)
                    matrix = np.frombuffer(blob, dtype="<f4").reshape(len(rows), -1)
                else:
                    ids = [int(row[2]) for row in rows]
                    with self.engine.connect() as reader:
                        found = _blocks(
                            reader, table, ids[0] // block_rows, ids[-1] // block_rows + 1
                        )
                    matrix = rows_of_blocks(found, ids, block_rows)
                yield [row[0] for row in rows], np.array([row[1] for row in rows]), matrix

    def capacity_loads(self) -> list[SegmentLoad]:
        """Every population's per-segment-and-region loads, for the capacity report."""
        return [
            load
            for population in POPULATIONS
            for load in loads_from_rows(population, self.segment_loads(population))
        ]

    # -- transitions ---------------------------------------------------------------------------
    def transition_counts(
        self, population: Population, before: Period, after: Period
    ) -> list[dict[str, Any]]:
        """Customers per (category before, category after, region): ``None`` before is a
        newcomer, ``None`` after a leaver; the region is the later period's (the earlier
        one's for leavers). Model categories: overrides are a case handler's, not movement."""
        a, b = before.table_name, after.table_name
        sql = (
            "SELECT a.category AS before, b.category AS after,"
            " coalesce(b.region, a.region) AS region, count(*) AS customers"
            f" FROM {a} a LEFT JOIN {b} b ON b.subject_id = a.subject_id"
            " GROUP BY a.category, b.category, coalesce(b.region, a.region)"
            " UNION ALL"
            " SELECT NULL AS before, b.category AS after, b.region AS region,"
            " count(*) AS customers"
            f" FROM {b} b WHERE NOT EXISTS (SELECT 1 FROM {a} a WHERE a.subject_id = b.subject_id)"
            " GROUP BY b.category, b.region"
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text(sql))]

    # -- early warning -------------------------------------------------------------------------
    def warning_threshold(self, period: Period, *, share: float, min_risk: float) -> float:
        """The risk from which an irregular customer of ``period`` is on the work list: at
        least ``min_risk``, and high enough that the list is at most ``share`` of the
        period's customers."""
        rank = max(int(period.rows * share) - 1, 0)
        sql = (
            f"SELECT risk FROM {period.table_name} WHERE category = 'irregular'"
            " ORDER BY risk DESC LIMIT 1 OFFSET :rank"
        )
        with self.engine.connect() as connection:
            value = connection.execute(text(sql), {"rank": rank}).scalar()
        # Ties at the cut would lengthen the list past its share: start just above them.
        cut = float(value) if value is not None else 0.0
        return max(min_risk, float(np.nextafter(cut, 1.0)) if value is not None else min_risk)

    def warning_list(
        self,
        population: Population,
        period: Period,
        previous: Period | None,
        *,
        threshold: float,
        region: str | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        """The irregular customers of ``period`` at or above ``threshold`` risk, highest risk
        first (one page), with the previous period's category; and how many in all."""
        where = "t.category = 'irregular' AND t.risk >= :threshold"
        params: dict[str, Any] = {"threshold": threshold, "limit": limit, "offset": offset}
        if region is not None:
            where += " AND t.region = :region"
            params["region"] = region
        join = (
            f" LEFT JOIN {previous.table_name} p ON p.subject_id = t.subject_id" if previous else ""
        )
        before = "p.category" if previous else "NULL"
        page = (
            f"SELECT t.subject_id, t.category, t.region, t.risk, t.signals, t.confidence,"
            f" {before} AS previous FROM {period.table_name} t{join} WHERE {where}"
            " ORDER BY t.risk DESC, t.subject_id LIMIT :limit OFFSET :offset"
        )
        total = f"SELECT count(*) FROM {period.table_name} t WHERE {where}"
        with self.engine.connect() as connection:
            count = int(connection.execute(text(total), params).scalar_one())
            rows = [dict(row._mapping) for row in connection.execute(text(page), params)]
        for row in rows:
            row["subject_id"] = format_id(population, row["subject_id"])
        return count, rows

    def risky_ids(self, period: Period, threshold: float) -> np.ndarray:
        """Every id on the work list of ``period`` (for measuring it against the truth)."""
        sql = (
            f"SELECT subject_id FROM {period.table_name}"
            " WHERE category = 'irregular' AND risk >= :threshold"
        )
        with self.engine.connect() as connection:
            return np.array(
                [row[0] for row in connection.execute(text(sql), {"threshold": threshold})],
                dtype=np.int64,
            )

    # -- samples for drift -----------------------------------------------------------------------
    def period_sample(
        self, period: Period, rows: int, blocks: int = 40
    ) -> tuple[np.ndarray, list[str]]:
        """About ``rows`` customers of a period in runs of consecutive rows spread over the
        table (``blocks`` runs; with the inputs kept in blocks, one run per inputs block):
        their inputs (float32 matrix) and categories. Range reads on the row id, no scan of
        the whole table."""
        if period.input_blocks is not None:
            return self._block_sample(period, rows, period.input_blocks)
        with self.engine.connect() as connection:
            low, high = connection.execute(
                text(f"SELECT min(row_id), max(row_id) FROM {period.table_name}")
            ).one()
            if low is None:
                return np.empty((0, 0), dtype=np.float32), []
            size = max(rows // blocks, 1)
            starts = np.linspace(low, max(high - size + 1, low), blocks).astype(np.int64)
            fetched: list[Any] = []
            sql = (
                f"SELECT category, inputs FROM {period.table_name}"
                " WHERE row_id >= :start AND row_id < :stop"
            )
            for start in sorted(set(starts.tolist())):
                fetched += connection.execute(
                    text(sql), {"start": start, "stop": start + size}
                ).all()
        if not fetched:
            return np.empty((0, 0), dtype=np.float32), []
        blob = b"".join(bytes(row[1]) for row in fetched)
        matrix = np.frombuffer(blob, dtype="<f4").reshape(len(fetched), -1)
        return matrix, [row[0] for row in fetched]

    def _block_sample(
        self, period: Period, rows: int, block_rows: int
    ) -> tuple[np.ndarray, list[str]]:
        """Runs of ``SAMPLE_RUN_BLOCKS`` consecutive inputs blocks evenly spread over every
        chunk's blocks: hundreds of short runs, not a few long ones (a chunk's rows are in
        id order, and a run of ids is a run of birth dates). The chunks' extents come from
        one indexed read each; no scan of the table or its blocks."""
        table = period.table_name
        per_chunk = (1 << CHUNK_SHIFT) // block_rows  # block numbers a chunk spans
        with self.engine.connect() as connection:
            last = connection.execute(text(f"SELECT max(block) FROM {table}_inputs")).scalar()
            if last is None:
                return np.empty((0, 0), dtype=np.float32), []
            extent_sql = text(
                f"SELECT max(block) FROM {table}_inputs WHERE block >= :low AND block < :high"
            )
            extents = []  # (first block, blocks) per chunk written
            for chunk in range(int(last) // per_chunk + 1):
                low = chunk * per_chunk
                top = connection.execute(extent_sql, {"low": low, "high": low + per_chunk})
                highest = top.scalar()
                if highest is not None:
                    extents.append((low, int(highest) - low + 1))
            starts = np.cumsum([0] + [n for _, n in extents])  # blocks before each chunk
            total = int(starts[-1])
            per_block = max(period.rows, 1) / total
            runs = max(1, min(total, int(np.ceil(rows / per_block / SAMPLE_RUN_BLOCKS))))
            found: dict[int, bytes] = {}
            fetched: list[Any] = []
            rows_sql = text(
                f"SELECT row_id, category FROM {table}"
                " WHERE row_id >= :start AND row_id < :stop ORDER BY row_id"
            )
            for position in np.unique(np.linspace(0, total - 1, runs).astype(np.int64)).tolist():
                chunk = int(np.searchsorted(starts, position, side="right")) - 1
                first, blocks = extents[chunk]
                offset = min(position - int(starts[chunk]), max(blocks - SAMPLE_RUN_BLOCKS, 0))
                span = {
                    "start": first + offset,
                    "stop": first + min(offset + SAMPLE_RUN_BLOCKS, blocks),
                }
                if span["start"] in found:
                    continue
                found.update(_blocks(connection, table, span["start"], span["stop"]))
                fetched += connection.execute(
                    rows_sql,
                    {"start": span["start"] * block_rows, "stop": span["stop"] * block_rows},
                ).all()
        matrix = rows_of_blocks(found, [row[0] for row in fetched], block_rows)
        return matrix, [row[1] for row in fetched]

    @staticmethod
    def category_shares(period: Period) -> dict[str, float]:
        """The period's share of customers per category (counted as the run wrote them)."""
        total = sum(period.counts.values()) or 1
        return {name: count / total for name, count in period.counts.items()}

    def save_drift(self, period: Period, report: str) -> None:
        with self.begin() as connection:
            connection.execute(
                period_drift.delete().where(period_drift.c.table_name == period.table_name)
            )
            connection.execute(
                period_drift.insert().values(
                    table_name=period.table_name,
                    population=period.population,
                    period_end=period.period_end,
                    model_version=period.model_version,
                    report=report,
                )
            )

    def drift_reports(self, population: Population) -> list[tuple[dt.date, str, str]]:
        """(period end, model version, JSON report) of the population's current periods,
        newest first."""
        names = {p.table_name: p for p in self.periods(population, fresh=True)}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(period_drift).where(period_drift.c.population == population)
            ).all()
        out = [
            (names[row.table_name].period_end, row.model_version, row.report)
            for row in rows
            if row.table_name in names
        ]
        return sorted(out, reverse=True)

    # -- oversight -------------------------------------------------------------------------------
    def override_events(self, population: Population) -> list[dict[str, Any]]:
        """Every override set for the population: category, reason, time and the customer's
        county in the latest period (no ids)."""
        latest = self.period(population)
        join = f" LEFT JOIN {latest.table_name} t ON t.subject_id = h.subject_id" if latest else ""
        region = "t.region" if latest else "NULL"
        sql = (
            f"SELECT h.category, h.reason, h.at, {region} AS region FROM segment_history h{join}"
            " WHERE h.population = :population AND h.source = 'override'"
        )
        with self.engine.connect() as connection:
            return [
                {
                    "category": row.category,
                    "reason": row.reason or "",
                    "at": stored_time(row.at),
                    "region": row.region,
                }
                for row in connection.execute(text(sql), {"population": population})
            ]

    # -- monthly indicators --------------------------------------------------------------------
    def categories_in_force(
        self, population: Population, period: Period, subject_ids: np.ndarray, at: dt.datetime
    ) -> np.ndarray:
        """Each customer's category at ``at`` (an aware time): the override a case handler
        had in force then, else the model's in ``period``; None for a customer neither
        holds. Categories only: what the monthly indicators are grouped by."""
        ids = np.asarray(subject_ids, dtype=np.int64)
        if len(ids) > 1 and bool(np.all(ids[1:] > ids[:-1])):  # already unique and sorted
            unique, inverse = ids, np.arange(len(ids))
        else:
            unique, inverse = np.unique(ids, return_inverse=True)
        categories = np.full(len(unique), None, dtype=object)
        for chunk in range(0, len(unique), LOOKUP_IDS):
            wanted = unique[chunk : chunk + LOOKUP_IDS]
            rows = self._period_categories(period.table_name, wanted.tolist())
            if rows:
                held = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                categories[np.searchsorted(unique, held)] = [row[1] for row in rows]
        in_force = text(
            "SELECT subject_id, category FROM segment_history"
            " WHERE population = :population AND source = 'override' AND at <= :at"
            " AND (until IS NULL OR until > :at) ORDER BY at, id"
        )
        moment: Any = sqlite_time(at) if self.is_sqlite else at
        with self.engine.connect() as connection:
            overrides = connection.execute(in_force, {"population": population, "at": moment})
            for subject, category in overrides:  # the later of two wins
                position = int(np.searchsorted(unique, int(subject)))
                if position < len(unique) and unique[position] == int(subject):
                    categories[position] = str(category)
        return categories[inverse]

    def _period_categories(self, table: str, ids: list[int]) -> list[tuple[int, str]]:
        """(id, category) of those of ``ids`` a period table holds, by its unique index: on
        SQLite through the thread's raw reader (at 1 M customers, 380,000 of them looked up:
        0.69 s against 1.93 s through SQLAlchemy, medians of 3 in turn)."""
        if self.is_sqlite:
            marks = ",".join("?" * len(ids))
            sql = f"SELECT subject_id, category FROM {table} WHERE subject_id IN ({marks})"
            return self._reader().execute(sql, ids).fetchall()
        query = text(f"SELECT subject_id, category FROM {table} WHERE subject_id IN :ids")
        with self.engine.connect() as connection:
            result = connection.execute(
                query.bindparams(bindparam("ids", expanding=True)), {"ids": ids}
            )
            return [(int(i), str(c)) for i, c in result]

    def save_indicators(self, month: str, report: dict[str, Any]) -> None:
        """Keep the month's indicators (replacing an earlier computation of the month)."""
        with self.begin() as connection:
            connection.execute(
                monthly_indicators.delete().where(monthly_indicators.c.month == month)
            )
            connection.execute(
                monthly_indicators.insert().values(
                    month=month, computed_at=utcnow(), report=json.dumps(report)
                )
            )

    def indicator_months(self) -> list[str]:
        """The months with indicators kept, newest first."""
        query = select(monthly_indicators.c.month).order_by(monthly_indicators.c.month.desc())
        with self.engine.connect() as connection:
            return [str(month) for month in connection.execute(query).scalars()]

    def indicators(self, month: str) -> dict[str, Any] | None:
        """The month's indicators as kept, with when they were computed; None if not kept."""
        query = select(monthly_indicators).where(monthly_indicators.c.month == month)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else _kept_report(row)

    def indicator_reports(self) -> list[dict[str, Any]]:
        """Every month's indicators as kept, oldest first (the series over months)."""
        query = select(monthly_indicators).order_by(monthly_indicators.c.month)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_kept_report(row) for row in rows]

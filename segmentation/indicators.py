"""The monthly result indicators per segment (SPEC §6, seeds ``002_*`` and ``003_*``).

The agency reports month by month: cases received, decided and pending at the month's end,
how old the pending cases are and how long the decided ones took (mean, median, 10th and
90th percentile, in days), full-time equivalents from the handling hours of the last twelve
months (R12, divided by 1,556) and decisions per full-time equivalent; calls incoming,
answered, abandoned and turned away, availability (answered of incoming) and answer times;
and, from the satisfaction survey, the net promoter score (promoters, 9-10, minus
detractors, 0-6, as a share of the answers). Here each figure is given per segment: each
row of the inputs carries its customer's category (``segment``), the one in force that
month (``training.indicators`` reads it from the segment store).

Pure functions of the validated tables (``data_contracts.indicators``): no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from segmentation.capacity import HOURS_PER_FTE
from segmentation.taxonomy import segment_order

#: The segment of a row whose customer the store has no category for in the month, and of
#: a call the phone system did not identify.
UNSCORED = "unscored"
UNIDENTIFIED = "unidentified"
ALL = "all"
PROMOTER_FROM, DETRACTOR_UNTIL = 9, 6
#: Fewer answers than this and a segment's NPS is marked as resting on few answers: with 30
#: answers its 95 % interval is still about ±30 points.
FEW_ANSWERS = 30
PERCENTILES: tuple[tuple[str, float], ...] = (("p10", 0.1), ("median", 0.5), ("p90", 0.9))


def parse_month(value: str) -> tuple[dt.date, dt.date]:
    """``YYYY-MM`` -> its first and last day; ``ValueError`` naming the form otherwise."""
    try:
        first = dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as error:
        raise ValueError(f"not a month, YYYY-MM: {value!r}") from error
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _spread(values: np.ndarray) -> dict[str, float] | None:
    """Mean and percentiles of a group's values, or None for an empty group."""
    if not len(values):
        return None
    out = {"mean": float(np.mean(values))}
    for name, q in PERCENTILES:
        out[name] = float(np.quantile(values, q))
    return out


def _days(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((later - earlier).dt.total_seconds() / 86_400).to_numpy(dtype=float)


def _groups(frame: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """The frame per segment, and whole (``(ALL, ALL)``)."""
    out: dict[tuple[str, str], pd.DataFrame] = {(ALL, ALL): frame}
    if len(frame):
        for key, group in frame.groupby(["population", "segment"], sort=False, observed=True):
            out[(str(key[0]), str(key[1]))] = group  # type: ignore[index]
    return out


def case_figures(
    cases: pd.DataFrame, first: dt.date, last: dt.date, hours_per_fte: float
) -> dict[tuple[str, str], dict[str, Any]]:
    """Per segment: received, decided, pending at the month's end with their age, the
    decided cases' handling time, and R12 hours, FTE and decisions per FTE."""
    start, end = pd.Timestamp(first), pd.Timestamp(last)
    year_start = start - pd.DateOffset(months=11)  # R12: this month and the eleven before
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, group in _groups(cases).items():
        received, decided = group["received_on"], group["decided_on"]
        in_month = decided.between(start, end)
        pending = (received <= end) & (decided.isna() | (decided > end))
        r12 = decided.between(year_start, end)
        hours = float(group.loc[r12, "handling_minutes"].sum()) / 60.0
        fte = hours / hours_per_fte
        decisions = int(r12.sum())
        out[key] = {
            "cases_received": int(received.between(start, end).sum()),
            "cases_decided": int(in_month.sum()),
            "cases_pending": int(pending.sum()),
            "pending_age_days": _spread(
                (end - received[pending]).dt.total_seconds().to_numpy() / 86_400
            ),
            "handling_days": _spread(_days(decided[in_month], received[in_month])),
            "handling_hours_r12": hours,
            "fte_r12": fte,
            "decisions_r12": decisions,
            "decisions_per_fte": decisions / fte if fte > 0 else None,
        }
    return out


#: The case types' names in the planners' words: the benefits of the contract's columns, the
#: kinds of case seed 002 reports beside them, and the employers'. Another is shown as given.
CASE_TYPE_SV: dict[str, str] = {
    "aktivitetsersattning": "Aktivitetsersättning",
    "aktivitetsstod": "Aktivitetsstöd",
    "assistansersattning": "Assistansersättning",
    "barnbidrag": "Barnbidrag",
    "bostadsbidrag": "Bostadsbidrag",
    "foraldrapenning": "Föräldrapenning",
    "merkostnadsersattning": "Merkostnadsersättning",
    "omvardnadsbidrag": "Omvårdnadsbidrag",
    "sjukersattning": "Sjukersättning",
    "sjukpenning": "Sjukpenning",
    "tandvardsstod": "Statligt tandvårdsstöd",
    "tillfallig_foraldrapenning": "Tillfällig föräldrapenning",
    "underhallsstod": "Underhållsstöd",
    "forsakringstillhorighet": "Försäkringstillhörighet (FTH)",
    "sjukpenninggrundande_inkomst": "Sjukpenninggrundande inkomst (SGI)",
    "omprovning": "Omprövning",
    "aterkrav": "Återkrav",
    "sjuklonekostnad": "Sjuklönekostnad",
    "rehabilitering": "Rehabilitering",
    "arbetsgivarintyg": "Arbetsgivarintyg",
}


def case_type_figures(cases: pd.DataFrame, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Per case type (the agency reports per benefit, seed 002), every segment together:
    received and decided in the month, pending at its end, the decided cases' handling time,
    and the received per segment. Most received first."""
    start, end = pd.Timestamp(first), pd.Timestamp(last)
    received_in = cases["received_on"].between(start, end)
    decided_in = cases["decided_on"].between(start, end)
    pending = (cases["received_on"] <= end) & (
        cases["decided_on"].isna() | (cases["decided_on"] > end)
    )
    touched = cases[received_in | decided_in | pending]
    out = []
    for case_type, group in touched.groupby("case_type", sort=False, observed=True):
        received = received_in[group.index]
        decided = decided_in[group.index]
        by_segment = group.loc[received, "segment"].value_counts()
        out.append(
            {
                "case_type": str(case_type),
                "cases_received": int(received.sum()),
                "cases_decided": int(decided.sum()),
                "cases_pending": int(pending[group.index].sum()),
                "handling_days": _spread(
                    _days(group.loc[decided, "decided_on"], group.loc[decided, "received_on"])
                ),
                "received_by_segment": {str(k): int(v) for k, v in by_segment.items() if v},
            }
        )
    return sorted(out, key=lambda row: (-row["cases_received"], row["case_type"]))


def call_figures(
    calls: pd.DataFrame, first: dt.date, last: dt.date, answer_within_seconds: float
) -> dict[tuple[str, str], dict[str, Any]]:
    """Per segment: calls incoming in the month, answered, abandoned in the queue and turned
    away; availability (answered of incoming); answer times of the answered calls and the
    share of them answered within ``answer_within_seconds``."""
    start, stop = pd.Timestamp(first), pd.Timestamp(last) + pd.Timedelta(days=1)
    month = calls[(calls["arrived_at"] >= start) & (calls["arrived_at"] < stop)]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, group in _groups(month).items():
        outcome = group["outcome"]
        answered = group.loc[outcome == "answered", "wait_seconds"].to_numpy(dtype=float)
        incoming = len(group)
        out[key] = {
            "calls_incoming": incoming,
            "calls_answered": len(answered),
            "calls_abandoned": int((outcome == "abandoned").sum()),
            "calls_rejected": int((outcome == "rejected").sum()),
            "availability": len(answered) / incoming if incoming else None,
            "answer_seconds": _spread(answered),
            "answered_within_share": (
                float(np.mean(answered <= answer_within_seconds)) if len(answered) else None
            ),
        }
    return out


def survey_figures(
    surveys: pd.DataFrame, first: dt.date, last: dt.date
) -> dict[tuple[str, str], dict[str, Any]]:
    """Per segment: answers in the month, promoters (9-10), passives (7-8), detractors
    (0-6) and the net promoter score, -100 to 100."""
    month = surveys[surveys["answered_on"].between(pd.Timestamp(first), pd.Timestamp(last))]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, group in _groups(month).items():
        score = group["score"].to_numpy(dtype=float)
        promoters = int((score >= PROMOTER_FROM).sum())
        detractors = int((score <= DETRACTOR_UNTIL).sum())
        out[key] = {
            "survey_answers": len(score),
            "promoters": promoters,
            "passives": len(score) - promoters - detractors,
            "detractors": detractors,
            "nps": 100.0 * (promoters - detractors) / len(score) if len(score) else None,
            "few_answers": 0 < len(score) < FEW_ANSWERS,
        }
    return out


def _order(key: tuple[str, str]) -> tuple[int, tuple[int, int, str]]:
    """Segments in reference order, then customers without a category, unidentified
    callers, and the whole last."""
    population, category = key
    place = {UNSCORED: 1, UNIDENTIFIED: 2}.get(category, 3 if population == ALL else 0)
    return (place, segment_order(population, category))


def monthly_report(
    month: str,
    tables: Mapping[str, pd.DataFrame | None],
    *,
    periods: Mapping[str, str],
    hours_per_fte: float = HOURS_PER_FTE,
    answer_within_seconds: float = 60.0,
    categories: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """The month's indicators per segment from the tables given (``cases``, ``calls``,
    ``surveys``; None for one not given), each row with ``population`` and ``segment``.
    ``periods``: the reference period each population's categories were read from;
    ``categories``: segments to list even when empty (each population's categories)."""
    first, last = parse_month(month)
    parts: list[dict[tuple[str, str], dict[str, Any]]] = []
    cases, calls, surveys = tables.get("cases"), tables.get("calls"), tables.get("surveys")
    if cases is not None:
        parts.append(case_figures(cases, first, last, hours_per_fte))
    if calls is not None:
        parts.append(call_figures(calls, first, last, answer_within_seconds))
    if surveys is not None:
        parts.append(survey_figures(surveys, first, last))
    keys = {key for part in parts for key in part}
    for population, names in (categories or {}).items():
        keys.update((population, name) for name in names)
    keys.add((ALL, ALL))
    empty: dict[str, dict[str, Any]] = {}  # a table's figures for a segment with no rows
    if cases is not None:
        empty["cases"] = case_figures(cases.iloc[:0], first, last, hours_per_fte)[(ALL, ALL)]
    if calls is not None:
        empty["calls"] = call_figures(calls.iloc[:0], first, last, answer_within_seconds)[
            (ALL, ALL)
        ]
    if surveys is not None:
        empty["surveys"] = survey_figures(surveys.iloc[:0], first, last)[(ALL, ALL)]
    segments = []
    for key in sorted(keys, key=_order):
        row: dict[str, Any] = {"population": key[0], "category": key[1]}
        for table, figures in empty.items():
            if key[1] != UNIDENTIFIED or table == "calls":  # only a call names no one
                row.update(figures)
        for part in parts:
            row.update(part.get(key, {}))
        segments.append(row)
    report: dict[str, Any] = {
        "month": month,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "periods": dict(periods),
        "tables": sorted(name for name, frame in tables.items() if frame is not None),
        "assumptions": {
            "hours_per_fte": hours_per_fte,
            "answer_within_seconds": answer_within_seconds,
            "few_answers": FEW_ANSWERS,
        },
        "segments": segments,
    }
    if cases is not None:
        report["case_types"] = case_type_figures(cases, first, last)
    return report

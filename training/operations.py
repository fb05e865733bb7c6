"""Synthetic inputs of the monthly result indicators: the cases, calls and survey answers of
the year after a population's reference period (`segmentation generate --indicator-inputs`).

The categories scored from a period are the ones the agency meets its customers with in
the months after it, so the operations are drawn for the twelve months that follow
``period_end``, each customer's from the period's behaviour and true category: a case per
application made in the period (on average), of a benefit the customer had, taking longer
the more support the category needs; a call per phone contact, answered, abandoned in the
queue or turned away, 8 % from numbers the phone system does not identify; and a survey
answer from one decided case in seven (a customer answers once), less often a promoter
the more support the category needs. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from data_contracts.schemas import BENEFIT_CODES

#: Median days from a case's arrival to its decision, and the spread (log-normal sigma).
DECISION_DAYS: dict[str, tuple[float, float]] = {
    "regular": (12.0, 0.6),
    "irregular": (21.0, 0.7),
    "needs_support": (34.0, 0.8),
    "small": (10.0, 0.6),
    "medium_large": (14.0, 0.6),
}
#: Shares of the survey's promoters (9-10) and detractors (0-6) per category.
SURVEY_SHARES: dict[str, tuple[float, float]] = {
    "regular": (0.52, 0.18),
    "irregular": (0.40, 0.30),
    "needs_support": (0.30, 0.42),
    "small": (0.45, 0.22),
    "medium_large": (0.50, 0.18),
}
CALL_OUTCOMES = (("answered", 0.86), ("abandoned", 0.09), ("rejected", 0.05))
UNIDENTIFIED_CALLS = 0.08
SURVEY_RATE = 0.15
EMPLOYER_CASE_TYPES = ("sjuklonekostnad", "rehabilitering", "arbetsgivarintyg")


def _day_in_year(rng: np.random.Generator, size: int, period_end: dt.date) -> np.ndarray:
    """Days of the year after ``period_end``, as datetime64[D]."""
    start = np.datetime64(period_end + dt.timedelta(days=1), "D")
    return start + rng.integers(0, 365, size=size).astype("timedelta64[D]")


def _case_types(rng: np.random.Generator, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """For each case (its customer's row), a benefit the customer had in the period, chosen
    in proportion to its months; ``tandvardsstod`` for one without benefits."""
    columns = [f"benefit_months_{code}" for code in BENEFIT_CODES]
    months = frame[columns].to_numpy(dtype=float)[rows]
    totals = months.sum(axis=1)
    months[totals == 0, BENEFIT_CODES.index("tandvardsstod")] = 1.0
    cumulative = np.cumsum(months, axis=1) / months.sum(axis=1, keepdims=True)
    picks = (cumulative < rng.random(len(rows))[:, None]).sum(axis=1)
    return np.asarray(BENEFIT_CODES, dtype=object)[np.minimum(picks, len(BENEFIT_CODES) - 1)]


def _cases(
    rng: np.random.Generator,
    ids: np.ndarray,
    truth: np.ndarray,
    counts: np.ndarray,
    minutes: np.ndarray,
    case_types: np.ndarray | None,
    frame: pd.DataFrame,
    period_end: dt.date,
    prefix: str,
) -> pd.DataFrame:
    per = rng.poisson(np.maximum(counts, 0.05))
    rows = np.repeat(np.arange(len(ids)), per)
    received = _day_in_year(rng, len(rows), period_end)
    median = np.array([DECISION_DAYS[c][0] for c in truth])[rows]
    sigma = np.array([DECISION_DAYS[c][1] for c in truth])[rows]
    days = np.ceil(median * np.exp(sigma * rng.standard_normal(len(rows)))).astype(int)
    decided = received + days.astype("timedelta64[D]")
    extract = np.datetime64(period_end + dt.timedelta(days=365), "D")
    handling = minutes[rows] / np.maximum(counts[rows], 1.0) * rng.lognormal(0.0, 0.3, len(rows))
    if case_types is None:
        kinds = _case_types(rng, frame, rows)
    else:
        kinds = case_types[rng.integers(0, len(case_types), len(rows))]
    return pd.DataFrame(
        {
            "case_id": [f"{prefix}{i:09d}" for i in range(len(rows))],
            "id": ids[rows],
            "case_type": kinds,
            "received_on": pd.to_datetime(received),
            "decided_on": pd.to_datetime(
                np.where(decided <= extract, decided, np.datetime64("NaT"))
            ),
            "handling_minutes": np.round(handling, 1),
        }
    )


def _calls(
    rng: np.random.Generator, ids: np.ndarray, counts: np.ndarray, period_end: dt.date, prefix: str
) -> pd.DataFrame:
    per = rng.poisson(np.maximum(counts, 0.02))
    rows = np.repeat(np.arange(len(ids)), per)
    day = _day_in_year(rng, len(rows), period_end)
    minute = rng.integers(8 * 60, 16 * 60, len(rows)).astype("timedelta64[m]")
    names = np.array([name for name, _ in CALL_OUTCOMES], dtype=object)
    outcome = names[rng.choice(len(names), len(rows), p=[p for _, p in CALL_OUTCOMES])]
    wait = np.where(outcome == "rejected", 0.0, np.round(rng.exponential(150.0, len(rows))))
    caller = ids[rows].astype(object)
    caller[rng.random(len(rows)) < UNIDENTIFIED_CALLS] = None
    return pd.DataFrame(
        {
            "call_id": [f"{prefix}{i:09d}" for i in range(len(rows))],
            "id": caller,
            "arrived_at": pd.to_datetime(day.astype("datetime64[m]") + minute),
            "outcome": outcome,
            "wait_seconds": wait,
        }
    )


def _surveys(
    rng: np.random.Generator, cases: pd.DataFrame, truth_of: dict[str, str], prefix: str
) -> pd.DataFrame:
    decided = cases[cases["decided_on"].notna()]
    picked = decided[rng.random(len(decided)) < SURVEY_RATE].drop_duplicates("id")
    category = picked["id"].map(truth_of).to_numpy()
    promoters = np.array([SURVEY_SHARES[c][0] for c in category])
    detractors = np.array([SURVEY_SHARES[c][1] for c in category])
    draw = rng.random(len(picked))
    score = np.where(
        draw < promoters,
        rng.integers(9, 11, len(picked)),
        np.where(
            draw < promoters + detractors,
            rng.integers(0, 7, len(picked)),
            rng.integers(7, 9, len(picked)),
        ),
    )
    return pd.DataFrame(
        {
            "response_id": [f"{prefix}{i:08d}" for i in range(len(picked))],
            "id": picked["id"].to_numpy(),
            "answered_on": picked["decided_on"].to_numpy() + np.timedelta64(3, "D"),
            "score": score,
        }
    )


def _named(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` with its ``id`` as the contract's id column."""
    return frame.rename(columns={"id": column})


Table = tuple[pd.DataFrame, pd.DataFrame]


def operations(
    citizens: Table | None, employers: Table | None, seed: int
) -> dict[str, pd.DataFrame]:
    """``cases``, ``calls`` and ``surveys`` for the year after the tables' period, from each
    population's table and its true categories (``(frame, truth)``; None: not generated)."""
    rng = np.random.default_rng([seed, 20261207])
    parts: dict[str, list[pd.DataFrame]] = {"cases": [], "calls": [], "surveys": []}
    for given, column, prefix in ((citizens, "customer_id", "C"), (employers, "org_number", "E")):
        if given is None or not len(given[0]):
            continue
        frame, truth = given
        period_end = pd.Timestamp(frame["period_end"].iloc[0]).date()
        ids = frame[column].astype(str).to_numpy(dtype=object)
        categories = truth.set_index(column)["category"].astype(str).reindex(ids).to_numpy()
        if column == "customer_id":
            applications = frame.filter(like="applications_").sum(axis=1).to_numpy(dtype=float)
            kinds = None
        else:
            applications = np.minimum(frame["cases"].to_numpy(dtype=float), 40.0)
            kinds = np.asarray(EMPLOYER_CASE_TYPES, dtype=object)
        cases = _cases(
            rng,
            ids,
            categories,
            applications,
            frame["handling_minutes"].to_numpy(dtype=float),
            kinds,
            frame,
            period_end,
            prefix,
        )
        calls = _calls(rng, ids, frame["contacts_phone"].to_numpy(dtype=float), period_end, prefix)
        surveys = _surveys(rng, cases, dict(zip(ids, categories, strict=True)), prefix)
        for name, part in (("cases", cases), ("calls", calls), ("surveys", surveys)):
            parts[name].append(_named(part, column))
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items() if frames}

"""Consecutive reference periods of the same people, with realistic movement (issue 9):
leavers, newcomers (turning 18), and people moving between categories through events.

Movement follows seed 004's account: life changes push regular customers into an irregular
year; an irregular year settles back, or, when strain builds up (sickness benefit, activity
support, housing allowance, reconsiderations, recovery claims, many contacts), slides into
needing support; support needs ease slowly. Each person's next category is drawn from
their own row, so the warning signs are in the data a period before the move. Rows of the
new period are drawn afresh for the new category; id, birth year and (mostly) county stay.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation.taxonomy import CITIZEN_CATEGORIES
from training.synthetic import (
    citizens_in,
    draw_regions,
    generate_employers,
    personal_numbers,
)

REGULAR, IRREGULAR, SUPPORT = 0, 1, 2
#: Per year: who leaves (moves abroad, dies), who is new (turns 18, moves in).
LEAVE_RATE = 0.03
JOIN_RATE = 0.03
#: Base movement between categories per year, before a person's own strain is counted.
#: Rows: from regular, irregular, needs support; columns: to the same.
BASE_MOVES = np.array(
    [
        [0.0, 0.07, 0.004],
        [0.35, 0.0, 0.0],  # irregular -> needs support depends on strain (below)
        [0.03, 0.10, 0.0],
    ]
)
#: Irregular -> needs support: a logistic in the person's strain, about 15 % on average.
SLIDE_INTERCEPT = -2.5
SLIDE_SLOPE = 1.6


@dataclass(frozen=True)
class PeriodData:
    period_end: dt.date
    citizens: pd.DataFrame
    truth: pd.DataFrame


def strain(frame: pd.DataFrame) -> np.ndarray:
    """A person's accumulated strain, from the row of their current period."""
    c = frame
    contacts = c[["contacts_phone", "contacts_office", "contacts_digital", "contacts_letter"]].sum(
        axis=1
    )
    return (
        (c["benefit_months_sjukpenning"] > 0).to_numpy() * 1.0
        + (c["benefit_months_aktivitetsstod"] >= 6).to_numpy() * 0.8
        + (c["benefit_months_bostadsbidrag"] > 0).to_numpy() * 0.6
        + np.minimum(c["reconsiderations"].to_numpy(), 2) * 0.7
        + np.minimum(c["recovery_claims"].to_numpy(), 2) * 0.6
        + np.log1p(contacts.to_numpy()) * 0.5
    )


def next_categories(rng: np.random.Generator, frame: pd.DataFrame, now: np.ndarray) -> np.ndarray:
    """Each person's category in the next period."""
    after = now.copy()
    draw = rng.random(len(now))
    for origin in (REGULAR, IRREGULAR, SUPPORT):
        rows = now == origin
        moves = np.tile(BASE_MOVES[origin], (int(rows.sum()), 1))
        if origin == IRREGULAR:
            z = strain(frame[rows])
            z = (z - z.mean()) / (z.std() or 1.0)
            moves[:, SUPPORT] = 1 / (1 + np.exp(-(SLIDE_INTERCEPT + SLIDE_SLOPE * z)))
        cumulative = np.cumsum(moves, axis=1)
        picked = (draw[rows, None] < cumulative).argmax(axis=1)
        moved = draw[rows] < cumulative[:, -1]
        after[rows] = np.where(moved, picked, origin)
    return after


def consecutive_periods(
    size: int, seed: int, periods: int = 2, first: dt.date = dt.date(2024, 12, 31)
) -> list[PeriodData]:
    """``periods`` consecutive years of about ``size`` citizens each."""
    rng = np.random.default_rng([seed, 9])
    shares = [c.share for c in CITIZEN_CATEGORIES]
    truth = rng.choice(3, size=size, p=shares)
    frame, _ = citizens_in(rng, truth, first)
    out = [_period(first, frame, truth)]
    for year in range(1, periods):
        period_end = dt.date(first.year + year, 12, 31)
        stay = rng.random(len(frame)) >= LEAVE_RATE
        kept, kept_truth = frame[stay].reset_index(drop=True), truth[stay]
        moved_to = next_categories(rng, kept, kept_truth)
        fresh, _ = citizens_in(rng, moved_to, period_end)
        # The same people: id, birth year; one in twenty moves to another county.
        fresh["customer_id"] = kept["customer_id"].to_numpy()
        fresh["birth_year"] = kept["birth_year"].to_numpy()
        moves_county = rng.random(len(kept)) < 0.05
        fresh["region"] = np.where(
            moves_county, draw_regions(rng, len(kept)), kept["region"].to_numpy()
        )
        newcomers = rng.choice(3, size=int(len(frame) * JOIN_RATE), p=shares)
        joined, _ = citizens_in(rng, newcomers, period_end)
        # Newcomers turn 18 this year: a birth year nobody of earlier periods has, so
        # their identity numbers are new.
        years = np.full(len(joined), period_end.year - 18)
        joined["birth_year"] = years
        joined["customer_id"] = pd.array(
            [str(n) for n in personal_numbers(rng, years)], dtype="string"
        )
        frame = pd.concat([fresh, joined], ignore_index=True)
        truth = np.concatenate([moved_to, newcomers])
        out.append(_period(period_end, frame, truth))
    return out


def _period(period_end: dt.date, frame: pd.DataFrame, truth: np.ndarray) -> PeriodData:
    names = np.asarray([c.name for c in CITIZEN_CATEGORIES])
    return PeriodData(
        period_end,
        frame,
        pd.DataFrame({"customer_id": frame["customer_id"], "category": names[truth]}),
    )


def employers_for(period_end: dt.date, size: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The employers of a period (the same organisations every year)."""
    frame, truth = generate_employers(size, seed)
    frame["period_end"] = pd.Timestamp(period_end)
    return frame, truth

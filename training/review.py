"""The expert-review loop: which customers to review, and what the reviews say of the model.

An agency has no truth file; it has case handlers who can judge a customer. A review sample
has two parts:

- **spread** (half): the same number of customers from every cluster of the model (every
  category, and every kind of customer inside it), drawn at random inside the cluster. Each
  row's inclusion probability is known, so these reviews estimate the model's agreement
  with case handlers for the whole population without bias (weighted by 1 / probability).
  A cluster the model named wrongly shows up here, whatever the model's confidence.
- **borderline** (the rest): the customers the model is least sure of (smallest margin
  between its two most probable categories), most uncertain first. They teach the model
  where its boundaries lie; they are not used to estimate agreement (they are the hard
  cases, so they would make it look worse than it is).

The file lists the borderline rows first, so a partly filled-in file still teaches the
most. The design (id, part, inclusion probability) is also kept under
``SEGMENTATION_HOME/reviews/`` so that a reviews file that lost those columns on its way
through a spreadsheet is still estimated correctly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.segmenter import ClusterSegmenter
from segmentation.taxonomy import Population
from training.files import atomic_write_parquet

SPREAD = "spread"
BORDERLINE = "borderline"
#: 95 % two-sided normal quantile for the Wilson intervals.
Z_95 = 1.959963984540054


def draw_sample(
    model: ClusterSegmenter, raw: np.ndarray, ids: np.ndarray, *, n: int, seed: int
) -> pd.DataFrame:
    """The review sample: ``id``, ``part``, ``inclusion_probability``, ``priority`` (1 =
    review first); borderline rows first, then the spread rows in random order."""
    strata, margin = sample_scores(model, raw)
    return draw_from_scores(strata, margin, ids, n=n, seed=seed)


#: Rows scored at a time for the sample (strata and margins): the temporaries of a block
#: stay small whatever the table's size.
SAMPLE_BLOCK_ROWS = 262_144


def sample_scores(model: ClusterSegmenter, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's stratum (its cluster) and margin between its two most probable
    categories, block by block (7.2 M rows at once took 10 GB of temporaries)."""
    strata = np.empty(len(raw), dtype=np.int64)
    margin = np.empty(len(raw), dtype=np.float64)
    for start in range(0, len(raw), SAMPLE_BLOCK_ROWS):
        block = raw[start : start + SAMPLE_BLOCK_ROWS]
        strata[start : start + len(block)] = model.strata(block)
        top_two = np.sort(model.predict_proba(block), axis=1)[:, -2:]
        margin[start : start + len(block)] = top_two[:, 1] - top_two[:, 0]
    return strata, margin


def draw_from_scores(
    strata: np.ndarray, margin: np.ndarray, ids: np.ndarray, *, n: int, seed: int
) -> pd.DataFrame:
    """The review sample from every row's stratum and margin (see ``draw_sample``)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    n = min(n, len(strata))
    rng = np.random.default_rng(seed)
    spread, probability = _spread(rng, strata, n // 2 if n > 1 else n)
    margin = np.array(margin, dtype=np.float64)
    margin[spread] = np.inf
    n_borderline = n - len(spread)
    # Ties (equal margins) are broken at random, not by file order.
    order = np.lexsort((rng.random(len(strata)), margin))
    borderline = order[:n_borderline]
    rows = np.concatenate([borderline, rng.permutation(spread)])
    return pd.DataFrame(
        {
            "id": ids[rows],
            "part": [BORDERLINE] * len(borderline) + [SPREAD] * len(spread),
            "inclusion_probability": np.concatenate(
                [np.full(len(borderline), np.nan), probability[rows[len(borderline) :]]]
            ),
            "priority": np.arange(1, len(rows) + 1),
        }
    )


def _spread(rng: np.random.Generator, strata: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal allocation over strata (capped by their sizes), random inside each; returns the
    rows and every row's inclusion probability (n_h / N_h of its stratum)."""
    sizes = np.bincount(strata)
    allocation = np.zeros_like(sizes)
    remaining = n
    open_strata = np.flatnonzero(sizes > 0)
    while remaining > 0 and len(open_strata):
        share = max(1, remaining // len(open_strata))
        for stratum in open_strata:
            add = min(share, sizes[stratum] - allocation[stratum], remaining)
            allocation[stratum] += add
            remaining -= add
            if remaining == 0:
                break
        open_strata = open_strata[allocation[open_strata] < sizes[open_strata]]
    chosen = [
        rng.choice(np.flatnonzero(strata == stratum), size=count, replace=False)
        for stratum, count in enumerate(allocation)
        if count
    ]
    rows = np.concatenate(chosen) if chosen else np.array([], dtype=np.int64)
    probability = np.zeros(len(strata))
    probability[rows] = (allocation / np.maximum(sizes, 1))[strata[rows]]
    return rows, probability


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    effective_n: float


def wilson(successes: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion (``n`` may be an effective sample size)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def weighted_recall(
    truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray, n_categories: int
) -> dict[int, Interval]:
    """Recall per reviewed category, weighted by 1 / inclusion probability, with a Wilson
    interval on Kish's effective sample size (sum w)^2 / sum w^2."""
    out = {}
    for category in range(n_categories):
        members = truth == category
        w = weights[members]
        if not len(w) or w.sum() <= 0:
            continue
        recall = float(np.sum(w * (predicted[members] == category)) / w.sum())
        effective = float(w.sum() ** 2 / np.sum(w * w))
        low, high = wilson(recall * effective, effective)
        out[category] = Interval(recall, low, high, effective)
    return out


def macro_interval(per_category: dict[int, Interval]) -> Interval:
    """Macro recall (mean over categories) with an interval from the categories' Wilson
    half-widths combined as independent errors."""
    estimates = np.array([i.estimate for i in per_category.values()])
    halves = np.array([(i.high - i.low) / 2 for i in per_category.values()])
    estimate = float(estimates.mean())
    half = float(np.sqrt(np.sum(halves**2)) / len(halves))
    effective = float(sum(i.effective_n for i in per_category.values()))
    return Interval(estimate, max(0.0, estimate - half), min(1.0, estimate + half), effective)


DESIGN_FOLDER = "reviews"


def sample_file(
    population: Population,
    sample: pd.DataFrame,
) -> pd.DataFrame:
    """The file case handlers fill in: the review contract's columns (``category``,
    ``reviewer``, ``reviewed_at`` and ``note`` empty) and the design columns."""
    id_column = "customer_id" if population == "citizens" else "org_number"
    return pd.DataFrame(
        {
            id_column: sample["id"].astype(str).to_numpy(),
            "category": pd.Series([None] * len(sample), dtype="string"),
            "reviewer": pd.Series([None] * len(sample), dtype="string"),
            "reviewed_at": pd.Series([pd.NaT] * len(sample), dtype="datetime64[us, UTC]"),
            "note": pd.Series([None] * len(sample), dtype="string"),
            "priority": sample["priority"].to_numpy(),
            "part": sample["part"].to_numpy(),
            "inclusion_probability": sample["inclusion_probability"].to_numpy(),
        }
    )


def keep_design(home: Path, population: Population, sample: pd.DataFrame, stamp: str) -> Path:
    """Keep the sample's design (id, part, inclusion probability) under ``home``."""
    folder = home / DESIGN_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"design-{population}-{stamp}.parquet"
    design = sample[["id", "part", "inclusion_probability"]].assign(
        id=sample["id"].astype(str), population=population
    )
    atomic_write_parquet(design, path)
    return path


def load_designs(home: Path) -> pd.DataFrame:
    """Every kept sample design, oldest first (a later design of the same id wins)."""
    paths = sorted((home / DESIGN_FOLDER).glob("design-*.parquet"))
    if not paths:
        return pd.DataFrame(columns=["id", "part", "inclusion_probability", "population"])
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)

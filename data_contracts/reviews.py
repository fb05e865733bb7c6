"""`reviews.parquet`: a case handler's judgement of one customer (SPEC §6).

Columns: ``customer_id`` (citizens) and/or ``org_number`` (employers): exactly one of them
per row; ``category`` (a category of that population); ``reviewer`` (not blank);
``reviewed_at`` (a time, not in the future); optional ``note``. Extra columns are kept and
ignored by the contract (the review sample's ``part`` and ``inclusion_probability`` travel
in them). Validated like the other tables: a broken row is set aside with its reason, a
customer reviewed twice in one file by the same case handler has every copy set aside
(``duplicate customer_id``), and a missing required column is an error that names it. A
customer judged by several case handlers in one file is several judgements (a second
opinion), which training settles by majority (``training.review.settle_opinions``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pandera.errors
import pandera.pandas as pa
from pandera.typing import Series

from data_contracts.identifiers import organisation_number_problems, personal_number_problems
from data_contracts.validation import ContractError, ValidationResult, blank

REVIEW_ID_COLUMNS: dict[str, str] = {"citizens": "customer_id", "employers": "org_number"}
REVIEW_CATEGORIES: dict[str, tuple[str, ...]] = {
    "citizens": ("regular", "irregular", "needs_support"),
    "employers": ("small", "medium_large"),
}


_NOT_BLANK = r"\s*\S"


class ReviewContract(pa.DataFrameModel):
    """The columns every review has, whatever population it is about."""

    category: Series[str] = pa.Field(
        isin=[c for names in REVIEW_CATEGORIES.values() for c in names], nullable=False
    )
    # Matched from the start: a name after spaces is a name, not a blank.
    reviewer: Series[str] = pa.Field(str_matches=_NOT_BLANK, nullable=False)
    reviewed_at: Series[pa.DateTime] = pa.Field(nullable=False, coerce=True)

    class Config:
        strict = False
        ordered = False


def judge_key(reviewer: str) -> str:
    """Who judged, as compared: ``Anna.Svensson `` and ``anna.svensson`` are one case handler."""
    return reviewer.strip().casefold()


def reviewer_key(reviewers: pd.Series) -> pd.Series:
    """``judge_key`` of each row."""
    return reviewers.astype(str).map(judge_key)


def validate_reviews(frame: pd.DataFrame, *, now: dt.datetime | None = None) -> ValidationResult:
    """Accepted reviews with a ``population`` column and the id in ``id``; rejected rows as
    given plus ``reason``."""
    id_columns = [c for c in REVIEW_ID_COLUMNS.values() if c in frame.columns]
    missing = [c for c in ("category", "reviewer", "reviewed_at") if c not in frame.columns]
    if not id_columns:
        missing.insert(0, "customer_id or org_number")
    if missing:
        raise ContractError(f"reviews: missing required column(s): {', '.join(missing)}")
    given = frame.reset_index(drop=True)
    reasons = pd.Series("", index=given.index, dtype=object)

    def add(mask: np.ndarray, text: str | pd.Series) -> None:
        nonlocal reasons
        texts = text if isinstance(text, pd.Series) else pd.Series(text, index=given.index)
        joined = reasons.where(reasons == "", reasons + "; ") + texts
        reasons = reasons.where(~mask, joined)

    present = {c: ~blank(given[c]) for c in id_columns}
    both = np.logical_and.reduce([present[c] for c in id_columns]) if len(id_columns) > 1 else None
    neither = ~np.logical_or.reduce([present[c] for c in id_columns])
    if both is not None:
        add(both, "id: both customer_id and org_number given")
    add(neither, "id: neither customer_id nor org_number given")
    population = pd.Series("", index=given.index, dtype=object)
    ids = pd.Series("", index=given.index, dtype=object)
    for name, column in REVIEW_ID_COLUMNS.items():
        if column not in given.columns:
            continue
        rows = np.asarray(present[column] & ~(both if both is not None else False), dtype=bool)
        values = given[column].where(rows, "")
        checker = personal_number_problems if name == "citizens" else organisation_number_problems
        problems = checker(values.astype(str))
        bad = rows & (problems != "").to_numpy()
        add(bad, column + ": " + problems)
        population = population.where(~rows, name)
        ids = ids.where(~rows, values.astype(str))
        # The same case handler twice on one customer (several case handlers: opinions).
        judged = pd.DataFrame({"id": ids.where(rows, None), "by": reviewer_key(given["reviewer"])})
        duplicated = rows & judged.duplicated(keep=False).to_numpy() & (ids != "")
        add(duplicated, f"duplicate {column}")
    schema = ReviewContract.to_schema()
    subset = given[["category", "reviewer", "reviewed_at"]].copy()
    try:
        schema.validate(subset, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        for _, case in cases[cases["index"].notna()].iterrows():
            position = int(case["index"])
            rule = "not blank" if case["check"] == f"str_matches('{_NOT_BLANK}')" else case["check"]
            add(
                np.arange(len(given)) == position,
                f"{case['column']}: {rule} ({str(case['failure_case'])[:40]!r})",
            )
    when = pd.to_datetime(subset["reviewed_at"], errors="coerce", utc=True)
    add(when.isna().to_numpy() & reasons.eq("").to_numpy(), "reviewed_at: not a time")
    limit = pd.Timestamp(now or dt.datetime.now(dt.UTC)) + pd.Timedelta(minutes=5)
    add((when > limit).fillna(False).to_numpy(), "reviewed_at: in the future")
    for name, allowed in REVIEW_CATEGORIES.items():
        wrong = (population == name).to_numpy() & ~given["category"].isin(allowed).to_numpy()
        add(wrong & ~given["category"].isna().to_numpy(), f"category: not a {name} category")
    bad = (reasons != "").to_numpy()
    rejected = given.loc[bad].copy()
    rejected["reason"] = reasons[bad].astype(str)
    accepted = given.loc[~bad].copy()
    accepted["population"] = population[~bad].to_numpy()
    accepted["id"] = ids[~bad].to_numpy()
    accepted["reviewed_at"] = when[~bad].to_numpy()
    return ValidationResult(
        accepted=accepted.reset_index(drop=True), rejected=rejected.reset_index(drop=True)
    )

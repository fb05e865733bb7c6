"""Case handlers' writes: overrides (set, replaced, removed; each an event in the history)
and reviews (what training learns from)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, insert, select, update
from sqlalchemy.engine import Connection

from segmentation.store.base import StoreBase
from segmentation.store.schema import (
    as_utc,
    format_id,
    history,
    overrides,
    review_queue,
    reviews,
    utcnow,
)
from segmentation.taxonomy import Population

#: How long a customer whose review form a case handler opened is kept from the others.
REVIEW_HOLD = dt.timedelta(minutes=30)


class CaseWrites(StoreBase):
    """Overrides and reviews."""

    # -- overrides ---------------------------------------------------------------------------
    def set_override(
        self,
        population: Population,
        subject_id: str,
        *,
        category: str,
        reason: str,
        actor: str,
        expires_at: dt.datetime | None,
    ) -> dict[str, Any]:
        """Store (or replace) an override and add it to the history."""
        now = utcnow()
        key = int(subject_id)
        match = (overrides.c.population == population) & (overrides.c.subject_id == key)
        values = {
            "population": population,
            "subject_id": key,
            "category": category,
            "reason": reason,
            "actor": actor,
            "created_at": now,
            "expires_at": expires_at,
        }
        with self.begin() as connection:
            self._close_override_period(connection, population, key, now)
            connection.execute(delete(overrides).where(match))
            connection.execute(insert(overrides).values(**values))
            connection.execute(
                insert(history).values(
                    population=population,
                    subject_id=key,
                    category=category,
                    source="override",
                    model_version=None,
                    at=now,
                    until=expires_at,
                    actor=actor,
                    reason=reason,
                )
            )
        return {**values, "subject_id": format_id(population, key)}

    @staticmethod
    def _close_override_period(
        connection: Connection, population: Population, key: int, now: dt.datetime
    ) -> None:
        """The override in force, if any, ends now in the history (it is being replaced or
        removed): its requested expiry no longer says how long it was in force."""
        current = connection.execute(
            select(overrides.c.created_at, overrides.c.expires_at).where(
                (overrides.c.population == population) & (overrides.c.subject_id == key)
            )
        ).first()
        if current is None:
            return
        expires = as_utc(current.expires_at)
        if expires is not None and expires <= now:
            return  # it had already ended by itself
        connection.execute(
            update(history)
            .where(
                (history.c.population == population)
                & (history.c.subject_id == key)
                & (history.c.source == "override")
                & (history.c.at == current.created_at)
            )
            .values(until=now)
        )

    def remove_override(
        self, population: Population, subject_id: str, *, actor: str, reason: str
    ) -> bool:
        """Remove an override (kept in the history); ``False`` if there was none."""
        now = utcnow()
        key = int(subject_id)
        match = (overrides.c.population == population) & (overrides.c.subject_id == key)
        with self.begin() as connection:
            row = connection.execute(select(overrides.c.category).where(match)).first()
            if row is None:
                return False
            self._close_override_period(connection, population, key, now)
            connection.execute(delete(overrides).where(match))
            connection.execute(
                insert(history).values(
                    population=population,
                    subject_id=key,
                    category=row.category,
                    source="override_removed",
                    model_version=None,
                    at=now,
                    actor=actor,
                    reason=reason,
                )
            )
        return True

    # -- reviews -------------------------------------------------------------------------------
    def add_review(
        self,
        population: Population,
        subject_id: str,
        *,
        category: str,
        reviewer: str,
        note: str | None,
    ) -> dict[str, Any]:
        """Record a case handler's judgement of a customer's category."""
        values = {
            "population": population,
            "subject_id": int(subject_id),
            "category": category,
            "reviewer": reviewer,
            "reviewed_at": utcnow(),
            "note": note,
        }
        with self.begin() as connection:
            connection.execute(insert(reviews).values(**values))
        return {**values, "subject_id": format_id(population, int(subject_id))}

    # -- the review queue ------------------------------------------------------------------
    def queue_reviews(
        self,
        population: Population,
        sample: str,
        subject_ids: Sequence[str],
        parts: Sequence[str],
        answered: Sequence[str] = (),
    ) -> int:
        """Queue a drawn review sample for the case handlers' review page, in its order
        (``subject_ids[0]`` first). Queuing the same sample again replaces it; a customer
        still waiting from an earlier sample waits once, in this one. ``answered``: customers
        reviewed in files of earlier rounds, marked answered in their samples."""
        now = utcnow()
        rows = [
            {
                "population": population,
                "sample": sample,
                "subject_id": int(subject),
                "priority": rank,
                "part": part,
                "queued_at": now,
            }
            for rank, (subject, part) in enumerate(zip(subject_ids, parts, strict=True))
        ]
        with self.begin() as connection:
            connection.execute(
                delete(review_queue).where(
                    (review_queue.c.population == population) & (review_queue.c.sample == sample)
                )
            )
            self._mark_answered(connection, population, answered, now)
            for chunk in _chunks([int(subject) for subject in subject_ids]):
                connection.execute(
                    delete(review_queue).where(
                        (review_queue.c.population == population)
                        & review_queue.c.subject_id.in_(chunk)
                    )
                )
            if rows:
                connection.execute(insert(review_queue), rows)
        return len(rows)

    def mark_answered(self, population: Population, subject_ids: Sequence[str]) -> int:
        """Customers reviewed in a file (``segmentation train --reviews``) leave the review
        page: their review is given, though not there. Their samples still count them
        (drawn, and answered). How many were waiting."""
        with self.begin() as connection:
            return self._mark_answered(connection, population, subject_ids, utcnow())

    def _mark_answered(
        self,
        connection: Connection,
        population: Population,
        subject_ids: Sequence[str],
        now: dt.datetime,
    ) -> int:
        marked = 0
        for chunk in _chunks([int(subject) for subject in subject_ids]):
            result = connection.execute(
                update(review_queue)
                .where(self._open_reviews(population) & review_queue.c.subject_id.in_(chunk))
                .values(answered_at=now)
            )
            marked += int(result.rowcount or 0)
        return marked

    @staticmethod
    def _answered() -> Any:
        """A queued customer has been answered: in a file (``answered_at``) or by a review
        given since they were queued (the page, the customer card, the API)."""
        return review_queue.c.answered_at.is_not(None) | exists().where(
            and_(
                reviews.c.population == review_queue.c.population,
                reviews.c.subject_id == review_queue.c.subject_id,
                reviews.c.reviewed_at >= review_queue.c.queued_at,
            )
        )

    def _open_reviews(self, population: Population) -> Any:
        """Queued customers of ``population`` not answered since they were queued."""
        return and_(review_queue.c.population == population, ~self._answered())

    def review_queue(
        self,
        population: Population,
        *,
        page: int = 1,
        page_size: int = 25,
        free_for: str | None = None,
    ) -> dict[str, Any]:
        """The customers still to review, oldest sample first and in each sample's order,
        one page of them, each with who has its form open (within ``REVIEW_HOLD``); with how
        many are queued and how many are still open. ``free_for``: only the customers nobody
        else has open (the next one to offer that case handler)."""
        open_rows = self._open_reviews(population)
        held = review_queue.c.claimed_at >= utcnow() - REVIEW_HOLD  # NULL: nobody has it
        with self.engine.connect() as connection:
            total = connection.execute(
                select(func.count()).where(review_queue.c.population == population)
            ).scalar_one()
            still_open = connection.execute(
                select(func.count()).select_from(review_queue).where(open_rows)
            ).scalar_one()
            listed = select(
                review_queue.c.subject_id,
                review_queue.c.part,
                review_queue.c.sample,
                case((held, review_queue.c.claimed_by), else_=None).label("open_by"),
            ).where(open_rows)
            if free_for is not None:
                listed = listed.where(
                    review_queue.c.claimed_at.is_(None)
                    | ~held
                    | (review_queue.c.claimed_by == free_for)
                )
            rows = connection.execute(
                listed.order_by(
                    review_queue.c.queued_at, review_queue.c.sample, review_queue.c.priority
                )
                .limit(page_size)
                .offset((max(page, 1) - 1) * page_size)
            ).all()
        return {
            "customers": [
                {
                    "customer_id": format_id(population, row.subject_id),
                    "part": row.part,
                    "sample": row.sample,
                    "open_by": row.open_by,
                }
                for row in rows
            ],
            "queued": int(total),
            "open": int(still_open),
            "page_size": page_size,
        }

    def review_samples(self) -> list[dict[str, Any]]:
        """Every queued sample, oldest first: its population, when it was queued, how many
        customers it holds and how many still wait."""
        waiting = func.sum(case((~self._answered(), 1), else_=0))
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    review_queue.c.population,
                    review_queue.c.sample,
                    func.min(review_queue.c.queued_at).label("queued_at"),
                    func.count().label("queued"),
                    waiting.label("open"),
                )
                .group_by(review_queue.c.population, review_queue.c.sample)
                .order_by(func.min(review_queue.c.queued_at), review_queue.c.sample)
            ).all()
        return [
            {
                "population": row.population,
                "sample": row.sample,
                "queued_at": as_utc(row.queued_at),
                "queued": int(row.queued),
                "open": int(row.open or 0),
            }
            for row in rows
        ]

    def withdraw_sample(self, sample: str) -> tuple[int, int]:
        """Take a queued sample off the review page (reviews already given stay); how many
        customers it held and how many of them were still waiting for a review."""
        waiting = func.sum(case((~self._answered(), 1), else_=0))
        with self.begin() as connection:
            still_waiting = connection.execute(
                select(waiting).where(review_queue.c.sample == sample)
            ).scalar_one()
            result = connection.execute(delete(review_queue).where(review_queue.c.sample == sample))
        return int(result.rowcount or 0), int(still_waiting or 0)

    def claim_review(self, population: Population, subject_id: str, user: str) -> None:
        """``user`` opened the customer's review form: others are offered other customers
        for ``REVIEW_HOLD``."""
        with self.begin() as connection:
            connection.execute(
                update(review_queue)
                .where(
                    (review_queue.c.population == population)
                    & (review_queue.c.subject_id == int(subject_id))
                )
                .values(claimed_by=user, claimed_at=utcnow())
            )

    def queued_for_review(self, population: Population, subject_id: str) -> bool:
        """Whether the customer is in a review sample and not reviewed since it was queued."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(review_queue.c.subject_id)
                .where(self._open_reviews(population))
                .where(review_queue.c.subject_id == int(subject_id))
                .limit(1)
            ).first()
        return found is not None

    def review_records(self, *, include_overrides: bool = True) -> list[dict[str, Any]]:
        """Every review as a row of `reviews.parquet` (the latest per customer), and, with
        ``include_overrides``, every override with a reason as a review by its author: a
        case handler who overrode a category with a reason has judged the customer."""
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(select(reviews).order_by(reviews.c.reviewed_at)):
                latest[(row.population, row.subject_id)] = {
                    "population": row.population,
                    "id": format_id(row.population, row.subject_id),
                    "category": row.category,
                    "reviewer": row.reviewer,
                    "reviewed_at": as_utc(row.reviewed_at),
                    "note": row.note,
                }
            if include_overrides:
                for row in connection.execute(select(overrides)):
                    key = (row.population, row.subject_id)
                    when = as_utc(row.created_at)
                    known = latest.get(key)
                    if row.reason.strip() and (known is None or known["reviewed_at"] < when):
                        latest[key] = {
                            "population": row.population,
                            "id": format_id(row.population, row.subject_id),
                            "category": row.category,
                            "reviewer": row.actor,
                            "reviewed_at": when,
                            "note": f"override: {row.reason}",
                        }
        return list(latest.values())


def _chunks(values: list[int], size: int = 10_000) -> list[list[int]]:
    """``values`` in lists of at most ``size``: the bound parameters of one IN clause."""
    return [values[start : start + size] for start in range(0, len(values), size)]

"""Case handlers' writes: overrides (set, replaced, removed; each an event in the history)
and reviews (what training learns from)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from data_contracts.reviews import judge_key
from segmentation.opinions import latest_per_judge, needs_another_opinion
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

#: The sample's part whose judgements get second opinions: the spread, drawn at random, which
#: estimates the agreement the gate reads (``training.review``; a slip on a borderline
#: customer teaches a little wrong, but measures nothing).
OPINIONS_PART = "spread"
#: The part a customer offered again for another judgement is listed under.
SECOND_OPINION = "second_opinion"
#: How an override's reason reads as the note of the judgement it is (``review export``).
OVERRIDE_NOTE = "override: "
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
        model_category: str | None = None,
    ) -> dict[str, Any]:
        """Store (or replace) an override and add it to the history. An override with a
        reason is the actor's judgement of the customer (it counts as a review in the
        export): a customer waiting in a review sample is answered by it, and with the
        model's category, one in the spread part is offered for a second opinion as after a
        review (``second_opinion`` in the answer)."""
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
            current = connection.execute(select(overrides).where(match)).first()
            self._keep_replaced_judgement(connection, current, judge_key(actor))
            self._close_override_period(connection, current, now)
            connection.execute(delete(overrides).where(match))
            connection.execute(insert(overrides).values(**values, judge=judge_key(actor)))
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
            again = bool(reason.strip()) and self._offer_again(
                connection, population, key, model_category, now
            )
        return {**values, "subject_id": format_id(population, key), "second_opinion": again}

    @staticmethod
    def _keep_replaced_judgement(connection: Connection, replaced: Any, judge: str) -> None:
        """Another case handler's override with a reason, about to be replaced or removed,
        stays its author's judgement: kept as their review, given when the override was,
        with the note the export gives an override. The store holds one override per
        customer, so without it the page, the export and training would lose that judgement
        (a second opinion given as an override, say). An override its own author replaces
        or removes is taken back instead. ``replaced``: the override's row, or None."""
        if replaced is None or not replaced.reason.strip() or replaced.judge == judge:
            return
        connection.execute(
            insert(reviews).values(
                population=replaced.population,
                subject_id=replaced.subject_id,
                category=replaced.category,
                reviewer=replaced.actor,
                judge=replaced.judge,
                reviewed_at=replaced.created_at,
                note=f"{OVERRIDE_NOTE}{replaced.reason}",
            )
        )

    @staticmethod
    def _close_override_period(connection: Connection, current: Any, now: dt.datetime) -> None:
        """The override in force (``current``, its row; None: none) ends now in the history
        (it is being replaced or removed): its requested expiry no longer says how long it
        was in force."""
        if current is None:
            return
        expires = as_utc(current.expires_at)
        if expires is not None and expires <= now:
            return  # it had already ended by itself
        connection.execute(
            update(history)
            .where(
                (history.c.population == current.population)
                & (history.c.subject_id == current.subject_id)
                & (history.c.source == "override")
                & (history.c.at == current.created_at)
            )
            .values(until=now)
        )

    def remove_override(
        self, population: Population, subject_id: str, *, actor: str, reason: str
    ) -> bool:
        """Remove an override (kept in the history); ``False`` if there was none. Removed by
        another case handler than its author, it stays its author's judgement, as when
        replaced (``_keep_replaced_judgement``)."""
        now = utcnow()
        key = int(subject_id)
        match = (overrides.c.population == population) & (overrides.c.subject_id == key)
        with self.begin() as connection:
            current = connection.execute(select(overrides).where(match)).first()
            if current is None:
                return False
            self._keep_replaced_judgement(connection, current, judge_key(actor))
            self._close_override_period(connection, current, now)
            connection.execute(delete(overrides).where(match))
            connection.execute(
                insert(history).values(
                    population=population,
                    subject_id=key,
                    category=current.category,
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
        model_category: str | None = None,
    ) -> dict[str, Any]:
        """Record a case handler's judgement of a customer's category. For a customer in a
        review sample's spread part (the reviews that estimate the agreement), with the
        model's category: where the judgements since the customer was queued call for
        another opinion (``segmentation.opinions``), the customer is offered again, to the
        other case handlers (``second_opinion`` in the answer)."""
        now = utcnow()
        key = int(subject_id)
        values = {
            "population": population,
            "subject_id": key,
            "category": category,
            "reviewer": reviewer,
            "reviewed_at": now,
            "note": note,
        }
        with self.begin() as connection:
            connection.execute(insert(reviews).values(**values, judge=judge_key(reviewer)))
            again = self._offer_again(connection, population, key, model_category, now)
        return {**values, "subject_id": format_id(population, key), "second_opinion": again}

    def _offer_again(
        self,
        connection: Connection,
        population: Population,
        key: int,
        model_category: str | None,
        now: dt.datetime,
    ) -> bool:
        """After a judgement: where the customer waits in a sample's spread part and the
        judgements since it was queued call for another opinion, offer it again (to the
        case handlers who have not judged it). Whether it was."""
        queued = self._queued_row(connection, population, key)
        again = (
            queued is not None
            and queued.part == OPINIONS_PART
            and needs_another_opinion(
                self._judgements(connection, population, key, queued.queued_at), model_category
            )
        )
        if again:
            connection.execute(
                update(review_queue)
                .where(self._same_queued(population, key, queued.sample))
                .values(reopened_at=now, claimed_by=None, claimed_at=None)
            )
        return bool(again)

    @staticmethod
    def _same_queued(population: Population, key: int, sample: str) -> Any:
        return (
            (review_queue.c.population == population)
            & (review_queue.c.subject_id == key)
            & (review_queue.c.sample == sample)
        )

    @staticmethod
    def _queued_row(connection: Connection, population: Population, key: int) -> Any:
        """The customer's queue row not answered in a file (a customer waits in one sample
        at a time), or None."""
        return connection.execute(
            select(review_queue.c.sample, review_queue.c.part, review_queue.c.queued_at).where(
                (review_queue.c.population == population)
                & (review_queue.c.subject_id == key)
                & review_queue.c.answered_at.is_(None)
            )
        ).first()

    @staticmethod
    def _judgements(
        connection: Connection, population: Population, key: int, since: dt.datetime
    ) -> list[str]:
        """Each case handler's latest judgement of a customer since ``since``, oldest first:
        their reviews, and the override in force if it has a reason."""
        judged = [
            (as_utc(row.reviewed_at), row.judge, row.category)
            for row in connection.execute(
                select(reviews.c.reviewed_at, reviews.c.judge, reviews.c.category)
                .where(
                    (reviews.c.population == population)
                    & (reviews.c.subject_id == key)
                    & (reviews.c.reviewed_at >= since)
                )
                .order_by(reviews.c.reviewed_at, reviews.c.id)
            )
        ]
        judged += [
            (as_utc(row.created_at), row.judge, row.category)
            for row in connection.execute(
                select(overrides.c.created_at, overrides.c.judge, overrides.c.category).where(
                    (overrides.c.population == population)
                    & (overrides.c.subject_id == key)
                    & (overrides.c.created_at >= since)
                    & _with_reason()
                )
            )
        ]
        return latest_per_judge(judged)

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
        """A queued customer has been answered: in a file (``answered_at``) or by a review,
        or an override with a reason, given since they were queued (the page, the customer
        card, the API), or since they were offered again for a second opinion
        (``reopened_at``)."""

        def since_queued(at: Any) -> Any:
            return or_(
                review_queue.c.reopened_at.is_(None) & (at >= review_queue.c.queued_at),
                # After the judgement that asked for another (made at that moment).
                at > review_queue.c.reopened_at,
            )

        return (
            review_queue.c.answered_at.is_not(None)
            | exists().where(
                _same_customer(reviews) & since_queued(reviews.c.reviewed_at),
            )
            | exists().where(
                _same_customer(overrides) & _with_reason() & since_queued(overrides.c.created_at)
            )
        )

    @staticmethod
    def _judged_by(user: str) -> Any:
        """A queued customer ``user`` has judged since it was queued (a review, or an
        override with a reason): not offered to them again (a second opinion is another
        case handler's)."""
        judge = judge_key(user)
        return exists().where(
            _same_customer(reviews)
            & (reviews.c.reviewed_at >= review_queue.c.queued_at)
            & (reviews.c.judge == judge)
        ) | exists().where(
            _same_customer(overrides)
            & _with_reason()
            & (overrides.c.created_at >= review_queue.c.queued_at)
            & (overrides.c.judge == judge)
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
        judged_by: str | None = None,
    ) -> dict[str, Any]:
        """The customers still to review, oldest sample first and in each sample's order,
        one page of them, each with who has its form open (within ``REVIEW_HOLD``) and its
        part (``second_opinion`` where offered again); with how many are queued and how many
        are still open. ``free_for``: only the customers nobody else has open and that case
        handler has not judged (the next one to offer them); ``judged_by``: leave out the
        customers that case handler has judged (waiting for another's opinion)."""
        open_rows = self._open_reviews(population)
        for user in {u for u in (free_for, judged_by) if u is not None}:
            open_rows = and_(open_rows, ~self._judged_by(user))
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
                case(
                    (review_queue.c.reopened_at.is_not(None), SECOND_OPINION),
                    else_=review_queue.c.part,
                ).label("part"),
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

    def queued_for_review(
        self, population: Population, subject_id: str, *, judged_by: str | None = None
    ) -> bool:
        """Whether the customer is in a review sample and not reviewed since it was queued
        (or offered again); with ``judged_by``, not judged by that case handler either."""
        open_rows = self._open_reviews(population)
        if judged_by is not None:
            open_rows = and_(open_rows, ~self._judged_by(judged_by))
        with self.engine.connect() as connection:
            found = connection.execute(
                select(review_queue.c.subject_id)
                .where(open_rows)
                .where(review_queue.c.subject_id == int(subject_id))
                .limit(1)
            ).first()
        return found is not None

    def review_records(self, *, include_overrides: bool = True) -> list[dict[str, Any]]:
        """Every review as a row of `reviews.parquet`: the latest per customer, or, for a
        customer in a review sample judged since it was queued, each case handler's latest
        judgement since then (second opinions, which training settles by majority). With
        ``include_overrides``, every override with a reason counts as a review by its
        author: a case handler who overrode a category with a reason has judged the
        customer."""
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        episodes: dict[tuple[str, int], list[tuple[dt.datetime, str, dict[str, Any]]]] = {}
        with self.engine.connect() as connection:
            queued = {
                (row.population, row.subject_id): as_utc(row.queued_at)
                for row in connection.execute(
                    select(
                        review_queue.c.population,
                        review_queue.c.subject_id,
                        review_queue.c.queued_at,
                    )
                )
            }

            def judged(key: tuple[str, int], record: dict[str, Any]) -> None:
                since = queued.get(key)
                if since is not None and record["reviewed_at"] >= since:
                    episodes.setdefault(key, []).append(
                        (record["reviewed_at"], judge_key(record["reviewer"]), record)
                    )
                known = latest.get(key)
                if known is None or known["reviewed_at"] <= record["reviewed_at"]:
                    latest[key] = record

            for row in connection.execute(
                select(reviews).order_by(reviews.c.reviewed_at, reviews.c.id)
            ):
                judged(
                    (row.population, row.subject_id),
                    {
                        "population": row.population,
                        "id": format_id(row.population, row.subject_id),
                        "category": row.category,
                        "reviewer": row.reviewer,
                        "reviewed_at": as_utc(row.reviewed_at),
                        "note": row.note,
                    },
                )
            if include_overrides:
                for row in connection.execute(select(overrides)):
                    if row.reason.strip():
                        judged(
                            (row.population, row.subject_id),
                            {
                                "population": row.population,
                                "id": format_id(row.population, row.subject_id),
                                "category": row.category,
                                "reviewer": row.actor,
                                "reviewed_at": as_utc(row.created_at),
                                "note": f"{OVERRIDE_NOTE}{row.reason}",
                            },
                        )
        return [
            record
            for key, last in latest.items()
            # Oldest first, as ``settle_opinions`` reads them.
            for record in (latest_per_judge(episodes[key]) if key in episodes else [last])
        ]


def _same_customer(table: Any) -> Any:
    """``table``'s rows of the queued customer (in a subquery on the review queue)."""
    return (table.c.population == review_queue.c.population) & (
        table.c.subject_id == review_queue.c.subject_id
    )


def _with_reason() -> Any:
    """An override given with a reason: a case handler's judgement of the customer."""
    return func.length(func.trim(overrides.c.reason)) > 0


def _chunks(values: list[int], size: int = 10_000) -> list[list[int]]:
    """``values`` in lists of at most ``size``: the bound parameters of one IN clause."""
    return [values[start : start + size] for start in range(0, len(values), size)]

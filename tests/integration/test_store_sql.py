"""Point reads bind their parameters through the driver, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from segmentation.store import SegmentStore

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str) -> SegmentStore:
    url = f"sqlite:///{tmp_path / 'segments.db'}" if request.param == "sqlite" else postgres_url
    created = SegmentStore(url)
    created.create()
    yield created
    created.dispose()


def test_a_literal_question_mark_survives_and_parameters_bind(store: SegmentStore) -> None:
    # The old server path rewrote every "?" into "%s", the literal one included.
    rows = store._read([("SELECT 'why?' AS q, CAST(:x AS INTEGER) AS x", {"x": 7})])
    assert rows == [[("why?", 7)]]
    assert store.lookup("citizens", "198112189876") is None  # the real query still binds


def _chunk(ids: list[int]) -> Any:
    import numpy as np

    from segmentation.store import ScoredChunk

    n = len(ids)
    return ScoredChunk(
        subject_ids=np.array(ids, dtype=np.int64),
        category_codes=np.zeros(n, dtype=np.int64),
        category_names=["regular", "irregular", "needs_support"],
        channel_codes=np.zeros(n, dtype=np.int64),
        channel_names=["digital_self_service", "guided_digital", "personal_handler"],
        regions=np.array(["01"] * n, dtype=object),
        supportive=0,
        confidence=np.full(n, 0.9),
        risk=np.zeros(n),
        signals=np.zeros(n, dtype=np.int16),
        inputs=np.ones((n, 26)),
    )


def test_chunks_are_written_in_any_order_and_never_twice(store: SegmentStore) -> None:
    import datetime as dt

    from segmentation.store import prepare_rows

    period = dt.date(2025, 12, 31)
    progress = store.start_run(
        run_key="k", population="citizens", model_version="1", chunk_rows=3, period_end=period
    )
    # 40 rows: more than one multi-row statement, and a remainder.
    second = prepare_rows("citizens", _chunk(list(range(200_000_000_000, 200_000_000_040))))
    first = prepare_rows("citizens", _chunk([100_000_000_003, 100_000_000_001]))
    assert store.write_chunk(second, progress=progress, chunk_index=1, rejected=0)
    assert store.write_chunk(first, progress=progress, chunk_index=0, rejected=2)
    # The same chunk again (a resumed run, or a second worker): not written.
    assert not store.write_chunk(first, progress=progress, chunk_index=0, rejected=2)
    resumed = store.start_run(
        run_key="k", population="citizens", model_version="1", chunk_rows=3, period_end=period
    )
    assert resumed.done == {0, 1}
    store.finish_run(resumed, "citizens")
    assert store.run_totals("k") == (42, 2)
    record = store.lookup("citizens", "100000000001")
    assert record is not None and record.current["category"] == "regular"
    assert store.period("citizens", period).rows == 42  # type: ignore[union-attr]


def test_chunks_written_side_by_side_keep_every_count(store: SegmentStore) -> None:
    """Two workers commit chunks at the same time: no chunk's counts are lost."""
    import datetime as dt
    from concurrent.futures import ThreadPoolExecutor

    from segmentation.store import prepare_rows

    period = dt.date(2025, 12, 31)
    progress = store.start_run(
        run_key="side", population="citizens", model_version="1", chunk_rows=5, period_end=period
    )
    chunks = 40

    def write(index: int) -> bool:
        first = 100_000_000_000 + index * 5
        rows = prepare_rows("citizens", _chunk(list(range(first, first + 5))))
        return store.write_chunk(rows, progress=progress, chunk_index=index, rejected=1)

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert all(pool.map(write, range(chunks)))
    store.finish_run(progress, "citizens")
    written = store.period("citizens", period)
    assert written is not None and written.rows == 5 * chunks
    assert written.counts == {"regular": 5 * chunks, "irregular": 0, "needs_support": 0}
    assert store.run_totals("side") == (5 * chunks, chunks)


def _inputs_chunk(ids: list[int], seed: int) -> Any:
    """A chunk whose inputs differ per customer (and are not in id order)."""
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(seed)
    inputs = rng.integers(0, 50, size=(len(ids), 26)).astype(np.float64)
    inputs[:, 12] = rng.random(len(ids)) * 1000  # handling minutes, not whole
    return dataclasses.replace(_chunk(ids), inputs=inputs), inputs


def test_every_row_reads_back_its_own_inputs_from_the_blocks(store: SegmentStore) -> None:
    """Inputs live apart in compressed blocks: a lookup, the drift sample and the loads
    summed from the table give each customer exactly its own float32 values."""
    import datetime as dt

    import numpy as np

    from segmentation.store import prepare_rows
    from segmentation.store.blocks import INPUT_BLOCK_ROWS

    period = dt.date(2025, 12, 31)
    progress = store.start_run(
        run_key="inputs",
        population="citizens",
        model_version="1",
        chunk_rows=150,
        period_end=period,
    )
    expected: dict[int, np.ndarray] = {}
    # Two chunks of more than two blocks each, ids shuffled, written out of order.
    for index in (1, 0):
        ids = list(range(300_000_000_000 + index * 1000, 300_000_000_000 + index * 1000 + 150))
        ids = [int(i) for i in np.random.default_rng(index).permutation(ids)]
        chunk, inputs = _inputs_chunk(ids, seed=index)
        expected.update(zip(ids, inputs.astype("<f4"), strict=True))
        assert 2 * INPUT_BLOCK_ROWS < 150
        store.write_chunk(
            prepare_rows("citizens", chunk), progress=progress, chunk_index=index, rejected=0
        )
    store.finish_run(progress, "citizens")
    for subject, values in expected.items():
        record = store.lookup("citizens", str(subject))
        assert record is not None
        assert np.array_equal(np.frombuffer(record.current["inputs"], dtype="<f4"), values)
        assert "row_id" not in record.current
    written = store.period("citizens", period)
    assert written is not None and written.input_blocks == INPUT_BLOCK_ROWS
    matrix, categories = store.period_sample(written, rows=100)
    assert len(matrix) == len(categories) >= 50  # about 100: whole blocks
    every = {tuple(v) for v in expected.values()}
    assert all(tuple(row) in every for row in matrix)
    # The loads summed from the table (a period whose run kept none) match the inputs.
    loads = store._sum_loads(written)
    customers, phone = loads["regular"]["01"][:2]  # every row: regular, county 01
    assert customers == len(expected)
    assert phone == pytest.approx(sum(float(v[0]) for v in expected.values()))  # contacts_phone


def test_a_period_written_before_the_blocks_still_reads(store: SegmentStore) -> None:
    """A period table of the earlier layout (each row's inputs in its own column, no
    ``input_blocks`` in the catalog) is still looked up, sampled and summed."""
    import datetime as dt

    import numpy as np
    import sqlalchemy as sa

    from segmentation.store.schema import segment_periods

    name = "citizens_p20241231_0ld0ld00"
    values = np.arange(26, dtype="<f4")
    with store.begin() as connection:
        connection.execute(
            sa.text(
                f"CREATE TABLE {name} (row_id BIGINT PRIMARY KEY, subject_id BIGINT NOT NULL,"
                " category VARCHAR(32) NOT NULL, channel VARCHAR(32) NOT NULL,"
                " region VARCHAR(2) NOT NULL, confidence FLOAT NOT NULL, risk FLOAT NOT NULL,"
                f" signals SMALLINT NOT NULL, inputs {'BYTEA' if not store.is_sqlite else 'BLOB'}"
                " NOT NULL)"
            )
        )
        connection.execute(
            sa.text(
                f"INSERT INTO {name} VALUES (1, 195001011234, 'irregular', 'guided_digital',"
                " '01', 0.8, 0.1, 0, :inputs)"
            ),
            {"inputs": values.tobytes()},
        )
        connection.execute(
            segment_periods.insert().values(
                table_name=name,
                population="citizens",
                period_end=dt.date(2024, 12, 31),
                model_version="1",
                scored_at=dt.datetime(2025, 1, 10, tzinfo=dt.UTC),
                state="current",
                rows=1,
                counts='{"irregular": 1}',
                supportive=0,
            )
        )
    store.forget_periods()
    record = store.lookup("citizens", "195001011234")
    assert record is not None and record.current["category"] == "irregular"
    assert np.array_equal(np.frombuffer(record.current["inputs"], dtype="<f4"), values)
    period = store.period("citizens")
    assert period is not None and period.input_blocks is None
    matrix, categories = store.period_sample(period, rows=10)
    assert categories == ["irregular"] and np.array_equal(matrix[0], values)
    assert store.segment_loads("citizens")  # summed from the old table's inputs


def test_a_run_left_unfinished_in_the_earlier_layout_starts_again(store: SegmentStore) -> None:
    """An upgrade halfway through a run: the earlier version's table keeps inputs in its
    rows, so the run is not resumed into it but starts again (its table dropped)."""
    import datetime as dt

    import sqlalchemy as sa

    from segmentation.store import prepare_rows
    from segmentation.store.schema import segment_periods

    period = dt.date(2025, 12, 31)

    def start() -> Any:
        return store.start_run(
            run_key="u", population="citizens", model_version="1", chunk_rows=5, period_end=period
        )

    first = start()
    rows = prepare_rows("citizens", _chunk([100_000_000_001, 100_000_000_002]))
    assert store.write_chunk(rows, progress=first, chunk_index=0, rejected=0)
    assert start().done == {0}
    with store.begin() as connection:
        connection.execute(
            sa.update(segment_periods)
            .where(segment_periods.c.table_name == first.table_name)
            .values(input_blocks=None)
        )
    again = start()
    assert again.done == frozenset() and again.table_name != first.table_name
    assert first.table_name not in sa.inspect(store.engine).get_table_names()


def test_a_review_sample_is_queued_in_order_and_a_review_takes_a_customer_off(
    store: SegmentStore,
) -> None:
    """The case handlers' review queue: the sample's order, oldest sample first, a page at a
    time; a review since queuing closes a customer, one from before does not; re-queuing a
    sample replaces it."""
    import time

    earlier = "194001011230"
    store.add_review("citizens", earlier, category="irregular", reviewer="anna", note=None)
    time.sleep(0.01)
    first = [earlier, "195002021231", "196003031232"]
    assert store.queue_reviews("citizens", "s1", first, ["borderline", "spread", "spread"]) == 3
    time.sleep(0.01)
    store.queue_reviews("citizens", "s2", ["197004041233"], ["borderline"])
    store.queue_reviews("employers", "s3", ["5560000001"], ["spread"])
    queue = store.review_queue("citizens", page=1, page_size=2)
    assert [c["customer_id"] for c in queue["customers"]] == first[:2]
    assert (queue["queued"], queue["open"]) == (4, 4)  # the earlier review does not count
    assert [c["customer_id"] for c in store.review_queue("citizens", page=2, page_size=2)[
        "customers"
    ]] == [first[2], "197004041233"]  # fmt: skip
    store.add_review("citizens", first[1], category="regular", reviewer="anna", note="ok")
    assert not store.queued_for_review("citizens", first[1])
    assert store.queued_for_review("citizens", first[0])
    assert not store.queued_for_review("citizens", "198005051234")  # never queued
    queue = store.review_queue("citizens")
    assert [c["customer_id"] for c in queue["customers"]] == [first[0], first[2], "197004041233"]
    assert (queue["queued"], queue["open"]) == (4, 3)
    assert store.queue_reviews("citizens", "s1", first[:1], ["spread"]) == 1  # replaced
    assert store.review_queue("citizens")["queued"] == 2
    # A later round marks answered the customers reviewed in an earlier round's file.
    store.queue_reviews("citizens", "s4", ["198005051234"], ["borderline"], answered=first[:1])
    assert [c["customer_id"] for c in store.review_queue("citizens")["customers"]] == [
        "197004041233",
        "198005051234",
    ]
    # A customer drawn again waits once, in the later sample.
    store.queue_reviews("citizens", "s5", ["197004041233"], ["spread"])
    queue = store.review_queue("citizens")
    assert [(c["customer_id"], c["sample"]) for c in queue["customers"]] == [
        ("198005051234", "s4"),
        ("197004041233", "s5"),
    ]
    # The operator's view: every sample with what it holds and what still waits (s1's last
    # customer left with the later round); then one withdrawn.
    samples = {
        (x["population"], x["sample"]): (x["queued"], x["open"]) for x in store.review_samples()
    }
    assert samples == {
        ("citizens", "s1"): (1, 0),  # answered in the file
        ("citizens", "s4"): (1, 1),
        ("citizens", "s5"): (1, 1),
        ("employers", "s3"): (1, 1),
    }
    assert store.withdraw_sample("s4") == (1, 1) and store.withdraw_sample("s4") == (0, 0)
    assert [c["sample"] for c in store.review_queue("citizens")["customers"]] == ["s5"]
    store.add_review("citizens", "197004041233", category="regular", reviewer="bo", note=None)
    assert [(x["sample"], x["queued"], x["open"]) for x in store.review_samples()] == [
        ("s3", 1, 1),
        ("s1", 1, 0),
        ("s5", 1, 0),
    ]
    assert store.review_queue("employers")["customers"] == [
        {"customer_id": "5560000001", "part": "spread", "sample": "s3", "open_by": None}
    ]
    # Reviewed in a file and trained with (`segmentation train --reviews`): off the page,
    # still counted in its sample; marked once.
    assert store.mark_answered("employers", ["5560000001", "5560000002"]) == 1
    assert store.mark_answered("employers", ["5560000001"]) == 0
    employers = store.review_queue("employers")
    assert (employers["queued"], employers["open"], employers["customers"]) == (1, 0, [])
    assert not store.queued_for_review("employers", "5560000001")
    # Withdrawn once answered: it held the customer, who no longer waited.
    assert store.withdraw_sample("s3") == (1, 0)


def test_a_judgement_that_differs_from_the_model_is_judged_again_by_others(
    store: SegmentStore,
) -> None:
    """Second opinions on the review page: a queued customer of the spread part judged
    otherwise than the model is offered again, to the other case handlers only; two who
    split call a third; the majority closes it. A borderline customer gets none. The export
    holds each case handler's judgement since the customer was queued (training settles
    them), and the latest judgement of anyone else."""
    import time

    agreed, differs, edge = "195002021231", "196003031232", "197004041233"
    store.add_review("citizens", differs, category="regular", reviewer="dan", note=None)
    time.sleep(0.01)
    store.queue_reviews("citizens", "s1", [edge, agreed, differs], ["borderline", *["spread"] * 2])
    # A borderline customer teaches, and measures nothing: one judgement is enough.
    assert _judge(store, edge, "irregular", "anna") is False
    assert _judge(store, agreed, "regular", "anna") is False
    assert _judge(store, differs, "irregular", "anna") is True
    # Open again, for bo; not for anna, who judged it.
    queue = store.review_queue("citizens", free_for="bo")
    assert [(c["customer_id"], c["part"]) for c in queue["customers"]] == [
        (differs, "second_opinion")
    ]
    assert store.review_queue("citizens", free_for="anna")["customers"] == []
    assert store.review_queue("citizens", judged_by="anna")["open"] == 0
    assert store.queued_for_review("citizens", differs)
    assert not store.queued_for_review("citizens", differs, judged_by="anna")
    assert store.queued_for_review("citizens", differs, judged_by="bo")
    # bo differs from anna: a third case handler decides.
    time.sleep(0.01)
    assert _judge(store, differs, "regular", "bo") is True
    assert [c["customer_id"] for c in store.review_queue("citizens", free_for="cia")[
        "customers"
    ]] == [differs]  # fmt: skip
    assert store.review_queue("citizens", free_for="bo")["customers"] == []
    time.sleep(0.01)
    assert _judge(store, differs, "irregular", "cia") is False
    assert store.review_queue("citizens")["open"] == 0
    exported = sorted(
        (r["id"], r["reviewer"], r["category"])
        for r in store.review_records(include_overrides=False)
    )
    assert exported == [
        (agreed, "anna", "regular"),
        (differs, "anna", "irregular"),
        (differs, "bo", "regular"),
        (differs, "cia", "irregular"),
        (edge, "anna", "irregular"),
    ]  # dan's judgement, from before the customer was queued, is no opinion on it


def _judge(store: SegmentStore, customer: str, category: str, reviewer: str) -> bool:
    """``reviewer``'s review of a customer the model names regular; whether it asks for
    another case handler's judgement."""
    answer = store.add_review(
        "citizens", customer, category=category, reviewer=reviewer, note=None,
        model_category="regular",
    )  # fmt: skip
    return bool(answer["second_opinion"])


def _judged_otherwise_than_the_model(store: SegmentStore, reviewer: str) -> str:
    """A customer queued in a sample's spread part and judged by ``reviewer`` otherwise than
    the model: offered again for a second opinion. Its id."""
    differs = "196003031232"
    store.queue_reviews("citizens", "s1", [differs], ["spread"])
    assert _judge(store, differs, "irregular", reviewer) is True
    return differs


def test_an_override_with_a_reason_is_a_judgement_on_the_review_page_too(
    store: SegmentStore,
) -> None:
    """The export counts an override with a reason as its author's review; so does the page.
    A customer waiting in a sample's spread part, overridden otherwise than the model, is
    answered by it and offered for a second opinion to the other case handlers, not to its
    author (before, it stayed on the page for everyone, a review agreeing with the model
    asked no one else, and the export's one-against-one left the customer out of training).
    An override agreeing with the model answers the customer; removed, it answers nothing."""
    import time

    differs, agrees = "196003031232", "194001011230"
    store.queue_reviews("citizens", "s1", [differs, agrees], ["spread", "spread"])
    stored = store.set_override(
        "citizens", differs, category="needs_support", reason="flera förmåner samtidigt",
        actor="Anna", expires_at=None, model_category="regular",
    )  # fmt: skip
    assert stored["second_opinion"] is True
    assert [c["customer_id"] for c in store.review_queue("citizens", free_for="anna")[
        "customers"
    ]] == [agrees]  # fmt: skip
    assert store.queued_for_review("citizens", differs, judged_by="bo")
    time.sleep(0.01)
    assert _judge(store, differs, "needs_support", "bo") is False  # two case handlers agree
    # Oldest first, the override before the review that followed it.
    assert [
        (r["reviewer"], r["category"]) for r in store.review_records() if r["id"] == differs
    ] == [("Anna", "needs_support"), ("bo", "needs_support")]
    same = store.set_override(
        "citizens", agrees, category="regular", reason="vardagen rullar på",
        actor="cia", expires_at=None, model_category="regular",
    )  # fmt: skip
    assert same["second_opinion"] is False
    assert store.review_queue("citizens")["open"] == 0
    assert store.remove_override("citizens", agrees, actor="cia", reason="fel kund")
    assert [c["customer_id"] for c in store.review_queue("citizens")["customers"]] == [agrees]


def test_an_override_replaced_by_another_case_handler_stays_its_authors_judgement(
    store: SegmentStore,
) -> None:
    """The store holds one override per customer. A second opinion given as an override
    replaces the first case handler's: both judgements count, on the page as in the export
    (before, the first was lost, the customer went back to its author and the export held
    one judgement). An override replaced or removed by its own author is taken back; one
    removed by a colleague stays its author's judgement."""
    import time

    (differs,) = ["196003031232"]
    store.queue_reviews("citizens", "s1", [differs], ["spread"])

    def override(category: str, actor: str) -> bool:
        time.sleep(0.01)
        return bool(
            store.set_override(
                "citizens", differs, category=category, reason=f"{actor} träffade kunden",
                actor=actor, expires_at=None, model_category="regular",
            )["second_opinion"]
        )  # fmt: skip

    def judged() -> list[tuple[str, str]]:
        records = store.review_records()
        return [(r["reviewer"], r["category"]) for r in records if r["id"] == differs]

    assert override("needs_support", "anna") is True
    assert override("irregular", "anna") is True  # her own, taken back: still one judgement
    assert judged() == [("anna", "irregular")]
    assert override("needs_support", "Bo") is True  # two differ: a third is asked
    assert judged() == [("anna", "irregular"), ("Bo", "needs_support")]
    for judge in ("anna", "bo"):
        assert not store.queued_for_review("citizens", differs, judged_by=judge)
    assert [c["customer_id"] for c in store.review_queue("citizens", free_for="cia")[
        "customers"
    ]] == [differs]  # fmt: skip
    (kept,) = [r for r in store.review_records(include_overrides=False) if r["id"] == differs]
    assert kept["note"] == "override: anna träffade kunden"
    assert store.remove_override("citizens", differs, actor="Bo", reason="fel kund")
    assert judged() == [("anna", "irregular")]
    # Removed by someone else, anna's override is still her (latest) judgement.
    assert override("regular", "anna") is False  # she now agrees with the model
    assert store.remove_override("citizens", differs, actor="Bo", reason="borttagen")
    assert judged() == [("anna", "regular")]


def test_a_case_handler_is_known_whatever_the_case_of_their_name(
    store: SegmentStore,
) -> None:
    """Swedish names begin with capitals SQLite's ``lower`` leaves alone (Å, Ä, Ö): the
    case handler who judged a customer is still not offered it for the second opinion,
    however the name was written."""
    differs = _judged_otherwise_than_the_model(store, "Örjan.Åberg ")
    for same in ("Örjan.Åberg", "örjan.åberg", "ÖRJAN.ÅBERG"):
        assert store.review_queue("citizens", free_for=same)["customers"] == []
        assert not store.queued_for_review("citizens", differs, judged_by=same)
    assert store.queued_for_review("citizens", differs, judged_by="Åsa")
    # The same case handler again is still one judgement: no third opinion is called.
    assert _judge(store, differs, "regular", "örjan.åberg") is False


def test_a_customer_offered_for_a_second_opinion_leaves_the_page_once_judged_in_a_file(
    store: SegmentStore,
) -> None:
    """Judged on the page otherwise than the model, a customer is offered again; exported and
    given to `review opinions`, whose file asks the second opinion, it leaves the page
    (``mark_answered``): one case handler judges it, not one on each side."""
    differs = _judged_otherwise_than_the_model(store, "anna")
    assert store.queued_for_review("citizens", differs, judged_by="bo")
    assert store.mark_answered("citizens", [differs]) == 1
    assert not store.queued_for_review("citizens", differs, judged_by="bo")
    assert store.review_queue("citizens", free_for="bo")["customers"] == []
    assert store.review_queue("citizens")["open"] == 0


def test_a_review_form_open_keeps_the_customer_from_others_for_a_while(
    store: SegmentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segmentation.store import overrides as case_writes

    ids = ["194001011230", "195002021231"]
    store.queue_reviews("citizens", "s1", ids, ["borderline", "spread"])
    store.claim_review("citizens", ids[0], "anna")
    free_for_bo = store.review_queue("citizens", page_size=1, free_for="bo")
    assert [c["customer_id"] for c in free_for_bo["customers"]] == [ids[1]]
    assert free_for_bo["open"] == 2  # held, still open
    assert store.review_queue("citizens", page_size=1, free_for="anna")["customers"][0][
        "customer_id"
    ] == ids[0]  # fmt: skip
    assert [c["open_by"] for c in store.review_queue("citizens")["customers"]] == ["anna", None]
    # After the hold the customer is offered to anyone again.
    monkeypatch.setattr(case_writes, "REVIEW_HOLD", dt.timedelta(0))
    assert store.review_queue("citizens", page_size=1, free_for="bo")["customers"][0][
        "customer_id"
    ] == ids[0]  # fmt: skip
    assert store.review_queue("citizens")["customers"][0]["open_by"] is None


def test_a_store_from_before_a_column_was_added_gets_it_on_create(store: SegmentStore) -> None:
    """A store file or database made by an earlier release: ``create`` adds the columns the
    store's tables gained since (``ADDED_COLUMNS``), and the reads that use them work."""
    import sqlalchemy as sa

    from segmentation.store.schema import ADDED_COLUMNS

    with store.engine.begin() as connection:
        for table, names in ADDED_COLUMNS.items():
            for name in names:
                connection.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {name}")
        # A judgement recorded by that release, by a name SQLite's lower() leaves alone.
        connection.exec_driver_sql(
            "INSERT INTO segment_reviews (population, subject_id, category, reviewer,"
            " reviewed_at) VALUES ('citizens', 196003031232, 'irregular', 'Örjan ',"
            " '2099-01-01 00:00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO segment_overrides (population, subject_id, category, reason, actor,"
            " created_at) VALUES ('citizens', 195002021231, 'needs_support', 'flera förmåner',"
            " 'Åsa', '2099-01-01 00:00:00')"
        )
    inspector = sa.inspect(store.engine)
    assert "answered_at" not in {c["name"] for c in inspector.get_columns("segment_review_queue")}
    store.create()
    inspector = sa.inspect(store.engine)
    for table, names in ADDED_COLUMNS.items():
        assert set(names) <= {c["name"] for c in inspector.get_columns(table)}, table
    store.queue_reviews("citizens", "s1", ["194001011230"], ["spread"])
    assert store.mark_answered("citizens", ["194001011230"]) == 1
    assert store.review_queue("citizens")["open"] == 0
    # The older judgement knows its case handler as the new ones do.
    with store.engine.connect() as connection:
        judges = connection.exec_driver_sql("SELECT judge FROM segment_reviews").scalars()
        assert list(judges) == ["örjan"]
        judges = connection.exec_driver_sql("SELECT judge FROM segment_overrides").scalars()
        assert list(judges) == ["åsa"]

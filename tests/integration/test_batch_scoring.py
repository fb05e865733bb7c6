"""Batch scoring into the store: counts, idempotency, and resuming after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from segmentation.store import SegmentStore
from tests.factories import citizen_row
from tests.integration.runs import (
    CHUNK_ROWS,
    N_BAD,
    assert_exited,
    children,
    chunks_done,
    descendants,
    parts_written,
    run_score,
    score_command,
    score_env,
)

pytestmark = pytest.mark.integration


def kill_halfway_then_resume(
    trained_home: Path,
    data: Path,
    out: Path,
    store_url: str,
    killed: tuple[str, ...] = (),
    resumed_by: tuple[str, ...] = (),
    chunk_rows: int = CHUNK_ROWS,
) -> None:
    """A run started with the options ``killed``, killed with SIGKILL after 8 chunks, then
    resumed with the options ``resumed_by`` (the engines share the chunk ledger), then run
    again: exactly one row per customer each time, and no process of the killed run left."""
    env = score_env(trained_home, store_url, chunk_rows)
    command = score_command(data, out, *killed)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    engine = sa.create_engine(store_url)
    deadline = time.monotonic() + 300
    # A chunk's Parquet part is written just before its commit: counted too, as SQLite's
    # readers can wait out a whole run while two writers take turns.
    while (
        max(chunks_done(engine), parts_written(out)) < 8
        and time.monotonic() < deadline
        and process.poll() is None
    ):
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    # This machine's worker processes, or Spark's JVM and the Python workers it started.
    workers = descendants(process.pid) if "spark" in killed else children(process.pid)
    assert workers, "the run scores in worker processes"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert_exited(workers)  # no orphaned worker process keeps running
    done_when_killed = chunks_done(engine)
    total_chunks = -(-(60_000 + N_BAD) // chunk_rows)
    assert 0 < done_when_killed < total_chunks

    resumed = run_score(env, data, out, *resumed_by)
    assert resumed.returncode == 0, resumed.stderr
    assert f"accepted 60,000, rejected {N_BAD}" in resumed.stdout
    assert "chunks were written already" in " ".join(resumed.stdout.split())

    store = SegmentStore(store_url)
    assert store.period("citizens").rows == 60_000  # exactly one row per customer
    # Nothing left over: the period's table and its inputs, no table of the killed try.
    assert _period_tables(engine) == _with_inputs(store.period("citizens").table_name)
    first_table = store.period("citizens").table_name
    segments = pq.read_table(out / "citizens_segments.parquet").to_pandas()
    assert len(segments) == 60_000 and segments["customer_id"].is_unique
    rejected = pq.read_table(out / "citizens_rejected.parquet").to_pandas()
    assert len(rejected) == N_BAD and rejected["reason"].str.len().gt(0).all()

    again = run_score(env, data, out)  # a re-run of the period replaces it, whole
    assert again.returncode == 0, again.stderr
    assert store.period("citizens").rows == 60_000
    replaced = store.period("citizens").table_name
    assert replaced != first_table and _period_tables(engine) == _with_inputs(replaced)
    one = str(segments["customer_id"].iloc[0])
    assert [e["period_end"] for e in store.lookup("citizens", one).history] == [
        store.period("citizens").period_end
    ]
    store.dispose()
    engine.dispose()


def _period_tables(engine: sa.Engine) -> list[str]:
    return sorted(t for t in sa.inspect(engine).get_table_names() if t.startswith("citizens_p"))


def _with_inputs(table: str) -> list[str]:
    return [table, f"{table}_inputs"]


def test_kill_and_resume_on_sqlite(trained_home: Path, scoring_data: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'segments.db'}"
    kill_halfway_then_resume(trained_home, scoring_data, tmp_path / "out", url)


def test_kill_and_resume_on_postgres(
    trained_home: Path, scoring_data: Path, tmp_path: Path, postgres_url: str
) -> None:
    kill_halfway_then_resume(trained_home, scoring_data, tmp_path / "out", postgres_url)


def _second_run_waits_its_turn(trained_home: Path, data: Path, out: Path, url: str) -> None:
    """While one process scores a period (here: holds its lock), another run of the same
    period stops in one line (exit 4) and touches nothing: before, its start dropped the
    first run's table, and the first died with a traceback. Once the lock is free, it runs."""
    import datetime as dt

    from segmentation.store import RunInProgress

    store = SegmentStore(url)
    store.create()
    env = score_env(trained_home, url)
    with store.period_lock("citizens", dt.date(2025, 12, 31)):
        second = store.period_lock("citizens", dt.date(2025, 12, 31))
        with pytest.raises(RunInProgress):  # a second holder, in this process too
            second.__enter__()
        with store.period_lock("citizens", dt.date(2024, 12, 31)):  # another period is free
            pass
        busy = run_score(env, data, out)
        assert busy.returncode == 4, busy.stdout + busy.stderr
        said = " ".join(busy.stdout.split())
        assert "citizens, period 2025-12-31: another `segmentation score` is scoring" in said
        assert "Traceback" not in busy.stdout + busy.stderr
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            started = connection.execute(sa.text("SELECT count(*) FROM batch_runs")).scalar()
        engine.dispose()
        assert started == 0
    done = run_score(env, data, out)
    assert done.returncode == 0, done.stderr
    assert f"accepted 60,000, rejected {N_BAD}" in " ".join(done.stdout.split())
    store.dispose()


def test_a_second_run_of_a_period_waits_its_turn_on_sqlite(
    trained_home: Path, scoring_data: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'segments.db'}"
    _second_run_waits_its_turn(trained_home, scoring_data, tmp_path / "out", url)


def test_a_second_run_of_a_period_waits_its_turn_on_postgres(
    trained_home: Path, scoring_data: Path, tmp_path: Path, postgres_url: str
) -> None:
    _second_run_waits_its_turn(trained_home, scoring_data, tmp_path / "out", postgres_url)


@pytest.mark.parametrize("defect", ["missing column", "id as integer", "not parquet"])
def test_a_broken_table_is_one_line_with_its_own_exit_code(
    trained_home: Path, population_dir: Path, tmp_path: Path, defect: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    frame = pq.read_table(population_dir / "employers.parquet").to_pandas().head(500)
    if defect == "missing column":
        frame.drop(columns=["cases"]).to_parquet(data / "employers.parquet", index=False)
        expected = "employers.parquet: missing required column(s): cases"
    elif defect == "id as integer":
        frame.assign(org_number=frame["org_number"].astype("int64")).to_parquet(
            data / "employers.parquet", index=False
        )
        expected = "employers.parquet: org_number is stored as int64"
    else:
        (data / "employers.parquet").write_text("org_number,cases\n5560360793,1\n")
        expected = "employers.parquet: not a readable Parquet file"
    store_url = f"sqlite:///{tmp_path / 's.db'}"
    result = run_score(score_env(trained_home, store_url), data, tmp_path / "out")
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in " ".join(result.stdout.split())
    assert "Traceback" not in result.stdout + result.stderr
    engine = sa.create_engine(store_url)
    with engine.connect() as connection:  # no run was started, so none is left unfinished
        assert connection.execute(sa.text("SELECT count(*) FROM batch_runs")).scalar() == 0
    engine.dispose()


def test_periods_make_the_history_and_a_rerun_replaces_its_period(
    trained_home: Path, tmp_path: Path
) -> None:
    from models.registry import configure_mlflow, load_champion
    from tests.conftest import make_settings
    from tests.factories import needs_support_row
    from training.score import score_folder

    settings = make_settings(trained_home)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    champions = {"citizens": load_champion("citizens")}
    store = SegmentStore(f"sqlite:///{tmp_path / 's.db'}")
    same = "198112189876"

    def score(period: str, row: dict[str, object], folder: str) -> None:
        data = tmp_path / folder
        data.mkdir()
        frame = pd.DataFrame([row])
        frame["period_end"] = pd.Timestamp(period)
        frame.to_parquet(data / "citizens.parquet", index=False)
        score_folder(data, store, champions, chunk_rows=100)

    score("2024-12-31", citizen_row(customer_id=same), "a")
    score("2025-12-31", needs_support_row(customer_id=same), "b")
    entries = store.lookup("citizens", same).history
    assert [(e["category"], str(e["period_end"])) for e in entries] == [
        ("regular", "2024-12-31"),
        ("needs_support", "2025-12-31"),
    ]
    assert entries[0]["until"] == entries[1]["at"]  # a period lasts until the next is scored
    assert store.current("citizens", same)["category"] == "needs_support"
    # The same period scored again (corrected data) replaces that period only.
    score("2025-12-31", citizen_row(customer_id=same), "c")
    assert [e["category"] for e in store.lookup("citizens", same).history] == ["regular", "regular"]
    assert len(store.periods("citizens", fresh=True)) == 2
    store.dispose()


def test_every_copy_of_an_id_repeated_across_chunks_is_set_aside(
    trained_home: Path, population_dir: Path, tmp_path: Path
) -> None:
    from models.registry import configure_mlflow, load_champion
    from tests.conftest import make_settings
    from training.score import score_folder

    settings = make_settings(trained_home)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    citizens = pq.read_table(population_dir / "citizens.parquet").to_pandas().head(3_000)
    repeated = citizens.iloc[[10, 20, 30, 40, 50]].copy()
    repeated["contacts_phone"] += 7  # the later copy says something else
    data = tmp_path / "data"
    data.mkdir()
    pd.concat([citizens, repeated], ignore_index=True).to_parquet(data / "citizens.parquet")
    store = SegmentStore(f"sqlite:///{tmp_path / 's.db'}")
    out = tmp_path / "out"
    (report,) = score_folder(
        data, store, {"citizens": load_champion("citizens")}, chunk_rows=1_000, out=out
    )
    assert (report.accepted, report.rejected) == (2_995, 10)
    rejected = pd.read_parquet(out / "citizens_rejected.parquet")
    assert sorted(rejected["customer_id"]) == sorted(list(repeated["customer_id"]) * 2)
    assert set(rejected["reason"]) == {"duplicate customer_id"}
    segments = pd.read_parquet(out / "citizens_segments.parquet")
    assert segments["customer_id"].is_unique and len(segments) == 2_995
    assert all(store.current("citizens", id_) is None for id_ in repeated["customer_id"])

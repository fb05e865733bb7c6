"""`segmentation score --engine spark`: the same run as the local engine's, on Spark.

A real local Spark (Java 17, PySpark from the `spark` extra): the executors read, validate,
score and write the chunks into the real store, SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from segmentation.store import SegmentStore
from tests.integration.runs import N_BAD, run_score, score_env
from tests.integration.test_batch_scoring import kill_halfway_then_resume

pytestmark = pytest.mark.integration


def _segments(out: Path, population: str) -> pd.DataFrame:
    frame = pq.read_table(out / f"{population}_segments.parquet").to_pandas()
    return frame.drop(columns="scored_at").sort_values(frame.columns[0], ignore_index=True)


def test_a_spark_run_killed_halfway_resumes_on_either_engine(
    trained_home: Path, scoring_data: Path, tmp_path: Path
) -> None:
    """Killed on Spark (its JVM and Python workers go with it), resumed on this machine's
    workers; then killed on this machine's and resumed on Spark. Each resume writes the
    chunks left and no row twice. (Spark's two tasks at a time score the table in seconds:
    smaller chunks leave time to kill it halfway.)"""
    spark = ("--engine", "spark")
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    kill_halfway_then_resume(
        trained_home, scoring_data, tmp_path / "a", first, killed=spark, chunk_rows=500
    )
    kill_halfway_then_resume(trained_home, scoring_data, tmp_path / "b", second, resumed_by=spark)


def test_spark_writes_what_the_local_engine_writes_into_postgres(
    trained_home: Path, scoring_data: Path, tmp_path: Path, postgres_url: str
) -> None:
    env = score_env(trained_home, postgres_url)
    local = run_score(env, scoring_data, tmp_path / "local")
    assert local.returncode == 0, local.stderr
    store = SegmentStore(postgres_url)
    local_rows = store.period("citizens").rows
    on_spark = run_score(env, scoring_data, tmp_path / "spark", "--engine", "spark")
    assert on_spark.returncode == 0, on_spark.stderr
    said = " ".join(on_spark.stdout.split())
    assert f"citizens: period 2025-12-31: accepted 60,000, rejected {N_BAD}" in said
    assert "employers: period 2025-12-31: accepted 8,000, rejected 0" in said
    assert "Traceback" not in on_spark.stdout + on_spark.stderr
    for population in ("citizens", "employers"):
        pd.testing.assert_frame_equal(
            _segments(tmp_path / "spark", population), _segments(tmp_path / "local", population)
        )
    rejected = pq.read_table(tmp_path / "spark" / "citizens_rejected.parquet").to_pandas()
    expected = pq.read_table(tmp_path / "local" / "citizens_rejected.parquet").to_pandas()
    assert sorted(rejected["reason"]) == sorted(expected["reason"]) and len(rejected) == N_BAD
    assert store.period("citizens").rows == local_rows == 60_000
    segments = _segments(tmp_path / "spark", "citizens")
    one = segments.iloc[123]
    stored = store.current("citizens", str(one["customer_id"]))
    assert stored["category"] == one["category"] and stored["channel"] == one["channel"]
    store.dispose()


def test_a_failing_task_is_one_line_and_keeps_what_was_written(
    champion_bundles: dict, scoring_data: Path, tmp_path: Path
) -> None:
    """A task that raises (here: its chunk's file is gone) stops the run with one line
    naming the error and reports no chunk as finished; the session then scores the next
    chunks it is given, each written once."""
    from training.score import Chunk, ChunkJob, TableRun, chunk_plan
    from training.spark import SparkEngine, SparkFailure

    url = f"sqlite:///{tmp_path / 'segments.db'}"
    store = SegmentStore(url)
    store.create()
    bundle, version = champion_bundles["employers"]
    progress = store.start_run(
        run_key="employers:test",
        population="employers",
        model_version=version,
        chunk_rows=1_000,
        period_end=dt.date(2025, 12, 31),
    )
    path = scoring_data / "employers.parquet"
    chunks = chunk_plan(pq.ParquetFile(path).metadata, 1_000)
    engine = SparkEngine.start("local[2]", url)
    try:

        def job(table: Path) -> ChunkJob:
            return ChunkJob(
                "employers", table, version, progress.scored_at, None, None, bundle, url, progress
            )

        finished: list[Chunk] = []
        run = TableRun("employers", progress, 8_000, None)
        run.finished = lambda chunk, written: finished.append(chunk)  # type: ignore[method-assign]
        with pytest.raises(SparkFailure) as failure:
            engine.run_chunks(run, job(tmp_path / "gone.parquet"), chunks)
        message = str(failure.value)
        assert "\n" not in message and "FileNotFoundError" in message
        assert "run `segmentation score` again to resume" in message and not finished
        engine.run_chunks(run, job(path), chunks[:3])  # the same session still works
        assert [chunk.index for chunk in finished] == [0, 1, 2]
    finally:
        engine.close()
    assert store.run_totals("employers:test") == (3_000, 0)
    store.dispose()

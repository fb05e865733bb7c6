"""`segmentation score --engine spark`: a table's chunks scored by Spark's executors.

The chunks are the local engine's (``training.score.chunk_plan``: slices of the Parquet row
groups), one Spark task each. A task reads its chunk from the file, validates and scores it,
and writes it to the segment store in one transaction that marks it done
(``training.score.score_and_write``), exactly as a local worker process does. So a run on
Spark is the same run as on this machine: the same key, the same chunk ledger, the same rows.
A run interrupted on one engine resumes on the other; a task that Spark runs again (a lost
executor, a retried failure) finds its chunk written and writes nothing.

What the executors need: the table's file and the output folder at the same path as here (a
shared filesystem, or any path on a local master), this project installed in the Python
they run (``PYSPARK_PYTHON``; a local master uses this process's), and the segment store
(PostgreSQL; the embedded SQLite file serves a local master only).

PySpark is an optional extra (``pip install 'segmentation[spark]'``) and needs Java 17 or
newer; without either, :meth:`SparkEngine.start` says so in one line.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import uuid
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from training.score import Chunk, ChunkJob, ChunkWritten, TableRun, score_and_write

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: How often the progress bar asks Spark how many tasks have finished.
POLL_SECONDS = 0.5


_LOOPBACK = "127.0.0.1"
#: A local master's log: errors only (its executors share the driver's JVM).
_LOG = Path(__file__).with_name("spark-log4j2.properties").as_uri()


class SparkUnavailable(RuntimeError):
    """Spark cannot run the scoring here; the message says why in one line."""


class SparkFailure(RuntimeError):
    """A Spark task failed; the chunks written before it stay written (run again to resume)."""


def local_master(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def check_store(master: str, store_url: str) -> None:
    """A cluster's executors cannot write to this machine's SQLite file."""
    if not local_master(master) and make_url(store_url).get_backend_name() == "sqlite":
        raise SparkUnavailable(
            f"Spark master {master}: its executors cannot write to the embedded SQLite store; "
            "set SEGMENTATION_STORE_URL to a PostgreSQL server they reach"
        )


def driver_environment(master: str, environ: MutableMapping[str, str]) -> None:
    """The variables PySpark reads when it starts the driver, for ``master``."""
    environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if local_master(master):  # the executors run this Python, with this project in it
        environ.setdefault("PYSPARK_PYTHON", sys.executable)
    elif environ.get("SPARK_LOCAL_IP") == _LOOPBACK:
        # pandera sets this when it is imported with PySpark present (the contracts import
        # it before Spark starts); a cluster's executors cannot reach a driver on loopback.
        del environ["SPARK_LOCAL_IP"]


class SparkEngine:
    """Runs chunks as Spark tasks (``training.score.ChunkEngine``)."""

    def __init__(self, session: SparkSession) -> None:
        self.session = session

    @classmethod
    def start(cls, master: str, store_url: str) -> SparkEngine:
        """A Spark session for scoring on ``master`` (``local[2]``, ``spark://host:7077``,
        ``yarn``, ...), or :class:`SparkUnavailable`."""
        check_store(master, store_url)
        try:
            from pyspark.errors import PySparkException
            from pyspark.sql import SparkSession
        except ImportError as error:
            raise SparkUnavailable(
                "the Spark engine needs PySpark: pip install 'segmentation[spark]'"
            ) from error
        driver_environment(master, os.environ)
        builder: Any = (
            SparkSession.builder.master(master)
            .appName("segmentation score")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
        if local_master(master):  # a cluster keeps its own Java options and log settings
            builder = builder.config(
                "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_LOG}"
            )
        try:
            session = builder.getOrCreate()
        except (PySparkException, OSError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise SparkUnavailable(
                f"Spark did not start on {master} (it needs Java 17 or newer): {first}"
            ) from error
        session.sparkContext.setLogLevel("ERROR")
        log.info("Spark %s on %s", session.version, master)
        return cls(session)

    def run_chunks(self, run: TableRun, job: ChunkJob, chunks: list[Chunk]) -> None:
        """One task a chunk, all in one Spark job; the progress bar follows the finished
        tasks, and each chunk is logged when the job is done."""
        context = self.session.sparkContext
        group = f"segmentation-score-{uuid.uuid4().hex}"
        tasks = context.parallelize(chunks, len(chunks)).map(
            functools.partial(score_and_write, job)
        )

        def collect() -> list[ChunkWritten]:
            context.setJobGroup(group, f"score {job.population}", interruptOnCancel=True)
            return list(tasks.collect())

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spark-job") as thread:
            future = thread.submit(collect)
            try:
                while not wait([future], timeout=POLL_SECONDS).done:
                    finished = self._finished_tasks(group)
                    if finished:
                        run.report_rows(chunks[min(finished, len(chunks)) - 1].end_row)
                results = future.result()
            except BaseException as error:  # Ctrl-C included: no task is left running
                context.cancelJobGroup(group)
                if isinstance(error, Exception):
                    raise SparkFailure(_task_error(job.population, error)) from error
                raise
        for chunk, written in zip(chunks, results, strict=True):
            run.finished(chunk, written)

    def _finished_tasks(self, group: str) -> int:
        tracker = self.session.sparkContext.statusTracker()
        finished = 0
        for job_id in tracker.getJobIdsForGroup(group):
            info = tracker.getJobInfo(job_id)
            for stage_id in info.stageIds if info else ():
                stage = tracker.getStageInfo(stage_id)
                finished += stage.numCompletedTasks if stage else 0
        return finished

    def close(self) -> None:
        self.session.stop()


def _task_error(population: str, error: Exception) -> str:
    """One line: the Python error a task raised (its traceback's last line), or Spark's."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    python_error = [line for line in lines if line.split(":")[0].endswith(("Error", "Exception"))]
    reason = (python_error or lines or [type(error).__name__])[-1]
    return (
        f"{population}: Spark stopped the scoring ({reason}); the chunks written before "
        "it stay written: run `segmentation score` again to resume"
    )

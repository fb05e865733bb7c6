"""The Spark engine's refusals, each one line before any Spark starts."""

from __future__ import annotations

import sys

import pytest

from training.spark import (
    SparkEngine,
    SparkUnavailable,
    _task_error,
    check_store,
    driver_environment,
)


def test_a_cluster_cannot_write_to_the_embedded_sqlite_store() -> None:
    check_store("local[2]", "sqlite:////tmp/s.db")  # a local master shares this machine
    check_store("spark://cluster:7077", "postgresql+psycopg://seg@db/segments")
    with pytest.raises(SparkUnavailable, match="SEGMENTATION_STORE_URL to a PostgreSQL"):
        check_store("spark://cluster:7077", "sqlite:////tmp/s.db")
    with pytest.raises(SparkUnavailable, match="embedded SQLite"):
        SparkEngine.start("yarn", "sqlite:////tmp/s.db")


def test_without_pyspark_the_extra_to_install_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.errors", None)
    with pytest.raises(SparkUnavailable, match=r"pip install 'segmentation\[spark\]'"):
        SparkEngine.start("local[2]", "sqlite:////tmp/s.db")


def test_a_task_error_is_the_python_error_in_one_line() -> None:
    spark_said = (
        "An exception was thrown from the Python worker. Please see the stack trace below.\n"
        "Traceback (most recent call last):\n"
        '  File "/work/training/score.py", line 165, in _read_chunk\n'
        "    status = path.stat()\n"
        "FileNotFoundError: [Errno 2] No such file or directory: '/data/citizens.parquet'\n"
    )
    message = _task_error("citizens", RuntimeError(spark_said))
    assert message == (
        "citizens: Spark stopped the scoring (FileNotFoundError: [Errno 2] No such file or "
        "directory: '/data/citizens.parquet'); the chunks written before it stay written: "
        "run `segmentation score` again to resume"
    )


def test_a_cluster_driver_is_not_bound_to_loopback() -> None:
    """pandera sets SPARK_LOCAL_IP to 127.0.0.1 when imported beside PySpark: right for a
    local master, unreachable for a cluster's executors."""
    local = {"SPARK_LOCAL_IP": "127.0.0.1"}
    driver_environment("local[2]", local)
    assert local == {
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "PYSPARK_PYTHON": sys.executable,
    }
    cluster = {"SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": "/opt/agency/bin/python"}
    driver_environment("spark://cluster:7077", cluster)
    assert cluster == {
        "PYSPARK_PYTHON": "/opt/agency/bin/python",  # the executors' own Python, kept
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    chosen = {"SPARK_LOCAL_IP": "10.0.0.5"}
    driver_environment("yarn", chosen)
    assert chosen["SPARK_LOCAL_IP"] == "10.0.0.5"  # an address the operator set stays

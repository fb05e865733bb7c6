"""The monthly result indicators end to end, on SQLite and PostgreSQL: a scored period, the
cases, calls and survey answers of the year after it, each row given its customer's
category in force that month (a case handler's override winning while it is in force), the
figures checked against the files counted directly, kept in the store, and the workbook."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from segmentation.excel import indicators_workbook
from segmentation.store import SegmentStore
from tests.conftest import make_settings
from training.indicators import compute
from training.operations import operations

MONTH = "2026-03"


@dataclass
class Scored:
    store: SegmentStore
    data: Path
    segments: pd.DataFrame  # id -> the category the run wrote


@pytest.fixture(params=["sqlite", "postgres"])
def scored(
    request: pytest.FixtureRequest, trained_home: Path, population_dir: Path, tmp_path: Path
) -> Iterator[Scored]:
    from models.registry import configure_mlflow, load_champion
    from training.score import score_folder

    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'segments.db'}"
    settings = make_settings(trained_home, store_url=url)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    data = tmp_path / "data"
    data.mkdir()
    tables = {}
    for population, size in (("citizens", 4_000), ("employers", 600)):
        frame = pd.read_parquet(population_dir / f"{population}.parquet").head(size)
        truth = pd.read_parquet(population_dir / f"{population}_truth.parquet").head(size)
        frame.to_parquet(data / f"{population}.parquet", index=False)
        tables[population] = (frame, truth)
    # A hundred customers of the operations were never scored (not in the period's table).
    citizens, truth = tables["citizens"]
    scored_citizens = citizens.iloc[100:]
    scored_citizens.to_parquet(data / "citizens.parquet", index=False)
    for name, table in operations(tables["citizens"], tables["employers"], seed=3).items():
        table.to_parquet(data / f"{name}.parquet", index=False)
    store = SegmentStore(url)
    store.create()
    champions = {p: load_champion(p) for p in ("citizens", "employers")}
    score_folder(data, store, champions, chunk_rows=2_000, out=tmp_path / "out")
    written = [
        pd.read_parquet(tmp_path / "out" / f"{p}_segments.parquet").rename(
            columns={"customer_id": "id", "org_number": "id"}
        )[["id", "category"]]
        for p in ("citizens", "employers")
    ]
    yield Scored(store, data, pd.concat(written, ignore_index=True))
    store.dispose()


def _expected(scored: Scored, table: str) -> pd.DataFrame:
    """The table's rows with the category the run wrote for their customer (``unscored``
    where it wrote none), read straight from the files."""
    frame = pd.read_parquet(scored.data / f"{table}.parquet")
    frame["id"] = frame["customer_id"].fillna(frame["org_number"])
    merged = frame.merge(scored.segments, on="id", how="left")
    merged["category"] = merged["category"].fillna("unscored")
    merged.loc[merged["id"].isna(), "category"] = "unidentified"
    return merged


def test_each_figure_is_the_files_counted_per_segment(scored: Scored) -> None:
    run = compute(
        scored.data,
        MONTH,
        scored.store,
        timezone="Europe/Stockholm",
        hours_per_fte=1_556.0,
        answer_within_seconds=60.0,
    )
    report = run.report
    assert report["periods"] == {"citizens": "2025-12-31", "employers": "2025-12-31"}
    rows = {(r["population"], r["category"]): r for r in report["segments"]}
    start, end = pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-31")

    cases = _expected(scored, "cases")
    received = cases[cases["received_on"].between(start, end)].groupby("category").size()
    pending = cases[(cases["received_on"] <= end) & ~(cases["decided_on"] <= end)]
    for category, count in received.items():
        population = "citizens" if category in ("regular", "irregular", "needs_support") else None
        key = next(
            k for k in rows if k[1] == category and (population is None or k[0] == population)
        )
        assert rows[key]["cases_received"] == count, category
    assert rows[("all", "all")]["cases_received"] == int(received.sum())
    assert rows[("all", "all")]["cases_pending"] == len(pending)
    # the hundred customers never scored are counted apart, not dropped
    assert rows[("citizens", "unscored")]["cases_received"] == int(received.get("unscored", 0))
    assert received.get("unscored", 0) > 0

    calls = _expected(scored, "calls")
    month_calls = calls[
        (calls["arrived_at"] >= start) & (calls["arrived_at"] < end + pd.Timedelta(days=1))
    ]
    by_category = month_calls.groupby("category")
    for category, group in by_category:
        key = next(k for k in rows if k[1] == category)
        assert rows[key]["calls_incoming"] == len(group), category
        answered = (group["outcome"] == "answered").sum()
        assert rows[key]["availability"] == pytest.approx(answered / len(group))
    assert rows[("unknown", "unidentified")]["calls_incoming"] > 0

    surveys = _expected(scored, "surveys")
    month_answers = surveys[surveys["answered_on"].between(start, end)]
    for category, group in month_answers.groupby("category"):
        key = next(k for k in rows if k[1] == category)
        nps = 100 * ((group["score"] >= 9).mean() - (group["score"] <= 6).mean())
        assert rows[key]["nps"] == pytest.approx(nps), category
    assert report["rows"]["cases"] == {"accepted": len(cases), "rejected": 0}


def test_an_override_counts_while_it_is_in_force(scored: Scored) -> None:
    period = scored.store.period("citizens")
    assert period is not None
    customer = scored.segments.iloc[0]
    moved = "needs_support" if customer["category"] != "needs_support" else "regular"
    ids = np.array([int(customer["id"]), int(scored.segments.iloc[1]["id"]), 190001019999])
    before = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    scored.store.set_override(
        "citizens",
        str(customer["id"]),
        category=moved,
        reason="ny bedömning",
        actor="anna",
        expires_at=None,
    )
    while_set = dt.datetime.now(dt.UTC)
    during = while_set + dt.timedelta(hours=1)
    found = scored.store.categories_in_force("citizens", period, ids, during)
    assert list(found) == [moved, scored.segments.iloc[1]["category"], None]
    earlier = scored.store.categories_in_force("citizens", period, ids[:1], before)
    assert list(earlier) == [customer["category"]]
    scored.store.remove_override("citizens", str(customer["id"]), actor="anna", reason="fel")
    after = scored.store.categories_in_force(
        "citizens", period, ids[:1], dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    )
    assert list(after) == [customer["category"]]
    # looking back at a moment it was in force, it still counts; after its removal it does not
    looking_back = scored.store.categories_in_force("citizens", period, ids[:1], while_set)
    assert list(looking_back) == [moved]
    assert list(scored.store.categories_in_force("citizens", period, ids[:1], during)) == [
        customer["category"]
    ]


def test_the_command_keeps_the_month_sets_aside_broken_rows_and_writes_the_workbook(
    scored: Scored, tmp_path: Path
) -> None:
    cases = pd.read_parquet(scored.data / "cases.parquet")
    broken = cases.head(3).copy()
    broken["case_id"] = ["x1", "x2", "x3"]
    broken.loc[broken.index[0], "handling_minutes"] = -5.0
    broken.loc[broken.index[1], "decided_on"] = pd.Timestamp("2020-01-01")
    broken.loc[broken.index[2], "customer_id"] = "190001010000"
    pd.concat([cases, broken]).to_parquet(scored.data / "cases.parquet", index=False)
    env = dict(
        os.environ,
        SEGMENTATION_HOME=str(tmp_path / "home"),
        SEGMENTATION_STORE_URL=scored.store.url,
        COLUMNS="200",
    )
    args = [
        sys.executable,
        "-m",
        "training.cli",
        "indicators",
        "--month",
        MONTH,
        "--data",
        str(scored.data),
    ]
    out, aside = tmp_path / "indikatorer.xlsx", tmp_path / "aside"
    series = tmp_path / "alla-manader.xlsx"
    for _ in range(2):  # computed again, the month is replaced, not doubled
        result = subprocess.run(
            [*args, "--out", str(out), "--rejected", str(aside), "--series", str(series)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert f"cases: {len(cases):,} accepted, 3 set aside" in result.stdout
    set_aside = pd.read_parquet(aside / "cases_rejected.parquet")
    assert sorted(set_aside["case_id"]) == ["x1", "x2", "x3"]
    assert set_aside["reason"].str.len().gt(0).all()
    assert scored.store.indicator_months() == [MONTH]
    kept = scored.store.indicators(MONTH)
    assert kept is not None and kept["rows"]["cases"]["rejected"] == 3
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "Inkomna ärenden",
        "Beslutade ärenden",
        "Pågående ärenden",
        "Handläggningstid",
        "Årsarbetskrafter",
        "Telefoni",
        "Nöjdhet (NPS)",
        "Per ärendeslag",
        "Om rapporten",
    ]
    by_type = book["Per ärendeslag"]
    assert by_type["A3"].value == "Ärendeslag" and by_type["B3"].value == "Inkomna"
    assert (
        sum(by_type.cell(i, 2).value for i in range(4, by_type.max_row + 1))
        == next(r for r in kept["segments"] if r["category"] == "all")["cases_received"]
    )
    sheet = book["Inkomna ärenden"]
    labels = [sheet.cell(row, 1).value for row in range(4, sheet.max_row + 1)]
    assert labels[:3] == ["Regelbunden vardag", "Oregelbunden vardag", "Vardag som kräver stöd"]
    assert labels[-1] == "Alla"
    total = next(r for r in kept["segments"] if r["category"] == "all")
    assert sheet.cell(sheet.max_row, 2).value == total["cases_received"]
    # every kept month (one: computed twice, kept once) in the series
    months = openpyxl.load_workbook(series)["Inkomna ärenden"]
    assert months.max_column == 2 and months.cell(3, 2).value == MONTH
    assert months.cell(months.max_row, 2).value == total["cases_received"]
    # the same workbook from the kept report
    again = openpyxl.load_workbook(io.BytesIO(indicators_workbook(kept)))
    assert again["Telefoni"].cell(again["Telefoni"].max_row, 2).value == total["calls_incoming"]


def test_a_month_before_any_scored_period_says_so(scored: Scored, tmp_path: Path) -> None:
    env = dict(
        os.environ,
        SEGMENTATION_HOME=str(tmp_path / "home"),
        SEGMENTATION_STORE_URL=scored.store.url,
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "training.cli",
            "indicators",
            "--month",
            "2025-06",
            "--data",
            str(scored.data),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "no period scored with an end on or before 2025-06-30" in result.stdout

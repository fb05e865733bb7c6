"""The monthly result indicators through the API: planners only, the month kept by
`segmentation indicators`, its workbook, and a clear 404 or 422 otherwise."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from segmentation.store import SegmentStore
from tests.api.conftest import Api
from tests.factories import keep_indicator_month


def _keep_month(api: Api, population_dir: Path, small_population: Path, tmp_path: Path) -> dict:
    store = SegmentStore(api.settings.resolved_store_url)  # type: ignore[attr-defined]
    try:
        return keep_indicator_month(
            store, population_dir, small_population, tmp_path, "2026-02", seed=5
        )
    finally:
        store.dispose()


def test_planners_read_the_kept_month_and_its_workbook(
    api: Api, population_dir: Path, small_population: Path, tmp_path: Path
) -> None:
    planner = api.headers("planner")
    before = api.client.get("/v1/indicators", headers=planner)
    if before.status_code == 404:  # nothing kept yet in this store
        assert "segmentation indicators" in before.json()["detail"]
    report = _keep_month(api, population_dir, small_population, tmp_path)

    answer = api.client.get("/v1/indicators", headers=planner)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["month"] == "2026-02" and "2026-02" in body["months"]
    assert body["segments"] == report["segments"]
    whole = next(r for r in body["segments"] if r["category"] == "all")
    assert whole["cases_received"] > 0 and whole["calls_incoming"] > 0
    assert api.client.get("/v1/indicators?month=2026-02", headers=planner).json() == body

    missing = api.client.get("/v1/indicators?month=2019-01", headers=planner)
    assert missing.status_code == 404
    assert "kept: 2026-02" in missing.json()["detail"]
    bad = api.client.get("/v1/indicators?month=2026-13", headers=planner)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "month"]

    series = api.client.get("/v1/indicators/series.xlsx", headers=planner)
    assert series.status_code == 200
    months = openpyxl.load_workbook(io.BytesIO(series.content))["Inkomna ärenden"]
    assert "2026-02" in [months.cell(3, j).value for j in range(2, months.max_column + 1)]
    workbook = api.client.get("/v1/indicators.xlsx?month=2026-02", headers=planner)
    assert workbook.status_code == 200
    assert "indikatorer-2026-02.xlsx" in workbook.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    sheet = book["Inkomna ärenden"]
    assert sheet.cell(sheet.max_row, 1).value == "Alla"
    assert sheet.cell(sheet.max_row, 2).value == whole["cases_received"]


def test_only_planners_see_the_indicators(api: Api) -> None:
    for role in ("case_handler", "portal", "operator"):
        answer = api.client.get("/v1/indicators", headers=api.headers(role))
        assert answer.status_code == 403, role
    assert api.client.get("/v1/indicators.xlsx").status_code == 401

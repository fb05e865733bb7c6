"""Capacity from the scored store: the planner's API route, the JSON and the Excel file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.api.conftest import Api

COLUMNS = {
    "population",
    "category",
    "region",
    "customers",
    "contacts",
    "contacts_per_customer",
    "handling_hours",
    "fte",
    "phone_agents",
}


def test_capacity_route_gives_aggregates_that_add_up(api: Api, small_population: Path) -> None:
    response = api.client.get("/v1/capacity", headers=api.headers("planner"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"assumptions", "segments"} <= set(body)
    rows = body["segments"]
    assert set(rows[0]) >= COLUMNS
    citizens_all = [r for r in rows if r["population"] == "citizens" and r["region"] == "all"]
    assert sum(r["customers"] for r in citizens_all) == 3_000
    for row in citizens_all:
        regional = [
            r
            for r in rows
            if r["population"] == "citizens"
            and r["category"] == row["category"]
            and r["region"] != "all"
        ]
        assert sum(r["customers"] for r in regional) == row["customers"]
        assert sum(r["fte"] for r in regional) == pytest.approx(row["fte"], rel=1e-9)
        assert row["fte"] == pytest.approx(row["handling_hours"] / 1556, rel=1e-12)
    assert api.citizen_id not in response.text  # never an individual


def test_capacity_route_takes_assumptions_and_a_scenario(api: Api) -> None:
    headers = api.headers("planner")
    strict = api.client.get(
        "/v1/capacity?service_level=0.95&answer_within_seconds=20", headers=headers
    ).json()
    lenient = api.client.get(
        "/v1/capacity?service_level=0.6&answer_within_seconds=300", headers=headers
    ).json()
    agents = lambda body: sum(r["phone_agents"] for r in body["segments"] if r["region"] == "all")  # noqa: E731
    assert agents(lenient) < agents(strict)
    scenario = api.client.get("/v1/capacity?shift=irregular:phone:0.2", headers=headers).json()
    (irregular,) = [c for c in scenario["scenario"]["comparison"] if c["category"] == "irregular"]
    assert irregular["scenario_handling_hours"] < irregular["baseline_handling_hours"]
    bad = api.client.get("/v1/capacity?shift=irregular-phone", headers=headers)
    assert bad.status_code == 422 and "CATEGORY:CHANNEL:SHARE" in bad.text


@pytest.mark.integration  # a real subprocess
def test_cli_writes_json_and_an_excel_report_with_a_scenario(
    api: Api, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if "sqlite" not in request.node.callspec.id:
        pytest.skip("the CLI is exercised once, on the embedded store")
    env = dict(
        os.environ,
        SEGMENTATION_HOME=str(api.settings.home),  # type: ignore[attr-defined]
        SEGMENTATION_STORE_URL=api.settings.resolved_store_url,
    )  # type: ignore[attr-defined]
    workbook_path = tmp_path / "capacity.xlsx"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "training.cli",
            "capacity",
            "--json",
            "--out",
            str(workbook_path),
            "--shift",
            "irregular:phone:0.2",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout[result.stdout.index("{") :])
    (irregular,) = [c for c in body["scenario"]["comparison"] if c["category"] == "irregular"]
    assert irregular["scenario_handling_hours"] < irregular["baseline_handling_hours"]
    # A shift of channel moves work, not customers.
    assert irregular["scenario_customers"] == irregular["baseline_customers"]
    assert irregular["scenario_fte"] < irregular["baseline_fte"]

    workbook = openpyxl.load_workbook(workbook_path)
    assert workbook.sheetnames == [
        "customers",
        "contacts",
        "handling_hours",
        "fte",
        "phone_agents",
        "scenarios",
        "assumptions",
    ]
    fte = workbook["fte"]
    assert fte["B4"].number_format == "#,##0.0"
    assert workbook["customers"]["B4"].number_format == "#,##0"
    for name in ("customers", "contacts", "handling_hours", "fte", "phone_agents"):
        assert workbook[name]._charts, f"no chart on {name}"
    scenarios = workbook["scenarios"]
    rows = {scenarios.cell(row=r, column=2).value: r for r in range(4, 4 + 5)}
    row = rows["irregular"]
    assert scenarios.cell(row=row, column=8).value < scenarios.cell(row=row, column=7).value
    assumptions = {c[0].value: c[1].value for c in workbook["assumptions"].iter_rows(min_row=3)}
    assert assumptions["hours_per_fte"] == 1556

"""Capacity from the scored store: the planner's API route, the JSON and the Excel file."""

from __future__ import annotations

import json
import os
import re
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
    # A scenario that would change nothing is refused, not answered as the baseline.
    unknown = api.client.get("/v1/capacity?shift=irregular:fax:0.2", headers=headers)
    assert unknown.status_code == 422 and "channel 'fax'" in unknown.text
    itself = api.client.get("/v1/capacity?move=irregular:irregular:0.1", headers=headers)
    assert itself.status_code == 422 and "to itself" in itself.text


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

    # The planners' workbook is in Swedish, as their page is: sheets, headings, categories,
    # counties and the scenario.
    workbook = openpyxl.load_workbook(workbook_path)
    assert workbook.sheetnames == [
        "Kunder",
        "Kontakter",
        "Handläggningstimmar",
        "Årsarbetskrafter",
        "Telefonagenter",
        "Scenario",
        "Antaganden",
    ]
    fte = workbook["Årsarbetskrafter"]
    assert fte["A1"].value == "Årsarbetskrafter (timmar / 1\u00a0556)"
    assert fte["B4"].number_format == "#,##0.0"
    assert [c.value for c in fte[3]][:4] == [
        "Län",
        "Regelbunden vardag",
        "Oregelbunden vardag",
        "Vardag som kräver stöd",
    ]
    counties = [row[0].value for row in fte.iter_rows(min_row=4) if row[0].value]
    assert counties[-1] == "Hela landet" and all(name.endswith("län") for name in counties[:-1])
    assert workbook["Kunder"]["B4"].number_format == "#,##0"
    for name in workbook.sheetnames[:5]:
        assert workbook[name]._charts, f"no chart on {name}"
    scenarios = workbook["Scenario"]
    assert scenarios["A1"].value == (
        "Scenario: 20\u00a0% av kontakterna via telefon för oregelbunden vardag flyttas till "
        "självservice"
    )
    rows = {scenarios.cell(row=r, column=1).value: r for r in range(4, 4 + 5)}
    row = rows["Oregelbunden vardag"]
    assert scenarios.cell(row=row, column=7).value < scenarios.cell(row=row, column=6).value
    assumptions = {c[2].value: c[1].value for c in workbook["Antaganden"].iter_rows(min_row=4)}
    assert assumptions["hours_per_fte"] == 1556
    levels = [
        r for r in workbook["Antaganden"].iter_rows(min_row=4) if r[2].value == "service_level"
    ]
    assert levels[0][1].number_format == "0%"  # 80 %, as the page asks for it
    assert assumptions["minutes_per_contact.phone"] == 6
    texts = [
        str(cell.value)
        for sheet in workbook
        for line in sheet.iter_rows()
        for cell in line[:2]
        if isinstance(cell.value, str)
    ]
    assert not [t for t in texts if re.search(r"\b(irregular|needs_support|all regions|FTE)\b", t)]


def _by_group(rows: list[dict[str, object]], column: str) -> dict[tuple[str, str], float]:
    return {(str(r["category"]), str(r["region"])): float(r[column]) for r in rows}  # type: ignore[arg-type]


def test_loads_kept_by_the_run_add_up_and_an_override_moves_its_customer(
    api: Api, small_population: Path
) -> None:
    import numpy as np
    import pandas as pd
    from sqlalchemy import update

    from segmentation.store import SegmentStore
    from segmentation.store.schema import segment_periods

    store = SegmentStore(api.settings.resolved_store_url)  # type: ignore[attr-defined]
    headers = api.headers("case_handler")
    path = f"/v1/citizens/{api.citizen_id}"
    api.client.delete(f"{path}/override", headers=headers)
    data = pd.read_parquet(small_population / "citizens.parquet")
    before = store.segment_loads("citizens")
    # The kept sums are the file's behaviour, per region (as float32, as the inputs keep it).
    for region, group in data.groupby("region"):
        for column in ("contacts_phone", "handling_minutes"):
            kept = sum(float(r[column]) for r in before if r["region"] == region)
            expected = float(group[column].astype(np.float32).astype(np.float64).sum())
            assert kept == pytest.approx(expected, rel=1e-9)
    model_category = api.client.get(path, headers=headers).json()["model_category"]
    other = "needs_support" if model_category != "needs_support" else "irregular"
    put = api.client.put(
        f"{path}/override", headers=headers, json={"category": other, "reason": "met the customer"}
    )
    assert put.status_code == 200, put.text
    after = store.segment_loads("citizens")
    customer = data.loc[data["customer_id"] == api.citizen_id].iloc[0]
    region = str(customer["region"])
    minutes = float(np.float32(customer["handling_minutes"]))
    was, now = _by_group(before, "customers"), _by_group(after, "customers")
    assert now[(other, region)] == was.get((other, region), 0) + 1
    assert now.get((model_category, region), 0) == was[(model_category, region)] - 1
    was_minutes, now_minutes = (
        _by_group(before, "handling_minutes"),
        _by_group(after, "handling_minutes"),
    )
    assert now_minutes[(other, region)] == pytest.approx(
        was_minutes.get((other, region), 0.0) + minutes, abs=1e-6
    )
    # A period scored before runs kept their loads: summed once from its table, the same.
    latest = store.period("citizens")
    assert latest is not None and latest.loads is not None
    with store.begin() as connection:
        connection.execute(
            update(segment_periods)
            .where(segment_periods.c.table_name == latest.table_name)
            .values(loads=None)
        )
    store.forget_periods()
    summed = store.segment_loads("citizens")
    assert _by_group(summed, "customers") == now
    for key, value in _by_group(summed, "handling_minutes").items():
        assert value == pytest.approx(now_minutes[key], rel=1e-9, abs=1e-6)
    assert store.period("citizens").loads is not None  # type: ignore[union-attr]
    api.client.delete(f"{path}/override", headers=headers)
    store.dispose()

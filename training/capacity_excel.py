"""The planners' Excel report: one indicator per sheet with a chart, scenarios, assumptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xlsxwriter

INDICATORS: list[tuple[str, str, str, str]] = [
    # sheet, field, title, number format
    ("customers", "customers", "Customers per segment and region", "#,##0"),
    ("contacts", "contacts", "Contacts a year per segment and region", "#,##0"),
    ("handling_hours", "handling_hours", "Handling hours a year", "#,##0"),
    ("fte", "fte", "Full-time equivalents (hours / 1,556)", "#,##0.0"),
    ("phone_agents", "phone_agents", "Phone agents (Erlang C, after shrinkage)", "#,##0"),
]


def write_report(report: dict[str, Any], path: Path) -> None:
    """Write the capacity report to ``path`` (.xlsx)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    segments = report["segments"]
    columns = sorted({(r["population"], r["category"]) for r in segments})
    regions = [*sorted({r["region"] for r in segments if r["region"] != "all"}), "all"]
    by_key = {(r["population"], r["category"], r["region"]): r for r in segments}
    for sheet_name, field, heading, number_format in INDICATORS:
        sheet = workbook.add_worksheet(sheet_name)
        number = workbook.add_format({"num_format": number_format})
        total = workbook.add_format({"num_format": number_format, "bold": True, "top": 1})
        sheet.write(0, 0, heading, title)
        sheet.write(2, 0, "region", bold)
        for j, (population, category) in enumerate(columns, start=1):
            sheet.write(2, j, f"{population}: {category}", bold)
        for i, region in enumerate(regions, start=3):
            sheet.write(
                i,
                0,
                "all regions" if region == "all" else region,
                bold if region == "all" else None,
            )
            for j, (population, category) in enumerate(columns, start=1):
                value = by_key.get((population, category, region), {}).get(field, 0)
                sheet.write_number(i, j, float(value), total if region == "all" else number)
        sheet.set_column(0, 0, 14)
        sheet.set_column(1, len(columns), 24)
        chart = workbook.add_chart({"type": "column"})
        last_region_row = 3 + len(regions) - 2  # regional rows, without "all"
        for j in range(1, len(columns) + 1):
            chart.add_series(
                {
                    "name": [sheet_name, 2, j],
                    "categories": [sheet_name, 3, 0, last_region_row, 0],
                    "values": [sheet_name, 3, j, last_region_row, j],
                }
            )
        chart.set_title({"name": heading})
        chart.set_x_axis({"name": "region (county code)"})
        chart.set_y_axis({"num_format": number_format})
        chart.set_size({"width": 900, "height": 420})
        sheet.insert_chart(3 + len(regions) + 2, 0, chart)
    _write_scenarios(workbook, report, bold, title)
    _write_assumptions(workbook, report["assumptions"], bold, title)
    workbook.close()


def _write_scenarios(workbook: Any, report: dict[str, Any], bold: Any, title: Any) -> None:
    sheet = workbook.add_worksheet("scenarios")
    scenario = report.get("scenario")
    if not scenario:
        sheet.write(0, 0, "No scenario given (see `segmentation capacity --shift/--move`).")
        return
    sheet.write(0, 0, "Scenario: " + "; ".join(scenario["changes"]), title)
    headers = [
        "population",
        "category",
        "customers (baseline)",
        "customers (scenario)",
        "handling hours (baseline)",
        "handling hours (scenario)",
        "FTE (baseline)",
        "FTE (scenario)",
        "FTE change",
        "phone agents (baseline)",
        "phone agents (scenario)",
        "phone agents change",
    ]
    whole = workbook.add_format({"num_format": "#,##0"})
    tenth = workbook.add_format({"num_format": "#,##0.0"})
    for j, header in enumerate(headers):
        sheet.write(2, j, header, bold)
    for i, row in enumerate(scenario["comparison"], start=3):
        values = [
            row["population"],
            row["category"],
            row["baseline_customers"],
            row["scenario_customers"],
            row["baseline_handling_hours"],
            row["scenario_handling_hours"],
            row["baseline_fte"],
            row["scenario_fte"],
            row["change_fte"],
            row["baseline_phone_agents"],
            row["scenario_phone_agents"],
            row["change_phone_agents"],
        ]
        for j, value in enumerate(values):
            if isinstance(value, str):
                sheet.write(i, j, value)
            else:
                sheet.write_number(i, j, float(value), tenth if j in (6, 7, 8) else whole)
    sheet.set_column(0, len(headers), 20)
    chart = workbook.add_chart({"type": "column"})
    last = 2 + len(scenario["comparison"])
    for column, name in ((6, "FTE (baseline)"), (7, "FTE (scenario)")):
        chart.add_series(
            {
                "name": name,
                "categories": ["scenarios", 3, 1, last, 1],
                "values": ["scenarios", 3, column, last, column],
            }
        )
    chart.set_title({"name": "FTE: baseline and scenario"})
    chart.set_size({"width": 900, "height": 420})
    sheet.insert_chart(last + 3, 0, chart)


def _write_assumptions(workbook: Any, assumptions: dict[str, Any], bold: Any, title: Any) -> None:
    sheet = workbook.add_worksheet("assumptions")
    sheet.write(0, 0, "Assumptions", title)
    row = 2
    for key, value in assumptions.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                sheet.write(row, 0, f"{key}.{inner}", bold)
                sheet.write(row, 1, inner_value)
                row += 1
        else:
            sheet.write(row, 0, key, bold)
            sheet.write(row, 1, value)
            row += 1
    sheet.set_column(0, 0, 32)
    sheet.set_column(1, 1, 60)

"""The planners' Excel workbooks, built in memory (the command line writes them to a file,
the API and the planner's page send them): capacity (one indicator per sheet with a chart,
scenarios, assumptions) and transitions between periods."""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter

from segmentation.taxonomy import county_name

INDICATORS: list[tuple[str, str, str, str]] = [
    # sheet, field, title, number format
    ("customers", "customers", "Customers per segment and region", "#,##0"),
    ("contacts", "contacts", "Contacts a year per segment and region", "#,##0"),
    ("handling_hours", "handling_hours", "Handling hours a year", "#,##0"),
    ("fte", "fte", "Full-time equivalents (hours / 1,556)", "#,##0.0"),
    ("phone_agents", "phone_agents", "Phone agents (Erlang C, after shrinkage)", "#,##0"),
]


def capacity_workbook(report: dict[str, Any]) -> bytes:
    """The capacity report (``segmentation.capacity.report``) as an .xlsx file."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    segments = report["segments"]
    columns = sorted({(r["population"], r["category"]) for r in segments})
    regions = [*sorted({r["region"] for r in segments if r["region"] != "all"}), "all"]
    by_key = {(r["population"], r["category"], r["region"]): r for r in segments}
    for sheet_name, field, heading, number_format in INDICATORS:
        # One line for every segment of a region (the page's county column), beside the
        # segments' own queues: Erlang C does not add up across them.
        pooled = report.get("region_phone_agents") if field == "phone_agents" else None
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
            if pooled is not None:
                line = float(pooled.get(region, 0))
                sheet.write_number(i, len(columns) + 1, line, total if region == "all" else number)
        if pooled is not None:
            sheet.write(2, len(columns) + 1, "one line, all segments", bold)
        sheet.set_column(0, 0, 14)
        sheet.set_column(1, len(columns) + 1, 24)
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
    return buffer.getvalue()


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


def transitions_workbook(report: dict[str, Any]) -> bytes:
    """The transitions report (``segmentation.transitions.transition_report``) as .xlsx:
    the matrix for the whole country (and the estimated true movement, when the report has
    it), the watched flow per county, every county's matrix."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    count = workbook.add_format({"num_format": "#,##0"})
    percent = workbook.add_format({"num_format": "0.0%"})
    names = report["categories"]
    rows, columns = [*names, "new"], [*names, "left"]

    sheet = workbook.add_worksheet("matrix")
    sheet.write(
        0,
        0,
        f"{report['population']}: {report['from_period']} -> {report['to_period']}",
        title,
    )
    blocks = [
        ("customers", report["matrix"], "customers", count),
        ("share of the row", report["matrix"], "rate", percent),
    ]
    if report.get("estimated"):
        blocks.append(
            (
                "estimated true movement, corrected for the model's expected errors",
                report["estimated"],
                "rate",
                percent,
            )
        )
    for block, (label, matrix, field, fmt) in enumerate(blocks):
        top = 2 + block * (len(rows) + 3)
        sheet.write(top, 0, f"{label} (rows: before, columns: after)", bold)
        for j, target in enumerate(columns, start=1):
            sheet.write(top + 1, j, target, bold)
        cells = {(c["from"], c["to"]): c for c in matrix}
        for i, origin in enumerate(rows, start=top + 2):
            sheet.write(i, 0, origin, bold)
            for j, target in enumerate(columns, start=1):
                cell = cells.get((origin, target))
                if cell is not None:
                    sheet.write_number(i, j, float(cell[field]), fmt)
    sheet.set_column(0, len(columns), 16)

    watched = report["watched"]
    flow = workbook.add_worksheet("watched flow")
    flow.write(0, 0, f"{watched['from']} -> {watched['to']} per county", title)
    for j, heading in enumerate(["county", "code", "customers", f"of {watched['from']}", "rate"]):
        flow.write(2, j, heading, bold)
    for i, (region, values) in enumerate(sorted(watched["by_region"].items()), start=3):
        flow.write(i, 0, county_name(region))
        flow.write(i, 1, region)
        flow.write_number(i, 2, values["customers"], count)
        flow.write_number(i, 3, values["of"], count)
        flow.write_number(i, 4, values["rate"], percent)
    last = 3 + len(watched["by_region"])
    flow.write(last, 0, "whole country", bold)
    flow.write_number(last, 2, watched["customers"], count)
    flow.write_number(last, 3, watched["of"], count)
    flow.write_number(last, 4, watched["rate"], percent)
    flow.set_column(0, 0, 24)
    flow.set_column(1, 4, 14)

    table = workbook.add_worksheet("per county")
    for j, heading in enumerate(["county", "code", "from", "to", "customers", "rate"]):
        table.write(0, j, heading, bold)
    line = 1
    for region, cells in sorted(report["by_region"].items()):
        for cell in cells:
            table.write(line, 0, county_name(region))
            table.write(line, 1, region)
            table.write(line, 2, cell["from"])
            table.write(line, 3, cell["to"])
            table.write_number(line, 4, cell["customers"], count)
            table.write_number(line, 5, cell["rate"], percent)
            line += 1
    table.set_column(0, 0, 24)
    table.set_column(1, 5, 14)
    workbook.close()
    return buffer.getvalue()

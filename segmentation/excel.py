"""The planners' Excel workbooks, built in memory (the command line writes them to a file,
the API and the planner's page send them): capacity (one indicator per sheet with a chart,
scenarios, assumptions), transitions between periods and the monthly result indicators."""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter

from segmentation.capacity import CHANNEL_SV
from segmentation.indicators import ALL, CASE_TYPE_SV, UNIDENTIFIED, UNSCORED
from segmentation.taxonomy import (
    CATEGORY_SV,
    POPULATION_SV,
    county_name,
    segment_order,
)
from segmentation.transitions import LEFT, NEW

#: The workbook speaks the planners' language, as the planners' page does: each indicator's
#: sheet, the report's field, the sheet's title and its number format.
INDICATORS: list[tuple[str, str, str, str]] = [
    ("Kunder", "customers", "Kunder per segment och län", "#,##0"),
    ("Kontakter", "contacts", "Kontakter per år, per segment och län", "#,##0"),
    ("Handläggningstimmar", "handling_hours", "Handläggningstimmar per år", "#,##0"),
    ("Årsarbetskrafter", "fte", "Årsarbetskrafter (timmar / {hours_per_fte})", "#,##0.0"),
    ("Telefonagenter", "phone_agents", "Telefonagenter (Erlang C, efter frånvaro)", "#,##0"),
]
WHOLE_COUNTRY = "Hela landet"
ONE_LINE = "Alla segment (en telefonlinje)"
PHONE_NOTE = (
    "Schemalagda telefonagenter (efter frånvaro) för en genomsnittlig öppettimme. Varje "
    "segment har sin egen kö; kolumnen Alla segment är en telefonlinje för länets alla "
    "samtal och raden Hela landet en nationell kö: köer som slås ihop behöver färre agenter "
    "än de var för sig."
)
#: What each assumption is called in the workbook (the report's key is kept beside it: it
#: names the command line's option and the API's parameter).
ASSUMPTION_SV: dict[str, str] = {
    "service_level": "Servicenivå (andel av samtalen som besvaras inom svarstiden)",
    "answer_within_seconds": "Besvaras inom (sekunder)",
    "opening_hours_per_day": "Öppettimmar per dag",
    "opening_days_per_year": "Öppetdagar per år",
    "phone_handle_seconds": "Samtalstid med efterarbete (sekunder)",
    "shrinkage": "Frånvaro (andel av arbetstiden utanför telefonen)",
    "hours_per_fte": "Timmar per årsarbetskraft",
    "minutes_per_contact": "Minuter per kontakt",
}
SHARE_ASSUMPTIONS = frozenset({"service_level", "shrinkage"})


def capacity_workbook(report: dict[str, Any]) -> bytes:
    """The capacity report (``segmentation.capacity.report``) as an .xlsx file, in Swedish."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    segments = report["segments"]
    columns = sorted(
        {(r["population"], r["category"]) for r in segments}, key=lambda k: segment_order(*k)
    )
    regions = [*sorted({r["region"] for r in segments if r["region"] != "all"}), "all"]
    by_key = {(r["population"], r["category"], r["region"]): r for r in segments}
    hours_per_fte = _whole(float(report["assumptions"]["hours_per_fte"]))
    for sheet_name, field, heading, number_format in INDICATORS:
        heading = heading.format(hours_per_fte=hours_per_fte)
        # One line for every segment of a region (the page's county column), beside the
        # segments' own queues: Erlang C does not add up across them.
        pooled = report.get("region_phone_agents") if field == "phone_agents" else None
        sheet = workbook.add_worksheet(sheet_name)
        number = workbook.add_format({"num_format": number_format})
        total = workbook.add_format({"num_format": number_format, "bold": True, "top": 1})
        sheet.write(0, 0, heading, title)
        if pooled is not None:
            sheet.write(1, 0, PHONE_NOTE)
        sheet.write(2, 0, "Län", bold)
        for j, (_, category) in enumerate(columns, start=1):
            sheet.write(2, j, CATEGORY_SV.get(category, category), bold)
        for i, region in enumerate(regions, start=3):
            whole = region == "all"
            sheet.write(
                i, 0, WHOLE_COUNTRY if whole else county_name(region), bold if whole else None
            )
            for j, (population, category) in enumerate(columns, start=1):
                value = by_key.get((population, category, region), {}).get(field, 0)
                sheet.write_number(i, j, float(value), total if whole else number)
            if pooled is not None:
                line = float(pooled.get(region, 0))
                sheet.write_number(i, len(columns) + 1, line, total if whole else number)
        if pooled is not None:
            sheet.write(2, len(columns) + 1, ONE_LINE, bold)
        sheet.set_column(0, 0, 24)
        sheet.set_column(1, len(columns) + 1, 24)
        chart = workbook.add_chart({"type": "column"})
        last_region_row = 3 + len(regions) - 2  # regional rows, without the whole country
        for j in range(1, len(columns) + 1):
            chart.add_series(
                {
                    "name": [sheet_name, 2, j],
                    "categories": [sheet_name, 3, 0, last_region_row, 0],
                    "values": [sheet_name, 3, j, last_region_row, j],
                }
            )
        chart.set_title({"name": heading})
        chart.set_x_axis({"name": "län"})
        chart.set_y_axis({"num_format": number_format})
        chart.set_size({"width": 900, "height": 420})
        sheet.insert_chart(3 + len(regions) + 2, 0, chart)
    _write_scenarios(workbook, report, bold, title)
    _write_assumptions(workbook, report["assumptions"], bold, title)
    workbook.close()
    return buffer.getvalue()


#: The scenario sheet's columns: heading, the comparison's field.
SCENARIO_COLUMNS: list[tuple[str, str]] = [
    ("Kunder i dag", "baseline_customers"),
    ("Kunder med scenariot", "scenario_customers"),
    ("Handläggningstimmar i dag", "baseline_handling_hours"),
    ("Handläggningstimmar med scenariot", "scenario_handling_hours"),
    ("Årsarbetskrafter i dag", "baseline_fte"),
    ("Årsarbetskrafter med scenariot", "scenario_fte"),
    ("Förändring, årsarbetskrafter", "change_fte"),
    ("Telefonagenter i dag", "baseline_phone_agents"),
    ("Telefonagenter med scenariot", "scenario_phone_agents"),
    ("Förändring, telefonagenter", "change_phone_agents"),
]


def _write_scenarios(workbook: Any, report: dict[str, Any], bold: Any, title: Any) -> None:
    sheet = workbook.add_worksheet("Scenario")
    scenario = report.get("scenario")
    if not scenario:
        sheet.write(
            0,
            0,
            "Inget scenario valt (planeringssidan eller segmentation capacity --shift/--move).",
        )
        return
    sheet.write(0, 0, "Scenario: " + "; ".join(scenario["changes_sv"]), title)
    whole = workbook.add_format({"num_format": "#,##0"})
    tenth = workbook.add_format({"num_format": "#,##0.0"})
    sheet.write(2, 0, "Segment", bold)
    for j, (heading, _) in enumerate(SCENARIO_COLUMNS, start=1):
        sheet.write(2, j, heading, bold)
    for i, row in enumerate(scenario["comparison"], start=3):
        sheet.write(i, 0, CATEGORY_SV.get(row["category"], row["category"]))
        for j, (_, key) in enumerate(SCENARIO_COLUMNS, start=1):
            sheet.write_number(i, j, float(row[key]), tenth if "fte" in key else whole)
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, len(SCENARIO_COLUMNS), 20)
    chart = workbook.add_chart({"type": "column"})
    last = 2 + len(scenario["comparison"])
    for j, (heading, key) in enumerate(SCENARIO_COLUMNS, start=1):
        if key in ("baseline_fte", "scenario_fte"):
            chart.add_series(
                {
                    "name": heading,
                    "categories": ["Scenario", 3, 0, last, 0],
                    "values": ["Scenario", 3, j, last, j],
                }
            )
    chart.set_title({"name": "Årsarbetskrafter i dag och med scenariot"})
    chart.set_size({"width": 900, "height": 420})
    sheet.insert_chart(last + 3, 0, chart)


def _write_assumptions(workbook: Any, assumptions: dict[str, Any], bold: Any, title: Any) -> None:
    sheet = workbook.add_worksheet("Antaganden")
    sheet.write(0, 0, "Antaganden", title)
    sheet.write(2, 0, "Antagande", bold)
    sheet.write(2, 1, "Värde", bold)
    sheet.write(2, 2, "Inställning", bold)
    share = workbook.add_format({"num_format": "0%"})  # a service level reads 80 %, not 0.8
    row = 3
    for key, value in assumptions.items():
        if key == "phone_agents_note":  # the phone agents sheet says it in Swedish
            continue
        label = ASSUMPTION_SV.get(key, key)
        for name, item in value.items() if isinstance(value, dict) else [("", value)]:
            sheet.write(row, 0, f"{label}: {CHANNEL_SV.get(name, name)}" if name else label, bold)
            sheet.write(row, 1, item, share if key in SHARE_ASSUMPTIONS else None)
            sheet.write(row, 2, f"{key}.{name}" if name else key)
            row += 1
    sheet.set_column(0, 0, 60)
    sheet.set_column(1, 1, 12)
    sheet.set_column(2, 2, 32)


#: The transition matrix's extra row and column: customers new in the later period, and
#: customers who left after the earlier one.
NEW_SV, LEFT_SV = "Nya kunder", "Har lämnat"  # as on the page Förändringar


def _state_sv(name: str) -> str:
    return {NEW: NEW_SV, LEFT: LEFT_SV}.get(name) or CATEGORY_SV.get(name, name)


def transitions_workbook(report: dict[str, Any]) -> bytes:
    """The transitions report (``segmentation.transitions.transition_report``) as .xlsx, in
    Swedish: the matrix for the whole country (and the estimated true movement, when the
    report has it), the watched flow per county, every county's matrix."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    count = workbook.add_format({"num_format": "#,##0"})
    percent = workbook.add_format({"num_format": "0.0%"})
    names = report["categories"]
    rows, columns = [*names, NEW], [*names, LEFT]

    sheet = workbook.add_worksheet("Matris")
    population = POPULATION_SV.get(report["population"], report["population"])
    sheet.write(
        0,
        0,
        f"{population.capitalize()}: från {report['from_period']} till {report['to_period']}",
        title,
    )
    blocks = [
        ("Kunder", report["matrix"], "customers", count),
        ("Andel av raden", report["matrix"], "rate", percent),
    ]
    if report.get("estimated"):
        blocks.append(
            (
                "Uppskattad verklig förflyttning, rättad för modellens väntade fel",
                report["estimated"],
                "rate",
                percent,
            )
        )
    for block, (label, matrix, field, fmt) in enumerate(blocks):
        top = 2 + block * (len(rows) + 3)
        sheet.write(top, 0, f"{label} (rader: före, kolumner: efter)", bold)
        sheet.write(top + 1, 0, "Från \\ till", bold)
        for j, target in enumerate(columns, start=1):
            sheet.write(top + 1, j, _state_sv(target), bold)
        cells = {(c["from"], c["to"]): c for c in matrix}
        for i, origin in enumerate(rows, start=top + 2):
            sheet.write(i, 0, _state_sv(origin), bold)
            for j, target in enumerate(columns, start=1):
                cell = cells.get((origin, target))
                if cell is not None:
                    sheet.write_number(i, j, float(cell[field]), fmt)
    sheet.set_column(0, len(columns), 26)

    watched = report["watched"]
    source, target = _state_sv(watched["from"]), _state_sv(watched["to"])
    flow = workbook.add_worksheet("Bevakat flöde")
    flow.write(0, 0, f"Från {source.lower()} till {target.lower()}, per län", title)
    for j, heading in enumerate(["Län", "Länskod", "Kunder", f"Av {source.lower()}", "Andel"]):
        flow.write(2, j, heading, bold)
    for i, (region, values) in enumerate(sorted(watched["by_region"].items()), start=3):
        flow.write(i, 0, county_name(region))
        flow.write(i, 1, region)
        flow.write_number(i, 2, values["customers"], count)
        flow.write_number(i, 3, values["of"], count)
        flow.write_number(i, 4, values["rate"], percent)
    last = 3 + len(watched["by_region"])
    flow.write(last, 0, WHOLE_COUNTRY, bold)
    flow.write_number(last, 2, watched["customers"], count)
    flow.write_number(last, 3, watched["of"], count)
    flow.write_number(last, 4, watched["rate"], percent)
    flow.set_column(0, 0, 24)
    flow.set_column(1, 4, 22)

    table = workbook.add_worksheet("Per län")
    for j, heading in enumerate(["Län", "Länskod", "Från", "Till", "Kunder", "Andel"]):
        table.write(0, j, heading, bold)
    line = 1
    for region, cells in sorted(report["by_region"].items()):
        for cell in cells:
            table.write(line, 0, county_name(region))
            table.write(line, 1, region)
            table.write(line, 2, _state_sv(cell["from"]))
            table.write(line, 3, _state_sv(cell["to"]))
            table.write_number(line, 4, cell["customers"], count)
            table.write_number(line, 5, cell["rate"], percent)
            line += 1
    table.set_column(0, 0, 24)
    table.set_column(1, 1, 10)
    table.set_column(2, 3, 26)
    table.set_column(4, 5, 14)
    workbook.close()
    return buffer.getvalue()


def segment_sv(population: str, category: str) -> str:
    """A row of the monthly indicators in the planners' words."""
    if category == UNSCORED:
        return f"Utan kategori ({POPULATION_SV.get(population, population)})"
    if category == UNIDENTIFIED:
        return "Uppringare som inte identifierats"
    if category == ALL:
        return "Alla"
    return CATEGORY_SV.get(category, category)


#: One indicator per sheet, as the agency reports them (seed 002): the sheet, its title,
#: the table it needs, and its columns (heading, the report's field and an inner key for
#: the spreads, number format).
_Column = tuple[str, str, str | None, str]
INDICATOR_SHEETS: list[tuple[str, str, str, list[_Column]]] = [
    (
        "Inkomna ärenden",
        "Inkomna ärenden under månaden",
        "cases",
        [("Inkomna ärenden", "cases_received", None, "#,##0")],
    ),
    (
        "Beslutade ärenden",
        "Beslutade ärenden under månaden",
        "cases",
        [("Beslutade ärenden", "cases_decided", None, "#,##0")],
    ),
    (
        "Pågående ärenden",
        "Pågående ärenden vid månadens slut och hur gamla de är (dagar)",
        "cases",
        [
            ("Pågående ärenden", "cases_pending", None, "#,##0"),
            ("Medelvärde", "pending_age_days", "mean", "#,##0.0"),
            ("10:e percentilen", "pending_age_days", "p10", "#,##0.0"),
            ("Median", "pending_age_days", "median", "#,##0.0"),
            ("90:e percentilen", "pending_age_days", "p90", "#,##0.0"),
        ],
    ),
    (
        "Handläggningstid",
        "Handläggningstid för ärenden beslutade under månaden (dagar)",
        "cases",
        [
            ("Medelvärde", "handling_days", "mean", "#,##0.0"),
            ("10:e percentilen", "handling_days", "p10", "#,##0.0"),
            ("Median", "handling_days", "median", "#,##0.0"),
            ("90:e percentilen", "handling_days", "p90", "#,##0.0"),
        ],
    ),
    (
        "Årsarbetskrafter",
        "Årsarbetskrafter och beslut, rullande tolv månader (R12)",
        "cases",
        [
            ("Handläggningstimmar R12", "handling_hours_r12", None, "#,##0"),
            ("Årsarbetskrafter", "fte_r12", None, "#,##0.0"),
            ("Beslut R12", "decisions_r12", None, "#,##0"),
            ("Beslut per årsarbetskraft", "decisions_per_fte", None, "#,##0"),
        ],
    ),
    (
        "Telefoni",
        "Telefoni under månaden",
        "calls",
        [
            ("Inkommande samtal", "calls_incoming", None, "#,##0"),
            ("Besvarade samtal", "calls_answered", None, "#,##0"),
            ("Avbrutna i kön", "calls_abandoned", None, "#,##0"),
            ("Avvisade samtal", "calls_rejected", None, "#,##0"),
            ("Tillgänglighet", "availability", None, "0.0%"),
            ("Besvarade inom svarstiden", "answered_within_share", None, "0.0%"),
            ("Svarstid, medelvärde (s)", "answer_seconds", "mean", "#,##0"),
            ("Svarstid, median (s)", "answer_seconds", "median", "#,##0"),
            ("Svarstid, 90:e percentilen (s)", "answer_seconds", "p90", "#,##0"),
        ],
    ),
    (
        "Nöjdhet (NPS)",
        "Nöjdhet: Net Promoter Score under månaden",
        "surveys",
        [
            ("Svar", "survey_answers", None, "#,##0"),
            ("Ambassadörer (9–10)", "promoters", None, "#,##0"),
            ("Passiva (7–8)", "passives", None, "#,##0"),
            ("Kritiker (0–6)", "detractors", None, "#,##0"),
            ("NPS", "nps", None, "0"),
            ("Få svar (under 30)", "few_answers", None, "@"),
        ],
    ),
]
TABLE_SV = {"cases": "cases.parquet", "calls": "calls.parquet", "surveys": "surveys.parquet"}


def _whole(value: float) -> str:
    """A count as Swedish text: 12 345 (a no-break space between thousands)."""
    return f"{value:,.0f}".replace(",", "\u00a0")


def _styles(workbook: Any) -> Any:
    """A cell format per number format and weight, made once per workbook."""
    made: dict[tuple[str, bool], Any] = {}

    def style(number_format: str, bold: bool = False) -> Any:
        if (number_format, bold) not in made:
            made[(number_format, bold)] = workbook.add_format(
                {"num_format": number_format, "bold": bold}
            )
        return made[(number_format, bold)]

    return style


def _figure(row: dict[str, Any], field: str, inner: str | None) -> Any:
    """A segment's figure (a spread's ``inner`` value), None where nothing was measured."""
    value = row.get(field)
    return value.get(inner) if inner is not None and value is not None else value


def _write_figure(sheet: Any, i: int, j: int, value: Any, cell: Any) -> None:
    if value is None:
        sheet.write(i, j, "–")
    elif isinstance(value, bool):
        sheet.write(i, j, "ja" if value else "")
    else:
        sheet.write_number(i, j, float(value), cell)


def _write_case_types(
    workbook: Any, report: dict[str, Any], style: Any, bold: Any, title: Any
) -> None:
    """Per case type, as the agency reports per benefit (seed 002), with the received per
    segment beside."""
    sheet = workbook.add_worksheet("Per ärendeslag")
    sheet.write(0, 0, f"Ärenden per ärendeslag, {report['month']}", title)
    segments = [
        (row["population"], row["category"])
        for row in report["segments"]
        if row["category"] not in (ALL, UNIDENTIFIED)
    ]
    headings = ["Ärendeslag", "Inkomna", "Beslutade", "Pågående", "Handläggningstid, median"]
    headings += [f"Inkomna: {segment_sv(*segment)}" for segment in segments]
    for j, heading in enumerate(headings):
        sheet.write(2, j, heading, bold)
    for i, row in enumerate(report["case_types"], start=3):
        sheet.write(i, 0, CASE_TYPE_SV.get(row["case_type"], row["case_type"]))
        figures = [
            row["cases_received"],
            row["cases_decided"],
            row["cases_pending"],
            _figure(row, "handling_days", "median"),
            *(row["received_by_segment"].get(category, 0) for _, category in segments),
        ]
        for j, value in enumerate(figures, start=1):
            _write_figure(sheet, i, j, value, style("#,##0.0" if j == 4 else "#,##0"))
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, len(headings), 16)


def indicators_workbook(report: dict[str, Any]) -> bytes:
    """The month's result indicators (``segmentation.indicators.monthly_report``) as .xlsx,
    in Swedish: one indicator per sheet, segments as rows, and a sheet on the report."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    style = _styles(workbook)
    segments = report["segments"]
    for sheet_name, heading, table, columns in INDICATOR_SHEETS:
        if table not in report["tables"]:
            continue
        sheet = workbook.add_worksheet(sheet_name)
        sheet.write(0, 0, f"{heading}, {report['month']}", title)
        sheet.write(2, 0, "Segment", bold)
        for j, (name, *_) in enumerate(columns, start=1):
            sheet.write(2, j, name, bold)
        for i, row in enumerate(segments, start=3):
            whole = row["category"] == ALL
            sheet.write(
                i, 0, segment_sv(row["population"], row["category"]), bold if whole else None
            )
            for j, (_, field, inner, number_format) in enumerate(columns, start=1):
                _write_figure(sheet, i, j, _figure(row, field, inner), style(number_format, whole))
        sheet.set_column(0, 0, 44)
        sheet.set_column(1, len(columns), 18)
    if report.get("case_types"):
        _write_case_types(workbook, report, style, bold, title)
    about = workbook.add_worksheet("Om rapporten")
    about.write(0, 0, f"Resultatindikatorer per segment, {report['month']}", title)
    lines: list[tuple[str, Any]] = [
        ("Månad", f"{report['first_day']} – {report['last_day']}"),
        *(
            (
                f"Kategorier för {POPULATION_SV.get(name, name)}",
                f"perioden som slutade {end}, med handläggarnas ändringar som gällde vid "
                "månadens slut",
            )
            for name, end in report["periods"].items()
        ),
        ("Timmar per årsarbetskraft", report["assumptions"]["hours_per_fte"]),
        ("Svarstid att hålla (sekunder)", report["assumptions"]["answer_within_seconds"]),
        *(
            (
                TABLE_SV.get(table, table),
                f"{_whole(counts['accepted'])} rader godtagna, "
                f"{_whole(counts['rejected'])} satta åt sidan",
            )
            for table, counts in report.get("rows", {}).items()
        ),
    ]
    for i, (label, value) in enumerate(lines, start=2):
        about.write(i, 0, label, bold)
        about.write(i, 1, value)
    about.set_column(0, 0, 40)
    about.set_column(1, 1, 80)
    workbook.close()
    return buffer.getvalue()


#: The series over months: each indicator's headline figure on a sheet of its own, segments
#: as rows and months as columns, as the agency reports month by month (seed 002): the
#: sheet, the table it needs, the report's field (and a spread's inner key), number format.
SERIES_SHEETS: list[tuple[str, str, str, str | None, str]] = [
    ("Inkomna ärenden", "cases", "cases_received", None, "#,##0"),
    ("Beslutade ärenden", "cases", "cases_decided", None, "#,##0"),
    ("Pågående ärenden", "cases", "cases_pending", None, "#,##0"),
    ("Pågående, medianålder", "cases", "pending_age_days", "median", "#,##0.0"),
    ("Handläggningstid, median", "cases", "handling_days", "median", "#,##0.0"),
    ("Årsarbetskrafter R12", "cases", "fte_r12", None, "#,##0.0"),
    ("Beslut per årsarbetskraft", "cases", "decisions_per_fte", None, "#,##0"),
    ("Inkommande samtal", "calls", "calls_incoming", None, "#,##0"),
    ("Besvarade samtal", "calls", "calls_answered", None, "#,##0"),
    ("Avvisade samtal", "calls", "calls_rejected", None, "#,##0"),
    ("Tillgänglighet", "calls", "availability", None, "0.0%"),
    ("Svarstid, median (s)", "calls", "answer_seconds", "median", "#,##0"),
    ("NPS", "surveys", "nps", None, "0"),
]


def indicators_series_workbook(reports: list[dict[str, Any]]) -> bytes:
    """Every kept month's indicators (reports, in any order) as one .xlsx, in Swedish: an
    indicator per sheet, segments as rows, the months as columns (oldest first), a line
    chart of the segments over the months, and a sheet saying which periods each month's
    categories came from."""
    ordered = sorted(reports, key=lambda report: str(report["month"]))
    months = [str(report["month"]) for report in ordered]
    keys: list[tuple[str, str]] = []
    for report in reversed(ordered):  # the newest month's order, then segments seen before
        for row in report["segments"]:
            if (row["population"], row["category"]) not in keys:
                keys.append((row["population"], row["category"]))
    keys.sort(key=lambda key: key[1] == ALL)  # the whole last
    rows = {
        (report["month"], row["population"], row["category"]): row
        for report in ordered
        for row in report["segments"]
    }
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    style = _styles(workbook)
    for sheet_name, table, field, inner, number_format in SERIES_SHEETS:
        if not any(table in report["tables"] for report in ordered):
            continue
        here = [key for key in keys if table == "calls" or key[1] != UNIDENTIFIED]
        sheet = workbook.add_worksheet(sheet_name)
        sheet.write(0, 0, f"{sheet_name} per segment och månad", title)
        sheet.write(2, 0, "Segment", bold)
        for j, month in enumerate(months, start=1):
            sheet.write(2, j, month, bold)
        for i, (population, category) in enumerate(here, start=3):
            whole = category == ALL
            sheet.write(i, 0, segment_sv(population, category), bold if whole else None)
            for j, month in enumerate(months, start=1):
                row = rows.get((month, population, category))
                value = _figure(row, field, inner) if row is not None else None
                _write_figure(sheet, i, j, value, style(number_format, whole))
        sheet.set_column(0, 0, 44)
        sheet.set_column(1, len(months), 12)
        if len(months) > 1:
            chart = workbook.add_chart({"type": "line"})
            for i, (_, category) in enumerate(here, start=3):
                if category in (ALL, UNIDENTIFIED, UNSCORED):
                    continue  # the segments' own lines; the whole dwarfs them
                chart.add_series(
                    {
                        "name": [sheet_name, i, 0],
                        "categories": [sheet_name, 2, 1, 2, len(months)],
                        "values": [sheet_name, i, 1, i, len(months)],
                        "marker": {"type": "circle"},
                    }
                )
            chart.set_title({"name": sheet_name})
            chart.set_y_axis({"num_format": number_format})
            chart.set_size({"width": 900, "height": 420})
            sheet.insert_chart(3 + len(here) + 2, 0, chart)
    about = workbook.add_worksheet("Om rapporten")
    about.write(0, 0, f"Resultatindikatorer per segment, {months[0]} – {months[-1]}", title)
    about.write(2, 0, "Månad", bold)
    about.write(2, 1, "Kategorierna från", bold)
    for i, report in enumerate(ordered, start=3):
        about.write(i, 0, report["month"])
        periods = ", ".join(
            f"{POPULATION_SV.get(name, name)}: perioden som slutade {end}"
            for name, end in report["periods"].items()
        )
        about.write(i, 1, periods + " (med handläggarnas ändringar vid månadens slut)")
    about.set_column(0, 0, 14)
    about.set_column(1, 1, 100)
    workbook.close()
    return buffer.getvalue()

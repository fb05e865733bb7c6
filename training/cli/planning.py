"""Capacity planning: staffing per segment and region, scenarios, the Excel report."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from segmentation.capacity import ASSUMPTION_BOUNDS, MOVE_HELP, SHIFT_HELP, Assumptions
from segmentation.settings import get_settings
from training.cli.common import PopulationOption, console

DEFAULT = Assumptions()


def _bounded(name: str, help_text: str | None = None) -> Any:
    """The option for assumption ``name``, within its bounds."""
    low, high = ASSUMPTION_BOUNDS[name]
    return typer.Option(min=low, max=high, help=help_text)


log = logging.getLogger(__name__)


def capacity(
    out: Annotated[Path | None, typer.Option(help="Write the Excel report here (.xlsx).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    service_level: Annotated[float, _bounded("service_level")] = DEFAULT.service_level,
    answer_within: Annotated[
        float, _bounded("answer_within_seconds", "Seconds.")
    ] = DEFAULT.answer_within_seconds,
    opening_hours: Annotated[
        float, _bounded("opening_hours_per_day", "Per day.")
    ] = DEFAULT.opening_hours_per_day,
    opening_days: Annotated[
        float, _bounded("opening_days_per_year", "Per year.")
    ] = DEFAULT.opening_days_per_year,
    handle_seconds: Annotated[
        float, _bounded("phone_handle_seconds", "Per call.")
    ] = DEFAULT.phone_handle_seconds,
    shrinkage: Annotated[float, _bounded("shrinkage")] = DEFAULT.shrinkage,
    shift: Annotated[list[str] | None, typer.Option(help=SHIFT_HELP)] = None,
    move: Annotated[list[str] | None, typer.Option(help=MOVE_HELP)] = None,
) -> None:
    """Per-segment capacity: customers, contacts, hours, FTE and phone agents, with scenarios."""
    from segmentation.capacity import parse_changes
    from segmentation.capacity import report as build_report
    from segmentation.excel import capacity_workbook
    from segmentation.store import SegmentStore
    from training.files import atomic_write_bytes

    assumptions = Assumptions(
        service_level=service_level,
        answer_within_seconds=answer_within,
        opening_hours_per_day=opening_hours,
        opening_days_per_year=opening_days,
        phone_handle_seconds=handle_seconds,
        shrinkage=shrinkage,
    )
    try:
        changes = parse_changes(shift, move)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    loads = store.capacity_loads()
    store.dispose()
    if not loads:
        console.print("[red]the segment store is empty: run `segmentation score` first[/red]")
        raise typer.Exit(1)
    try:
        result = build_report(loads, assumptions, changes)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    if out is not None:
        atomic_write_bytes(capacity_workbook(result), out)
        console.print(f"wrote {out}")
    if as_json:
        typer.echo(json.dumps(result, default=str, ensure_ascii=False, indent=2))
    if out is None and not as_json:
        table = Table(title="Capacity, all regions")
        for column in (
            "population",
            "category",
            "customers",
            "contacts",
            "handling hours",
            "FTE",
            "phone agents",
        ):
            table.add_column(
                column, justify="left" if column in ("population", "category") else "right"
            )
        for row in result["segments"]:
            if row["region"] == "all":
                table.add_row(
                    row["population"],
                    row["category"],
                    f"{row['customers']:,}",
                    f"{row['contacts']:,.0f}",
                    f"{row['handling_hours']:,.0f}",
                    f"{row['fte']:,.1f}",
                    f"{row['phone_agents']:,}",
                )
        console.print(table)


def _date(value: str, hint: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter("a date, YYYY-MM-DD (a period's end)", param_hint=hint) from error


def transitions(
    from_period: Annotated[
        str, typer.Option("--from", help="The earlier period's end, YYYY-MM-DD.")
    ],
    to_period: Annotated[str, typer.Option("--to", help="The later period's end, YYYY-MM-DD.")],
    population: PopulationOption = "citizens",
    out: Annotated[Path | None, typer.Option(help="Write the Excel workbook here (.xlsx).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Movement between the categories of two periods: counts and rates, per county, with
    the irregular -> needs-support flow called out."""
    from segmentation.excel import transitions_workbook
    from segmentation.store import SegmentStore
    from segmentation.transitions import transition_report, with_period_estimate
    from training.files import atomic_write_bytes

    before, after = _date(from_period, "--from"), _date(to_period, "--to")
    if before >= after:  # a backward matrix would swap the newcomers and the leavers
        raise typer.BadParameter(f"an earlier period than --to ({after})", param_hint="--from")
    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    periods = {p.period_end: p for p in store.periods(population, fresh=True)}  # type: ignore[arg-type]
    missing = [str(d) for d in (before, after) if d not in periods]
    if missing:
        listed = ", ".join(str(d) for d in sorted(periods)) or "none"
        console.print(f"[red]no scored period {', '.join(missing)}; scored periods: {listed}[/red]")
        store.dispose()
        raise typer.Exit(1)
    counts = store.transition_counts(population, periods[before], periods[after])  # type: ignore[arg-type]
    store.dispose()
    report = with_period_estimate(
        transition_report(population, before, after, counts),  # type: ignore[arg-type]
        periods[before].soft_confusion,
        periods[after].soft_confusion,
    )
    if out is not None:
        atomic_write_bytes(transitions_workbook(report), out)
        console.print(f"wrote {out}")
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    names = [*report["categories"], "left"]
    table = Table(title=f"{population}: {before} -> {after} (share of the row)")
    table.add_column("from \\ to")
    for name in names:
        table.add_column(name, justify="right")
    cells = {(c["from"], c["to"]): c for c in report["matrix"]}
    for origin in [*report["categories"], "new"]:
        table.add_row(
            origin,
            *(
                f"{cells[(origin, t)]['rate']:.1%} ({cells[(origin, t)]['customers']:,})"
                if (origin, t) in cells
                else ""
                for t in names
            ),
        )
    console.print(table)
    watched = report["watched"]
    console.print(
        f"{watched['from']} -> {watched['to']}: {watched['customers']:,} of {watched['of']:,} "
        f"({watched['rate']:.1%})"
    )
    if report["estimated"]:
        estimated = {(c["from"], c["to"]): c["rate"] for c in report["estimated"]}
        console.print(
            "corrected for the models' errors as reviews measured them: "
            + ", ".join(
                f"{a} -> {b} {estimated[(a, b)]:.1%}"
                for a in report["categories"]
                for b in report["categories"]
                if (a, b) in estimated
            )
        )


def drift(
    population: PopulationOption = "citizens",
) -> None:
    """The drift of each scored period against the one before (category shares and the
    population stability index of every input), newest first, as JSON."""
    from segmentation.store import SegmentStore

    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    reports = [json.loads(report) for _, _, report in store.drift_reports(population)]  # type: ignore[arg-type]
    store.dispose()
    typer.echo(json.dumps(reports, indent=2))


def oversight(
    population: PopulationOption = "citizens",
) -> None:
    """How often case handlers override the model, per category, county, reason and month
    (JSON)."""
    from segmentation.oversight import oversight_figures
    from segmentation.store import SegmentStore

    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    latest = store.period(population)  # type: ignore[arg-type]
    figures = oversight_figures(
        store.override_events(population),  # type: ignore[arg-type]
        latest.counts if latest else {},
    )
    store.dispose()
    typer.echo(json.dumps(figures, indent=2))


def indicators(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    data: Annotated[
        Path,
        typer.Option(help="The folder with cases.parquet, calls.parquet and surveys.parquet."),
    ] = Path("."),
    out: Annotated[Path | None, typer.Option(help="Write the Excel workbook here (.xlsx).")] = None,
    rejected: Annotated[
        Path | None,
        typer.Option(help="Write the rows set aside here (TABLE_rejected.parquet, with reason)."),
    ] = None,
    series: Annotated[
        Path | None,
        typer.Option(
            help="Also write every kept month here (.xlsx): an indicator per sheet, a column "
            "per month."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    hours_per_fte: Annotated[
        float, _bounded("hours_per_fte", "Hours per full-time equivalent.")
    ] = DEFAULT.hours_per_fte,
    answer_within: Annotated[
        float, _bounded("answer_within_seconds", "Seconds: the answer-time target.")
    ] = DEFAULT.answer_within_seconds,
) -> None:
    """The month's result indicators per segment: cases, handling time, FTE, telephony and
    the net promoter score, kept in the store for the planners' page and the API."""
    from data_contracts.validation import ContractError
    from segmentation.excel import indicators_series_workbook, indicators_workbook
    from segmentation.indicators import parse_month
    from segmentation.store import SegmentStore
    from training.files import atomic_write_bytes, atomic_write_parquet
    from training.indicators import NoInputs, NoPeriod, compute

    try:
        parse_month(month)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--month") from error
    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    try:
        run = compute(
            data,
            month,
            store,
            timezone=settings.timezone,
            hours_per_fte=hours_per_fte,
            answer_within_seconds=answer_within,
        )
    except (NoInputs, ContractError) as error:
        store.dispose()
        raise typer.BadParameter(str(error), param_hint="--data") from error
    except NoPeriod as error:
        store.dispose()
        console.print(f"[red]{error}: run `segmentation score` first[/red]")
        raise typer.Exit(1) from error
    store.save_indicators(month, run.report)
    kept = store.indicator_reports() if series is not None else []
    store.dispose()
    said = Console(stderr=True) if as_json else console  # --json: only the report on stdout
    for table, result in run.validated.items():
        counts = result.counts
        line = f"{table}: {counts['accepted']:,} accepted, {counts['rejected']:,} set aside"
        said.print(line + (f" ({result.reasons()})" if counts["rejected"] else ""))
        if rejected is not None and counts["rejected"]:
            frame = result.rejected
            text = {c: frame[c].astype("string") for c in frame.columns if frame[c].dtype == object}
            rejected.mkdir(parents=True, exist_ok=True)
            atomic_write_parquet(frame.assign(**text), rejected / f"{table}_rejected.parquet")
    if out is not None:
        atomic_write_bytes(indicators_workbook(run.report), out)
        said.print(f"wrote {out}")
    if series is not None:
        atomic_write_bytes(indicators_series_workbook(kept), series)
        said.print(f"wrote {series} ({len(kept)} months)")
    if as_json:
        typer.echo(json.dumps(run.report, indent=2, ensure_ascii=False))
        return
    table_view = Table(title=f"Result indicators, {month}")
    headings = (
        "segment",
        "received",
        "decided",
        "pending",
        "FTE (R12)",
        "calls",
        "answered",
        "NPS",
    )
    for heading in headings:
        table_view.add_column(
            heading,
            justify="left" if heading == "segment" else "right",
            no_wrap=heading == "segment",
        )

    def shown(value: Any, form: str) -> str:
        return "" if value is None else format(value, form)

    for row in run.report["segments"]:
        table_view.add_row(
            row["category"] + (f" ({row['population']})" if row["category"] == "unscored" else ""),
            shown(row.get("cases_received"), ","),
            shown(row.get("cases_decided"), ","),
            shown(row.get("cases_pending"), ","),
            shown(row.get("fte_r12"), ",.1f"),
            shown(row.get("calls_incoming"), ","),
            shown(row.get("availability"), ".0%"),
            shown(row.get("nps"), ".0f"),
        )
    console.print(table_view)

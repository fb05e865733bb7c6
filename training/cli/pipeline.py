"""Commands of the main job: generate data, train, score, and the demo that runs them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from segmentation.settings import get_settings
from training.cli.common import BAD_INPUT, BUSY, answered_off_page, console

if TYPE_CHECKING:
    from training.score import ChunkEngine

log = logging.getLogger(__name__)


def generate(
    out: Annotated[Path, typer.Option(help="Folder for the Parquet files.")],
    citizens: Annotated[int, typer.Option(min=0, help="Number of citizens.")] = 100_000,
    employers: Annotated[int, typer.Option(min=0, help="Number of employers.")] = 10_000,
    seed: Annotated[int | None, typer.Option(help="Seed (default: settings).")] = None,
    world: Annotated[
        str,
        typer.Option(help="Which synthetic world (README, 'Model quality on unseen worlds')."),
    ] = "archetype",
    periods: Annotated[
        int,
        typer.Option(
            min=1,
            max=10,
            help="Consecutive yearly periods of the same people (archetype world), one "
            "folder each under OUT, named by period end.",
        ),
    ] = 1,
    indicator_inputs: Annotated[
        bool,
        typer.Option(
            help="Also write cases.parquet, calls.parquet and surveys.parquet for the year "
            "after the period (`segmentation indicators`)."
        ),
    ] = False,
) -> None:
    """Write a synthetic population calibrated to the reference table."""
    from training.generate import write_periods, write_population
    from training.worlds import WORLDS

    if world not in WORLDS:
        raise typer.BadParameter(f"one of {', '.join(WORLDS)}", param_hint="--world")
    used_seed = get_settings().seed if seed is None else seed
    if periods > 1:
        if indicator_inputs:
            raise typer.BadParameter("with one period", param_hint="--indicator-inputs")
        if world != "archetype":
            raise typer.BadParameter("periods come from the archetype world", param_hint="--world")
        with console.status(f"generating {periods} periods of {citizens:,} citizens"):
            written = write_periods(
                out, citizens=citizens, employers=employers, seed=used_seed, periods=periods
            )
        for name, n in written.items():
            console.print(f"{name}: {n:,} rows")
        return
    with console.status(f"generating {citizens:,} citizens and {employers:,} employers"):
        counts = write_population(
            out,
            citizens=citizens,
            employers=employers,
            seed=used_seed,
            world=world,
            indicator_inputs=indicator_inputs,
        )
    for population, n in counts.items():
        console.print(f"{population}: {n:,} rows -> {out / (population + '.parquet')}")


def train(
    data: Annotated[Path, typer.Option(help="Folder with citizens.parquet / employers.parquet.")],
    reviews: Annotated[
        list[Path] | None,
        typer.Option(
            help="reviews.parquet: case handlers' judgements to name and refine; once per "
            "round of review (a customer in two files keeps the later file's review)."
        ),
    ] = None,
) -> None:
    """Validate, train both models, log to MLflow, register, and gate the `champion` alias."""
    from segmentation.taxonomy import POPULATIONS
    from training.files import prefetch_tables

    for path in reviews or []:
        if not path.exists():
            raise typer.BadParameter(f"{path} does not exist", param_hint="--reviews")
    reads = prefetch_tables(data, POPULATIONS)  # the files are read while training imports

    from data_contracts.validation import ContractError
    from training.train import load_reviews, train_reviewed

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        answered = None
        if reviews:
            answered, set_aside = load_reviews(reviews)
            if set_aside:
                console.print(
                    f"[yellow]reviews: {set_aside:,} rows set aside (why: the warning above); "
                    f"{len(answered):,} accepted[/yellow]"
                )
        with console.status("training"):
            reports = train_reviewed(data, settings, answered, reads)
    except (ContractError, FileNotFoundError, ValueError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    for report in reports:
        table = Table(title=f"{report.population}: version {report.version}")
        table.add_column("category")
        for column in report.profiles.columns:
            table.add_column(str(column), justify="right")
        for name, row in report.profiles.iterrows():
            table.add_row(str(name), *(f"{v:.3f}" for v in row.to_numpy()))
        console.print(table)
        console.print(
            f"rows accepted {report.rows_accepted:,}, rejected {report.rows_rejected:,}; "
            f"reviews used {report.reviews_used:,}; "
            + ", ".join(
                f"{k} {report.metrics[k]:.3f}"
                for k in (
                    "stability",
                    "changed_vs_champion",
                    "review_macro_recall",
                    "truth_ari",
                    "truth_macro_recall",
                )
                if k in report.metrics
            )
        )
        if "review_macro_recall" in report.metrics:
            console.print(
                "agreement with reviews (cross-validated, 95 %): "
                f"{report.metrics['review_macro_recall_low']:.3f}-"
                f"{report.metrics['review_macro_recall_high']:.3f}"
            )
        if "reviews_second_opinions" in report.metrics:
            console.print(second_opinions_line(report.metrics))
        if report.unmeasured:
            console.print(
                f"[yellow]{report.population}: {report.unmeasured}. Review a sample: "
                f"`segmentation review sample --n 400 --part spread --data {data} --out "
                "r1.parquet`, then train with `--reviews r1.parquet`[/yellow]"
            )
        if report.unrecorded:
            console.print(
                f"[yellow]{report.population}: 0 for every customer, not recorded by the "
                f"extract? {', '.join(report.unrecorded)} (the model learns nothing from "
                "them)[/yellow]"
            )
        if report.drift:
            console.print(
                "drift from the reference (reported, not refused): " + "; ".join(report.drift)
            )
        if report.fairness_flags:
            console.print(
                "[yellow]fairness (an audit, never a feature): groups routed to more personal "
                "service at under 0.8 of the most favoured group's rate: "
                + "; ".join(report.fairness_flags)
                + "[/yellow]"
            )
        if report.promoted:
            console.print(f"[green]gate passed: champion -> version {report.version}[/green]")
        else:
            console.print(
                f"[red]gate failed, champion stays at {report.champion_version}:[/red] "
                + "; ".join(report.gate_reasons)
            )
        if report.next_step:
            console.print(f"[yellow]{report.population}: {report.next_step}[/yellow]")
    if answered is not None:
        console.print(answered_off_page(settings, answered))


def second_opinions_line(metrics: Mapping[str, float]) -> str:
    """What the second opinions say of the reviews, in a line (``settle_opinions``)."""
    split = int(metrics["reviews_without_majority"])
    return (
        f"second opinions: {int(metrics['reviews_second_opinions']):,} customers judged by "
        f"several case handlers; {metrics['reviewer_agreement']:.0%} of their pairs of "
        f"judgements agree (kappa {metrics['reviewer_kappa']:.2f})"
        + (f"; {split:,} split evenly, left out until another judges them" if split else "")
    )


class Engine(StrEnum):
    local = "local"
    spark = "spark"


def score(
    data: Annotated[Path, typer.Option(help="Folder with the tables to score.")],
    out: Annotated[Path | None, typer.Option(help="Folder for Parquet outputs.")] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="Who scores the chunks: this machine's worker processes, or Spark's "
            "executors (the optional extra: pip install 'segmentation[spark]'; master from "
            "SEGMENTATION_SPARK_MASTER).",
        ),
    ] = Engine.local,
) -> None:
    """Batch-score the tables with the `champion` models into the segment store."""
    from training.files import population_tables

    try:
        present = population_tables(data)
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(BAD_INPUT) from error
    # The worker processes (or Spark) start first and import their libraries while this
    # process does its own.
    starting = _start_engine(engine)
    from training.score import prefetch_facts, score_folder

    facts = prefetch_facts(data)  # the files are read while MLflow starts

    from pyarrow import ArrowInvalid

    from data_contracts.validation import ContractError
    from models.registry import champion, configure_mlflow, load_champion
    from segmentation.store import RunInProgress, SegmentStore
    from training.drift import drift_report, record_drift
    from training.spark import SparkFailure

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    champions = {}
    for population in present:
        if champion(population) is None:
            facts.pop(population).cancel()  # not read, unless its read has begun
            console.print(
                f"[yellow]{population}: not scored: no champion model yet "
                "(train, or put a version into service with `segmentation promote`)[/yellow]"
            )
            continue
        champions[population] = load_champion(population)
    chunk_engine = _started(starting)
    if not champions:
        chunk_engine.close()
        console.print("[red]nothing to score: no table in DATA has a champion model[/red]")
        raise typer.Exit(1)
    log.info("champions loaded: %s", {p: version for p, (_, version) in champions.items()})
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        tasks: dict[str, TaskID] = {}

        def on_progress(population: str, done: int, total: int) -> None:
            if population not in tasks:
                tasks[population] = progress.add_task(f"scoring {population}", total=total)
            progress.update(tasks[population], completed=done)

        try:
            reports = score_folder(
                data,
                store,
                champions,
                chunk_rows=settings.chunk_rows,
                out=out,
                on_progress=on_progress,
                engine=chunk_engine,
                facts=facts,
                drift=drift_report,
            )
        except (ContractError, ArrowInvalid, OSError, SparkFailure, RunInProgress) as error:
            # One line: the file and what is wrong with it (nothing was scored: exit 2), a
            # Spark task's error (the chunks written before it stay: 1), or another run
            # scoring the same period now (nothing of it touched: 4).
            progress.stop()
            console.print(f"[red]{error}[/red]")
            store.dispose()
            if isinstance(error, RunInProgress):
                raise typer.Exit(BUSY) from error
            raise typer.Exit(1 if isinstance(error, SparkFailure) else BAD_INPUT) from error
    for report in reports:
        resumed = (
            f" (resumed: {report.resumed_from_chunk} chunks were written already)"
            if report.resumed_from_chunk
            else ""
        )
        console.print(
            f"{report.population}: period {report.period_end}: accepted {report.accepted:,}, "
            f"rejected {report.rejected:,}, model version {report.model_version}{resumed}; "
            f"{report.supportive:,} borderline customers given the more supportive channel"
        )
        drift = record_drift(
            store, report.population, report.drift, artifact_root=settings.artifact_root
        )
        if drift and drift["flags"]:
            console.print(
                f"[yellow]{report.population}: drifted since {drift['previous_period_end']} "
                f"(retraining advised): {'; '.join(drift['flags'])}[/yellow]"
            )
    store.dispose()


def _start_engine(engine: Engine) -> Future[ChunkEngine]:
    """The engine, starting: this machine's worker processes at once, or a Spark session in
    a thread of its own (its JVM starts in seconds, while MLflow loads the champions)."""
    from training.score import ProcessEngine

    if engine is Engine.local:
        started: Future[ChunkEngine] = Future()
        started.set_result(ProcessEngine())
        return started
    from training.spark import SparkEngine

    settings = get_settings()
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spark-start")
    starting: Future[ChunkEngine] = thread.submit(
        SparkEngine.start, settings.spark_master, settings.resolved_store_url
    )
    thread.shutdown(wait=False)
    return starting


def _started(starting: Future[ChunkEngine]) -> ChunkEngine:
    """The engine once started, or one line saying why Spark cannot start (exit 2)."""
    from training.spark import SparkUnavailable

    try:
        return starting.result()
    except SparkUnavailable as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(BAD_INPUT) from error


def demo_months(period_end: dt.date, today: dt.date, count: int = 3) -> list[str]:
    """The ``count`` months, oldest first, up to the last complete one before ``today``,
    within the year after ``period_end`` that the synthetic cases and calls cover."""
    first = period_end.year * 12 + period_end.month  # the month after period_end, 0-based
    last = min(max(today.year * 12 + today.month - 2, first + count - 1), first + 11)
    return [f"{m // 12}-{m % 12 + 1:02d}" for m in range(last - count + 1, last + 1)]


def demo(
    data: Annotated[Path, typer.Option(help="Folder for the synthetic data.")] = Path("data/demo"),
    citizens: Annotated[int, typer.Option(min=1_000)] = 200_000,
    employers: Annotated[int, typer.Option(min=1_000)] = 20_000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
) -> None:
    """The whole loop on embedded defaults: generate, train, score, the last three months'
    result indicators, then serve."""
    from training.cli.planning import indicators
    from training.synthetic import PERIOD_END

    generate(out=data, citizens=citizens, employers=employers, seed=None, indicator_inputs=True)
    train(data=data)
    score(data=data, out=data.parent / "demo-out")
    for month in demo_months(PERIOD_END, dt.date.today()):
        indicators(month=month, data=data)
    if serve_after:
        from training.cli.service import serve

        serve(host="127.0.0.1", port=8000)

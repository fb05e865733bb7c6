"""The `segmentation` command line (typer)."""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
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

app = typer.Typer(add_completion=False, help="Customer segmentation for a social-insurance agency.")
console = Console()
log = logging.getLogger(__name__)


#: Exit codes: 1 nothing to do, 2 bad input, 3 the model registry could not be read.
BAD_INPUT = 2
REGISTRY_UNREADABLE = 3


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if not verbose:
        warnings.filterwarnings("ignore", module="mlflow")
        warnings.filterwarnings("ignore", category=UserWarning)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder for the Parquet files.")],
    citizens: Annotated[int, typer.Option(min=0, help="Number of citizens.")] = 100_000,
    employers: Annotated[int, typer.Option(min=0, help="Number of employers.")] = 10_000,
    seed: Annotated[int | None, typer.Option(help="Seed (default: settings).")] = None,
    world: Annotated[
        str,
        typer.Option(help="Which synthetic world (README, 'Model quality on unseen worlds')."),
    ] = "archetype",
) -> None:
    """Write a synthetic population calibrated to the reference table."""
    from training.generate import write_population
    from training.worlds import WORLDS

    if world not in WORLDS:
        raise typer.BadParameter(f"one of {', '.join(WORLDS)}", param_hint="--world")
    used_seed = get_settings().seed if seed is None else seed
    with console.status(f"generating {citizens:,} citizens and {employers:,} employers"):
        counts = write_population(
            out, citizens=citizens, employers=employers, seed=used_seed, world=world
        )
    for population, n in counts.items():
        console.print(f"{population}: {n:,} rows -> {out / (population + '.parquet')}")


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Folder with citizens.parquet / employers.parquet.")],
    reviews: Annotated[
        Path | None,
        typer.Option(help="reviews.parquet: case handlers' judgements to name and refine."),
    ] = None,
) -> None:
    """Validate, train both models, log to MLflow, register, and gate the `champion` alias."""
    from data_contracts.validation import ContractError
    from training.train import train as run_training

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    if reviews is not None and not reviews.exists():
        raise typer.BadParameter(f"{reviews} does not exist", param_hint="--reviews")
    try:
        with console.status("training"):
            reports = run_training(data, settings, reviews)
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
        if report.drift:
            console.print(
                "drift from the reference (reported, not refused): " + "; ".join(report.drift)
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


@app.command()
def score(
    data: Annotated[Path, typer.Option(help="Folder with the tables to score.")],
    out: Annotated[Path | None, typer.Option(help="Folder for Parquet outputs.")] = None,
) -> None:
    """Batch-score the tables with the `champion` models into the segment store."""
    from training.worker import start_pool

    pool = start_pool()  # the worker imports its libraries while this process does its own

    from pyarrow import ArrowInvalid

    from data_contracts.validation import ContractError
    from models.registry import champion, configure_mlflow, load_champion
    from segmentation.store import SegmentStore
    from segmentation.taxonomy import POPULATIONS
    from training.score import score_folder

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    champions = {}
    for population in POPULATIONS:
        if not (data / f"{population}.parquet").exists():
            continue
        if champion(population) is None:
            console.print(
                f"[yellow]{population}: not scored: no champion model yet "
                "(train, or put a version into service with `segmentation promote`)[/yellow]"
            )
            continue
        champions[population] = load_champion(population)
    if not champions:
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
                pool=pool,
            )
        except (ContractError, ArrowInvalid, OSError) as error:
            # One line naming the file and what is wrong with it; nothing was scored.
            progress.stop()
            console.print(f"[red]{error}[/red]")
            store.dispose()
            raise typer.Exit(BAD_INPUT) from error
    for report in reports:
        resumed = (
            f" (resumed at chunk {report.resumed_from_chunk})" if report.resumed_from_chunk else ""
        )
        console.print(
            f"{report.population}: accepted {report.accepted:,}, rejected {report.rejected:,}, "
            f"model version {report.model_version}{resumed}"
        )
    store.dispose()


review_app = typer.Typer(help="The expert-review loop: samples to review, reviews to train on.")
app.add_typer(review_app, name="review")


@review_app.command("sample")
def review_sample(
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="How many customers.")],
    out: Annotated[Path, typer.Option(help="The Parquet file case handlers fill in.")],
    data: Annotated[Path, typer.Option(help="Folder with the population to sample from.")],
    population: Annotated[str, typer.Option(help="citizens or employers.")] = "citizens",
) -> None:
    """Draw the customers whose review teaches the model most (every cluster, the borderline
    ones first) into a file of the review contract's columns."""
    import datetime as dt

    import pyarrow.parquet as pq

    from data_contracts.validation import ID_COLUMN, validate
    from models.registry import configure_mlflow, load_champion
    from models.segmenter import ClusterSegmenter
    from segmentation.features import numeric_matrix
    from training.files import atomic_write_parquet
    from training.review import draw_sample, keep_design, sample_file

    if population not in ("citizens", "employers"):
        raise typer.BadParameter("citizens or employers", param_hint="--population")
    path = data / f"{population}.parquet"
    if not path.exists():
        raise typer.BadParameter(f"no {path.name} in {data}", param_hint="--data")
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    accepted = validate(pq.read_table(path).to_pandas(), population).accepted  # type: ignore[arg-type]
    raw = numeric_matrix(accepted, population)  # type: ignore[arg-type]
    ids = accepted[ID_COLUMN[population]].to_numpy()
    try:
        bundle, version = load_champion(population)  # type: ignore[arg-type]
        model = bundle.segmenter
        source = f"champion version {version}"
    except LookupError:
        with console.status("no champion yet: fitting the unsupervised model to sample from"):
            model = ClusterSegmenter(
                population,  # type: ignore[arg-type]
                max_fit_rows=settings.train_sample_rows,
                random_state=settings.seed,
            ).fit(raw)
        source = "an unsupervised fit (no champion yet)"
    sample = draw_sample(model, raw, ids, n=n, seed=settings.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(sample_file(population, sample), out)  # type: ignore[arg-type]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    keep_design(settings.home, population, sample, stamp)  # type: ignore[arg-type]
    parts = sample["part"].value_counts().to_dict()
    console.print(
        f"{len(sample):,} {population} to review -> {out} (from {source}; "
        f"{parts.get('borderline', 0):,} borderline first, {parts.get('spread', 0):,} spread "
        "over every cluster). Fill in category, reviewer and reviewed_at; then "
        f"`segmentation train --data {data} --reviews {out}`"
    )


@review_app.command("export")
def review_export(
    out: Annotated[Path, typer.Option(help="reviews.parquet to write.")],
    overrides: Annotated[
        bool, typer.Option("--overrides/--no-overrides", help="Count overrides with a reason.")
    ] = True,
) -> None:
    """Write the reviews recorded through the API (and overrides with a reason) as
    reviews.parquet, for `segmentation train --reviews`."""
    import pandas as pd

    from segmentation.store import SegmentStore
    from training.files import atomic_write_parquet

    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    records = store.review_records(include_overrides=overrides)
    store.dispose()
    frame = pd.DataFrame(
        {
            "customer_id": [r["id"] if r["population"] == "citizens" else None for r in records],
            "org_number": [r["id"] if r["population"] == "employers" else None for r in records],
            "category": [r["category"] for r in records],
            "reviewer": [r["reviewer"] for r in records],
            "reviewed_at": pd.to_datetime([r["reviewed_at"] for r in records], utc=True),
            "note": [r["note"] for r in records],
        }
    )
    atomic_write_parquet(frame, out)
    console.print(f"{len(frame):,} reviews -> {out}")


@app.command()
def promote(
    population: Annotated[str, typer.Option(help="citizens or employers.")],
    version: Annotated[str, typer.Option(help="The registered version to put into service.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in MLflow and the audit log).")],
    operator: Annotated[str, typer.Option(help="Who does it.")] = os.environ.get(
        "USER", "operator"
    ),
) -> None:
    """Put a registered version into service (also one the gate refused), with a reason."""
    from models.registry import configure_mlflow, record_promotion
    from segmentation.store import SegmentStore, utcnow

    if population not in ("citizens", "employers"):
        raise typer.BadParameter("citizens or employers", param_hint="--population")
    if not reason.strip():
        raise typer.BadParameter("a reason is required", param_hint="--reason")
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    try:
        previous = record_promotion(population, version, reason=reason, operator=operator)  # type: ignore[arg-type]
    except LookupError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    store.audit_many(
        [
            {
                "at": utcnow(),
                "actor": operator,
                "role": "operator",
                "action": f"promote_{population}_model",
                "subject": f"v{version}",
                "purpose": reason.strip()[:200],
                "outcome": "allowed",
            }
        ]
    )
    store.dispose()
    console.print(f"{population}: champion {previous or 'none'} -> version {version}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Start the HTTP API (uvicorn, one worker)."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    console.print(f"serving on http://{host}:{port} (OpenAPI at /docs)")
    # No access log: request paths carry personal identity numbers.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_level="warning")


@app.command()
def token(
    role: Annotated[str, typer.Option(help="case_handler, portal, planner or operator.")],
    subject: Annotated[str, typer.Option(help="Who the token is for.")] = "demo-user",
    minutes: Annotated[int | None, typer.Option(min=1, max=1440)] = None,
    citizen: Annotated[
        str | None,
        typer.Option(help="Portal tokens: the signed-in citizen (12 digits) it may route."),
    ] = None,
) -> None:
    """Print a bearer token signed with the configured secret."""
    from api.security import ROLES, mint_token, subject_problem
    from data_contracts.identifiers import personal_number_problem

    if role not in ROLES:
        raise typer.BadParameter(f"one of {', '.join(ROLES)}", param_hint="--role")
    if problem := subject_problem(subject):
        raise typer.BadParameter(problem, param_hint="--subject")
    if citizen is not None:
        if role != "portal":
            raise typer.BadParameter("only a portal token names a citizen", param_hint="--citizen")
        if problem := personal_number_problem(citizen):
            raise typer.BadParameter(problem, param_hint="--citizen")
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    typer.echo(
        mint_token(
            secret=settings.resolved_jwt_secret(),
            algorithm=settings.jwt_algorithm,
            role=role,  # type: ignore[arg-type]
            subject=subject,
            minutes=minutes or settings.token_minutes,
            citizen=citizen,
        )
    )


@app.command()
def audit(
    subject: Annotated[str | None, typer.Option(help="Only records about this id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 100,
) -> None:
    """Print the audit log as JSON lines (oldest first)."""
    from segmentation.store import SegmentStore

    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    for record in store.audit_entries(subject=subject, limit=limit):
        record.pop("id", None)
        typer.echo(json.dumps(record, default=str, ensure_ascii=False))
    store.dispose()


@app.command()
def capacity(
    out: Annotated[Path | None, typer.Option(help="Write the Excel report here (.xlsx).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    service_level: Annotated[float, typer.Option(min=0.5, max=0.99)] = 0.80,
    answer_within: Annotated[float, typer.Option(min=1, max=3600, help="Seconds.")] = 60.0,
    opening_hours: Annotated[float, typer.Option(min=1, max=24, help="Per day.")] = 8.0,
    opening_days: Annotated[float, typer.Option(min=50, max=366, help="Per year.")] = 250.0,
    handle_seconds: Annotated[float, typer.Option(min=10, max=3600, help="Per call.")] = 360.0,
    shrinkage: Annotated[float, typer.Option(min=0, max=0.8)] = 0.30,
    shift: Annotated[
        list[str] | None,
        typer.Option(help="CATEGORY:CHANNEL:SHARE to self-service, e.g. irregular:phone:0.2"),
    ] = None,
    move: Annotated[
        list[str] | None,
        typer.Option(help="FROM:TO:SHARE of customers, e.g. needs_support:irregular:0.1"),
    ] = None,
) -> None:
    """Per-segment capacity: customers, contacts, hours, FTE and phone agents, with scenarios."""
    from segmentation.capacity import Assumptions, parse_changes
    from segmentation.capacity import report as build_report
    from segmentation.store import SegmentStore
    from training.capacity_excel import write_report

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
        write_report(result, out)
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


@app.command()
def demo(
    data: Annotated[Path, typer.Option(help="Folder for the synthetic data.")] = Path("data/demo"),
    citizens: Annotated[int, typer.Option(min=1_000)] = 200_000,
    employers: Annotated[int, typer.Option(min=1_000)] = 20_000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
) -> None:
    """The whole loop on embedded defaults: generate, train, score, then serve."""
    generate(out=data, citizens=citizens, employers=employers, seed=None)
    train(data=data)
    score(data=data, out=data.parent / "demo-out")
    if serve_after:
        serve(host="127.0.0.1", port=8000)


def entry() -> None:
    """The console script: the commands, with a registry that cannot be read said in one
    line (exit 3) rather than as a traceback or as 'no champion'."""
    from models.registry import RegistryError

    try:
        app()
    except RegistryError as error:
        console.print(f"[red]{error}[/red]")
        sys.exit(REGISTRY_UNREADABLE)


if __name__ == "__main__":
    entry()

"""The expert-review loop: samples to review, reviews to train on, and promotion."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segmentation.settings import get_settings
from training.cli.common import PopulationOption, answered_off_page, console, on_review_page

if TYPE_CHECKING:
    import pandas as pd

    from models.segmenter import ClusterSegmenter
    from segmentation.settings import Settings
    from segmentation.store import SegmentStore

#: Rows validated and scored at a time when a champion draws the review sample.
SAMPLE_CHUNK_ROWS = 1_000_000
#: A first sample of citizens of both parts and at least this size is told that rounds
#: teach more (below it a round of a fifth would teach too little to draw the next).
ROUNDS_HINT_MIN = 100

log = logging.getLogger(__name__)


def review_sample(
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="How many customers.")],
    out: Annotated[Path, typer.Option(help="The Parquet file case handlers fill in.")],
    data: Annotated[Path, typer.Option(help="Folder with the population to sample from.")],
    population: PopulationOption = "citizens",
    reviews: Annotated[
        list[Path] | None,
        typer.Option(
            help="reviews.parquet answered already (once per earlier round): never drawn "
            "again; with no champion yet, the model that draws is fitted with them."
        ),
    ] = None,
    part: Annotated[
        str | None,
        typer.Option(
            help="both (half spread over every cluster, half borderline), spread, or "
            "borderline. Default: both; borderline when --reviews names an earlier round."
        ),
    ] = None,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue/--no-queue",
            help="Also put the sample on the case handlers' review page (/granskning), in "
            "the segment store; their reviews come back with `segmentation review export`.",
        ),
    ] = True,
) -> None:
    """Draw the customers whose review teaches the model most (every cluster, the borderline
    ones first) into a file of the review contract's columns, and onto the case handlers'
    page Granskning (`review export` then writes their reviews). In rounds: a first round
    `--part spread`, `segmentation train --reviews` with it, then a second round with
    `--reviews` of the first: the customers two models, each taught by half of the first
    round, are least sure of (cross-fitted, so the first round still measures)."""
    import datetime as dt

    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from data_contracts.identifiers import as_integers
    from data_contracts.validation import ID_COLUMN, validate
    from models.registry import configure_mlflow, load_champion
    from segmentation.features import numeric_matrix
    from training.files import atomic_write_parquet
    from training.review import (
        PARTS,
        draw_cross_fitted,
        draw_from_scores,
        judged_ids,
        keep_design,
        load_designs,
        review_halves,
        sample_file,
        sample_scores,
    )
    from training.score import duplicated_ids
    from training.train import load_reviews, match_reviews

    part = part or ("borderline" if reviews else "both")
    if part not in PARTS:
        raise typer.BadParameter(" or ".join(PARTS), param_hint="--part")
    path = data / f"{population}.parquet"
    if not path.exists():
        raise typer.BadParameter(f"no {path.name} in {data}", param_hint="--data")
    for answered in reviews or []:
        if not answered.exists():
            raise typer.BadParameter(f"{answered} does not exist", param_hint="--reviews")
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    answered_reviews = load_reviews(reviews)[0] if reviews else None
    duplicated = duplicated_ids(path, ID_COLUMN[population])
    designs = load_designs(settings.home)
    try:
        bundle, version = load_champion(population)  # type: ignore[arg-type]
    except LookupError:
        champion_model, version = None, None
    else:
        champion_model = bundle.segmenter
    steered = None
    if champion_model is None or answered_reviews is not None:
        # The whole table in memory: a model is fitted on it (no champion yet, or the two
        # models of a cross-fitted round).
        accepted = validate(pq.read_table(path).to_pandas(), population, duplicated).accepted  # type: ignore[arg-type]
        if not len(accepted):
            raise typer.BadParameter(f"{path.name} has no valid row", param_hint="--data")
        raw = numeric_matrix(accepted, population)  # type: ignore[arg-type]
        column = accepted[ID_COLUMN[population]]
        ids = column.to_numpy()
        numbers = as_integers(column)
        reviewed = match_reviews(population, answered_reviews, numbers, designs)  # type: ignore[arg-type]
        # Never drawn again: every customer reviewed, also one whose case handlers split
        # (left out of training until a third judges them; a later round's design would
        # have turned a spread review into a borderline one).
        exclude = np.isin(numbers, judged_ids(answered_reviews, population))  # type: ignore[arg-type]
        settled = reviewed.codes >= 0
        estimating = reviewed.representative
        template = _sampling_template(population, settings)
        if champion_model is not None:
            # The champion's way of weighing reviews, not its names (it learnt from them).
            template.set_params(
                review_weight=champion_model.review_weight,
                relabel=champion_model.relabel,
                review_blend=champion_model.review_blend,
            )
        if estimating.any():
            if not (~exclude).any():
                raise typer.BadParameter(
                    "every customer is reviewed already", param_hint="--reviews"
                )
            with console.status("fitting a model to each half of the spread reviews"):
                sample = draw_cross_fitted(
                    template,
                    raw,
                    ids,
                    reviewed.codes,
                    estimating,
                    reviewed.halves if reviewed.halves is not None else np.full(len(ids), -1),
                    n=n,
                    seed=settings.seed,
                    part=part,
                    exclude=exclude,
                )
            steered = pd.DataFrame({"id": ids[estimating], "half": review_halves(ids[estimating])})
            source = f"two models, each taught by half of {int(estimating.sum()):,} spread reviews"
        else:
            if champion_model is None:
                with console.status("no champion yet: fitting the model to sample from"):
                    champion_model = template.fit(
                        raw,
                        reviewed.codes if reviewed.count else None,
                        representative=reviewed.representative,
                    )
                source = "a fit without a champion" + (
                    f" with {reviewed.count:,} reviews" if reviewed.count else " (unsupervised)"
                )
            else:
                source = f"champion version {version}"
            strata, margin = sample_scores(champion_model, raw)
            sample = draw_from_scores(
                strata, margin, ids, n=n, seed=settings.seed, part=part, exclude=exclude
            )
    else:
        # The champion scores the table a chunk at a time: only each row's stratum and
        # margin are kept (a 7.2 M-row table at once took 10 GB).
        source = f"champion version {version}"
        scored = []
        for batch in pq.ParquetFile(path).iter_batches(batch_size=SAMPLE_CHUNK_ROWS):
            accepted = validate(batch.to_pandas(), population, duplicated).accepted  # type: ignore[arg-type]
            if len(accepted):
                strata, margin = sample_scores(champion_model, numeric_matrix(accepted, population))  # type: ignore[arg-type]
                scored.append((strata, margin, accepted[ID_COLUMN[population]].to_numpy()))
        if not scored:
            raise typer.BadParameter(f"{path.name} has no valid row", param_hint="--data")
        strata, margin, ids = (np.concatenate(parts) for parts in zip(*scored, strict=True))
        exclude = settled = np.zeros(len(ids), dtype=bool)
        sample = draw_from_scores(strata, margin, ids, n=n, seed=settings.seed, part=part)
    if not len(sample):
        raise typer.BadParameter("every customer is reviewed already", param_hint="--reviews")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(sample_file(population, sample), out)  # type: ignore[arg-type]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    keep_design(settings.home, population, sample, stamp, steered)  # type: ignore[arg-type]
    # Off the page: the customers the files settle (a split one may wait there for a third).
    answered_ids = [str(i) for i in ids[settled]] if answered_reviews is not None else []
    queued = _queue(settings, population, stamp, sample, answered_ids) if queue else ""
    parts = sample["part"].value_counts().to_dict()
    left_out = int(np.sum(exclude))
    console.print(
        f"{len(sample):,} {population} to review -> {out} (from {source}; "
        f"{parts.get('borderline', 0):,} borderline first, {parts.get('spread', 0):,} spread "
        "over every cluster"
        + (f"; {left_out:,} reviewed already left out" if left_out else "")
        + "). Fill in category, reviewer and reviewed_at; then "
        f"`segmentation train --data {data}"
        + "".join(f" --reviews {p}" for p in reviews or [])
        + f" --reviews {out}`"
        + queued
    )
    if population == "citizens" and part == "both" and not reviews and n >= ROUNDS_HINT_MIN:
        # One sample of both parts is the shortest path, not the best (README, "Model
        # quality on unseen worlds": four rounds met the bars where one sample missed them).
        first = round(n * 0.4)
        console.print(
            f"The same {n:,} reviews teach more in rounds: `--n {first:,} --part spread` "
            f"first, a training with it, then three rounds of about {(n - first) // 3:,} "
            "drawn with `--reviews` of the rounds before, each followed by a training "
            '(README, "The review loop").'
        )


def _sampling_template(population: str, settings: Settings) -> ClusterSegmenter:
    """The model that draws a sample where there is no champion (fitted on the whole
    table with the settings' seed, so `review opinions` fits the same one again)."""
    from models.segmenter import ClusterSegmenter

    return ClusterSegmenter(
        population,  # type: ignore[arg-type]
        max_fit_rows=settings.train_sample_rows,
        random_state=settings.seed,
    )


def _queue(
    settings: Settings, population: str, stamp: str, sample: pd.DataFrame, answered: list[str]
) -> str:
    """Queue the sample on the case handlers' review page (the customers reviewed in the
    earlier rounds' files off it); what to tell the operator. The file is written already:
    a store that cannot be reached costs the page, not the file."""
    ordered = sample.sort_values("priority", kind="stable")
    count = on_review_page(
        settings,
        lambda store: store.queue_reviews(
            population,  # type: ignore[arg-type]
            stamp,
            ordered["id"].astype(str).tolist(),
            ordered["part"].astype(str).tolist(),
            answered,
        ),
        "review sample not queued",
    )
    if count is None:
        return ". Not queued for the review page: the segment store could not be reached."
    return (
        f". Also queued for case handlers on the review page /granskning ({count:,}, sample "
        f"{stamp}); `segmentation review export` then writes their reviews."
    )


def review_opinions(
    reviews: Annotated[
        list[Path],
        typer.Option(help="reviews.parquet answered (every round's file, as for train)."),
    ],
    out: Annotated[Path, typer.Option(help="The Parquet file the other case handlers fill in.")],
    data: Annotated[Path, typer.Option(help="Folder with the population that was sampled.")],
    population: PopulationOption = "citizens",
) -> None:
    """Second opinions for agencies that review in files: the spread customers judged once
    otherwise than the model in service (the champion; with none, the fit that drew the
    first sample), or by case handlers who split, into a file for another case handler
    (`judged_by` says who must not take it). Run it between answering a round and training
    with it; train with every file, this one too. Again on the answered file where the two
    judgements differ (a third decides). The review page asks for its own; the customers
    judged in these files leave it here (as `train --reviews` takes them off), so none is
    judged again there while its second opinion is asked in the file."""
    import pandas as pd
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from data_contracts.validation import ID_COLUMN, validate
    from models.registry import configure_mlflow, load_champion
    from segmentation.features import numeric_matrix
    from training.files import atomic_write_parquet
    from training.review import awaiting_opinion, load_designs, sample_file
    from training.score import duplicated_ids
    from training.train import load_reviews

    path = data / f"{population}.parquet"
    if not path.exists():
        raise typer.BadParameter(f"no {path.name} in {data}", param_hint="--data")
    for answered in reviews:
        if not answered.exists():
            raise typer.BadParameter(f"{answered} does not exist", param_hint="--reviews")
    settings = get_settings()
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    given, set_aside = load_reviews(reviews)
    mine = given[given["population"] == population]
    id_column = ID_COLUMN[population]
    duplicated = duplicated_ids(path, id_column)
    try:
        model = load_champion(population)[0].segmenter  # type: ignore[arg-type]
    except LookupError:
        model = None
    if model is not None:
        source = "the champion"
        # Only the reviewed customers are read and scored (7.2 M rows: 7.1 s in all).
        wanted = pq.read_table(path, filters=pc.field(id_column).isin(mine["id"].astype(str)))
        rows = validate(wanted.to_pandas(), population, duplicated).accepted  # type: ignore[arg-type]
    else:
        # The model that drew the first sample: the same fit on the same table.
        table = validate(pq.read_table(path).to_pandas(), population, duplicated).accepted  # type: ignore[arg-type]
        with console.status("no champion yet: fitting the model that drew the sample"):
            model = _sampling_template(population, settings).fit(
                numeric_matrix(table, population)  # type: ignore[arg-type]
            )
        source = "the fit that drew the sample (no champion yet)"
        rows = table[table[id_column].astype(str).isin(mine["id"].astype(str))]
    categories = pd.Series(
        model.predict(numeric_matrix(rows, population)) if len(rows) else [],  # type: ignore[arg-type]
        index=rows[id_column].astype(str).to_numpy(),
        dtype=object,
    )
    waiting = awaiting_opinion(mine, load_designs(settings.home), categories)
    sample = waiting.assign(priority=range(1, len(waiting) + 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(
        sample_file(population, sample).assign(judged_by=waiting["judged_by"].to_numpy()),  # type: ignore[arg-type]
        out,
    )
    page = answered_off_page(settings, mine)
    split = int((waiting["judgements"] > 1).sum())
    counted = f"from {len(mine):,} reviews" + (
        f", {set_aside:,} rows set aside" if set_aside else ""
    )
    files = "".join(f" --reviews {p}" for p in reviews)
    if not len(waiting):
        console.print(
            f"no {population} need another case handler ({counted}; an empty {out}): "
            f"`segmentation train --data {data}{files}`"
        )
    else:
        console.print(
            f"{len(waiting):,} {population} for another case handler -> {out} "
            f"({len(waiting) - split:,} judged once otherwise than {source}, {split:,} split; "
            f"{counted}). Give each to a case handler not named in judged_by. Once answered, "
            f"this command again with that file too (a third where two split), then "
            f"`segmentation train --data {data}{files} --reviews {out}`"
        )
    console.print(page)


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


def promote(
    population: PopulationOption,
    version: Annotated[str, typer.Option(help="The registered version to put into service.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in MLflow and the audit log).")],
    operator: Annotated[str, typer.Option(help="Who does it.")] = os.environ.get(
        "USER", "operator"
    ),
) -> None:
    """Put a registered version into service (also one the gate refused), with a reason."""
    from models.registry import configure_mlflow, record_promotion
    from segmentation.store import SegmentStore

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
    _audit_operator(store, operator, f"promote_{population}_model", f"v{version}", reason)
    store.dispose()
    console.print(f"{population}: champion {previous or 'none'} -> version {version}")


def _audit_operator(
    store: SegmentStore, operator: str, action: str, subject: str, reason: str
) -> None:
    """An operator's action in the audit log, its reason as the purpose."""
    from segmentation.store import utcnow

    store.audit_many(
        [
            {
                "at": utcnow(),
                "actor": operator,
                "role": "operator",
                "action": action,
                "subject": subject,
                "purpose": reason.strip()[:200],
                "outcome": "allowed",
            }
        ]
    )


def review_queue(
    withdraw: Annotated[
        str | None,
        typer.Option(help="A sample (as listed) to take off the review page; reviews stay."),
    ] = None,
    reason: Annotated[
        str, typer.Option(help="Why it is withdrawn (recorded in the audit log).")
    ] = "",
    operator: Annotated[str, typer.Option(help="Who does it.")] = os.environ.get(
        "USER", "operator"
    ),
) -> None:
    """The review samples waiting on the case handlers' page (/granskning): when each was
    drawn, how many customers it holds and how many still wait; `--withdraw` takes one off."""
    from rich.table import Table

    from segmentation.store import SegmentStore

    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    try:
        if withdraw is not None:
            if not reason.strip():
                raise typer.BadParameter("a reason is required", param_hint="--reason")
            held, waiting = store.withdraw_sample(withdraw)
            if not held:
                console.print(f"[red]no queued sample {withdraw}[/red]")
                raise typer.Exit(2)
            _audit_operator(store, operator, "review_sample_withdrawn", withdraw, reason)
            console.print(
                f"sample {withdraw} withdrawn: it held {held:,} customers, {waiting:,} of them "
                "still waiting, now off the page (reviews already given stay)"
            )
            return
        samples = store.review_samples()
    finally:
        store.dispose()
    if not samples:
        console.print("no review sample is queued (`segmentation review sample` draws one)")
        return
    table = Table("population", "sample", "queued at", "customers", "still to review")
    for sample in samples:
        table.add_row(
            sample["population"],
            sample["sample"],
            f"{sample['queued_at']:%Y-%m-%d %H:%M} UTC",
            f"{sample['queued']:,}",
            f"{sample['open']:,}",
        )
    console.print(table)

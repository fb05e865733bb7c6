"""`segmentation score`: batch-score the tables in a folder into the segment store.

Streams each table in chunks (pyarrow), validates each chunk, scores the valid rows with the
`champion` model and writes them to the store in one transaction per chunk, marking the chunk
done in the same transaction. A run killed halfway resumes at the first unfinished chunk; a
chunk is never written twice, and a repeated run changes nothing but ``scored_at``. With an
output folder, each chunk's rows also go to a Parquet part (written atomically), and the parts
are joined into the SPEC's files when the table is done.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.validation import ID_COLUMN, ContractError, required_columns, validate
from models.bundle import SegmentationBundle
from segmentation.features import numeric_matrix
from segmentation.store import BEHAVIOUR_COLUMNS, PreparedRows, ScoredChunk, SegmentStore
from segmentation.taxonomy import POPULATIONS, Population
from training.train import fingerprint

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Population, int, int], None]  # population, rows done, rows total


@dataclass(frozen=True)
class _Prepared:
    index: int
    rows: PreparedRows | None
    rejected: int


@dataclass
class ScoreReport:
    population: Population
    model_version: str
    accepted: int
    rejected: int
    chunks: int
    resumed_from_chunk: int


def _parts_dir(out: Path, population: Population, kind: str) -> Path:
    return out / ".parts" / f"{population}_{kind}"


def _write_part(directory: Path, index: int, table: pa.Table) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"part-{index:05d}.parquet"
    temporary = directory / f".part-{index:05d}.tmp"
    pq.write_table(table, temporary)
    temporary.replace(final)


def _join_parts(directory: Path, target: Path, empty_schema: pa.Schema) -> None:
    parts = sorted(directory.glob("part-*.parquet")) if directory.exists() else []
    temporary = target.with_suffix(".tmp")
    schema = pq.read_schema(parts[0]) if parts else empty_schema
    with pq.ParquetWriter(temporary, schema) as writer:
        for part in parts:
            writer.write_table(pq.read_table(part, schema=schema))
    temporary.replace(target)


def score_table(
    population: Population,
    path: Path,
    store: SegmentStore,
    bundle: SegmentationBundle,
    model_version: str,
    *,
    chunk_rows: int,
    out: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> ScoreReport:
    """Score one table into the store (and ``out``), resuming an unfinished run."""
    parquet = pq.ParquetFile(path)
    missing = [
        name for name in required_columns(population) if name not in parquet.schema_arrow.names
    ]
    if missing:
        raise ContractError(f"{population}: missing required column(s): {', '.join(missing)}")
    total_rows = parquet.metadata.num_rows
    run_key = f"{population}:{fingerprint(path)}:{model_version}:{out is not None}"
    progress = store.start_run(
        run_key=run_key, population=population, model_version=model_version, chunk_rows=chunk_rows
    )
    id_column = ID_COLUMN[population]
    categories = np.asarray(bundle.categories)
    channels = np.asarray(bundle.channels)
    segments_dir = _parts_dir(out, population, "segments") if out else None
    rejected_dir = _parts_dir(out, population, "rejected") if out else None
    if progress.chunks_done == 0 and out is not None:
        for directory in (segments_dir, rejected_dir):
            if directory is not None and directory.exists():
                shutil.rmtree(directory)

    def prepare(index: int, batch: pa.RecordBatch) -> _Prepared:
        """Validate, score and shape one chunk; write its Parquet parts (before its commit)."""
        result = validate(batch.to_pandas(), population)
        accepted = result.accepted
        if rejected_dir is not None:
            rejected_table = pa.Table.from_pandas(result.rejected, preserve_index=False)
            _write_part(rejected_dir, index, rejected_table)
        if not len(accepted):
            return _Prepared(index, None, len(result.rejected))
        raw = numeric_matrix(accepted, population)
        predicted = bundle.predict_index(raw)
        chunk = ScoredChunk(
            subject_ids=accepted[id_column].astype("int64").to_numpy(),
            categories=categories[predicted].tolist(),
            regions=accepted["region"].astype(str).tolist(),
            behaviour={
                name: accepted[name].to_numpy(dtype=np.float64)
                for name in BEHAVIOUR_COLUMNS[population]
            },
            inputs=raw,
        )
        if segments_dir is not None:
            n = len(accepted)
            _write_part(
                segments_dir,
                index,
                pa.table(
                    {
                        id_column: pa.array(accepted[id_column].astype(str), pa.string()),
                        "category": pa.array(chunk.categories, pa.string()),
                        "channel": pa.array(channels[predicted], pa.string()),
                        "model_version": pa.array([model_version] * n, pa.string()),
                        "scored_at": pa.array(
                            [progress.scored_at] * n, pa.timestamp("us", tz="UTC")
                        ),
                    }
                ),
            )
        rows = store.prepare_rows(
            population, chunk, model_version=model_version, scored_at=progress.scored_at
        )
        return _Prepared(index, rows, len(result.rejected))

    def commit(prepared: _Prepared) -> None:
        if prepared.rows is None:
            store.record_rejected_chunk(run_key, prepared.index, prepared.rejected)
        else:
            store.write_rows(
                prepared.rows,
                run_key=run_key,
                chunk_index=prepared.index,
                rejected=prepared.rejected,
            )
        log.info("%s chunk %d written (%d rejected)", population, prepared.index, prepared.rejected)
        if on_progress:
            on_progress(population, min((prepared.index + 1) * chunk_rows, total_rows), total_rows)

    chunks = 0
    # The next chunk is validated and scored on the second core while this one is written.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare") as pool:
        pending: Future[_Prepared] | None = None
        for index, batch in enumerate(parquet.iter_batches(batch_size=chunk_rows)):
            chunks = index + 1
            if index < progress.chunks_done:
                if on_progress:
                    on_progress(population, min((index + 1) * chunk_rows, total_rows), total_rows)
                continue
            following = pool.submit(prepare, index, batch)
            if pending is not None:
                commit(pending.result())
            pending = following
        if pending is not None:
            commit(pending.result())
    if out is not None and segments_dir is not None and rejected_dir is not None:
        out.mkdir(parents=True, exist_ok=True)
        _join_parts(
            segments_dir, out / f"{population}_segments.parquet", _segments_schema(population)
        )
        rejected_schema = pa.schema([*parquet.schema_arrow, pa.field("reason", pa.string())])
        _join_parts(rejected_dir, out / f"{population}_rejected.parquet", rejected_schema)
        shutil.rmtree(segments_dir, ignore_errors=True)
        shutil.rmtree(rejected_dir, ignore_errors=True)
        if (out / ".parts").exists() and not any((out / ".parts").iterdir()):
            (out / ".parts").rmdir()
    store.finish_run(run_key)
    done = store.run_totals(run_key)
    return ScoreReport(
        population=population,
        model_version=model_version,
        accepted=done[0],
        rejected=done[1],
        chunks=chunks,
        resumed_from_chunk=progress.chunks_done,
    )


def _segments_schema(population: Population) -> pa.Schema:
    return pa.schema(
        [
            pa.field(ID_COLUMN[population], pa.string()),
            pa.field("category", pa.string()),
            pa.field("channel", pa.string()),
            pa.field("model_version", pa.string()),
            pa.field("scored_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def score_folder(
    data_dir: Path,
    store: SegmentStore,
    champions: dict[Population, tuple[SegmentationBundle, str]],
    *,
    chunk_rows: int,
    out: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[ScoreReport]:
    """Score whichever of the population tables ``data_dir`` holds."""
    store.create()
    reports = []
    for population in POPULATIONS:
        path = data_dir / f"{population}.parquet"
        if not path.exists():
            continue
        if population not in champions:
            raise LookupError(f"no champion model for {population}; run `segmentation train`")
        bundle, version = champions[population]
        reports.append(
            score_table(
                population,
                path,
                store,
                bundle,
                version,
                chunk_rows=chunk_rows,
                out=out,
                on_progress=on_progress,
            )
        )
    if not reports:
        raise FileNotFoundError(f"no citizens.parquet or employers.parquet in {data_dir}")
    return reports

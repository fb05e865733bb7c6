"""Write a synthetic population to Parquet (`segmentation generate`)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from training.synthetic import generate_citizens, generate_employers


def _write(frame: object, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)  # type: ignore[arg-type]
    temporary = path.with_suffix(".tmp")
    pq.write_table(table, temporary, row_group_size=500_000)
    temporary.replace(path)


def write_population(out: Path, *, citizens: int, employers: int, seed: int) -> dict[str, int]:
    """Generate and write the four files of SPEC §3; return the row counts."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    if citizens:
        frame, truth = generate_citizens(citizens, seed)
        _write(frame, out / "citizens.parquet")
        _write(truth, out / "citizens_truth.parquet")
        counts["citizens"] = len(frame)
        del frame, truth
    if employers:
        frame, truth = generate_employers(employers, seed)
        _write(frame, out / "employers.parquet")
        _write(truth, out / "employers_truth.parquet")
        counts["employers"] = len(frame)
    return counts

"""Write a synthetic population to Parquet (`segmentation generate`)."""

from __future__ import annotations

from pathlib import Path

from training.files import atomic_write_parquet
from training.worlds import WORLDS


def _write(frame: object, path: Path) -> None:
    atomic_write_parquet(frame, path, row_group_size=500_000)


def write_population(
    out: Path, *, citizens: int, employers: int, seed: int, world: str = "archetype"
) -> dict[str, int]:
    """Generate and write the four files of SPEC §3 from one of the synthetic worlds
    (``training.worlds``; the default is the project's archetype generator)."""
    maker = WORLDS[world]
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    if citizens:
        frame, truth = maker.citizens(citizens, seed)
        _write(frame, out / "citizens.parquet")
        _write(truth, out / "citizens_truth.parquet")
        counts["citizens"] = len(frame)
        del frame, truth
    if employers:
        frame, truth = maker.employers(employers, seed)
        _write(frame, out / "employers.parquet")
        _write(truth, out / "employers_truth.parquet")
        counts["employers"] = len(frame)
    return counts

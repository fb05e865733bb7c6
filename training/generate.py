"""Write a synthetic population to Parquet (`segmentation generate`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from training.files import atomic_write_parquet
from training.worlds import WORLDS


def _write(frame: object, path: Path) -> None:
    atomic_write_parquet(frame, path, row_group_size=500_000)


def write_population(
    out: Path,
    *,
    citizens: int,
    employers: int,
    seed: int,
    world: str = "archetype",
    indicator_inputs: bool = False,
) -> dict[str, int]:
    """Generate and write the four files of SPEC §3 from one of the synthetic worlds
    (``training.worlds``; the default is the project's archetype generator); with
    ``indicator_inputs`` also the cases, calls and survey answers of the year after the
    period (``training.operations``)."""
    maker = WORLDS[world]
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    if citizens:
        frame, truth = maker.citizens(citizens, seed)
        _write(frame, out / "citizens.parquet")
        _write(truth, out / "citizens_truth.parquet")
        counts["citizens"] = len(frame)
        if indicator_inputs:
            tables["citizens"] = (frame, truth)
        del frame, truth
    if employers:
        frame, truth = maker.employers(employers, seed)
        _write(frame, out / "employers.parquet")
        _write(truth, out / "employers_truth.parquet")
        counts["employers"] = len(frame)
        if indicator_inputs:
            tables["employers"] = (frame, truth)
    if indicator_inputs:
        from training.operations import operations

        citizen, employer = tables.get("citizens"), tables.get("employers")
        for name, table in operations(citizen, employer, seed).items():
            _write(table, out / f"{name}.parquet")
            counts[name] = len(table)
    return counts


def write_periods(
    out: Path, *, citizens: int, employers: int, seed: int, periods: int
) -> dict[str, int]:
    """Consecutive periods of the same people (``training.periods``), one folder each:
    ``OUT/<period_end>/`` holds that period's four files."""
    from training.periods import consecutive_periods, employers_for

    counts: dict[str, int] = {}
    for period in consecutive_periods(citizens, seed, periods):
        folder = out / period.period_end.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        _write(period.citizens, folder / "citizens.parquet")
        _write(period.truth, folder / "citizens_truth.parquet")
        counts[f"citizens {period.period_end}"] = len(period.citizens)
        if employers:
            frame, truth = employers_for(period.period_end, employers, seed)
            _write(frame, folder / "employers.parquet")
            _write(truth, folder / "employers_truth.parquet")
    return counts

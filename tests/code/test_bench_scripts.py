"""The benchmark scripts still import: a rename in the package must not leave one broken
until someone runs it (``bench_review_choice`` imported a function renamed a session before)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", sorted(BENCH.glob("bench_*.py")), ids=lambda p: p.stem)
def test_a_bench_script_imports_and_has_a_main(
    script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scripts import each other as top-level modules, as they do when run.
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location(f"_bench_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    assert callable(module.main)


def test_an_agencys_lens_changes_what_it_says_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``bench_worlds.py --contact-scale``: the same customers, every contact counted
    ``scale`` times, every other column and the truth unchanged; ``--blank`` and
    ``--outliers`` likewise touch only their columns and customers."""
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_worlds

    from data_contracts.schemas import CITIZEN_NUMERIC_COLUMNS

    plain, truth = bench_worlds.world_citizens("life_course", 0, 2_000)
    scaled, scaled_truth = bench_worlds.world_citizens(
        "life_course", 0, 2_000, bench_worlds.Lens(contact_scale=3)
    )
    contacts = [CITIZEN_NUMERIC_COLUMNS.index(c) for c in bench_worlds.CONTACT_COLUMNS]
    others = [i for i in range(plain.shape[1]) if i not in contacts]
    assert (scaled[:, contacts] == 3 * plain[:, contacts]).all()
    assert plain[:, contacts].sum() > 0
    assert (scaled[:, others] == plain[:, others]).all()
    assert (scaled_truth == truth).all()
    fewer, _ = bench_worlds.world_citizens(
        "life_course", 0, 2_000, bench_worlds.Lens(contact_scale=0.5)
    )
    assert (fewer[:, contacts] <= plain[:, contacts]).all()
    assert 0.4 < fewer[:, contacts].sum() / plain[:, contacts].sum() < 0.6
    assert (fewer[:, others] == plain[:, others]).all()
    # ``--blank``: a column the agency does not record is 0 for everyone, the rest unchanged.
    unlinked, _ = bench_worlds.world_citizens(
        "life_course", 0, 2_000, bench_worlds.Lens(blank=("life_events",))
    )
    events = CITIZEN_NUMERIC_COLUMNS.index("life_events")
    assert plain[:, events].sum() > 0 and not unlinked[:, events].any()
    rest = [i for i in range(plain.shape[1]) if i != events]
    assert (unlinked[:, rest] == plain[:, rest]).all()
    # ``--outliers``: 1 % of customers, half with hundreds more letters, half with thousands
    # more minutes of handling; every other row and column, and the truth, unchanged.
    odd, odd_truth = bench_worlds.world_citizens(
        "life_course", 0, 2_000, bench_worlds.Lens(outliers=0.01)
    )
    letters = CITIZEN_NUMERIC_COLUMNS.index("contacts_letter")
    minutes = CITIZEN_NUMERIC_COLUMNS.index("handling_minutes")
    more_letters = odd[:, letters] - plain[:, letters]
    more_minutes = odd[:, minutes] - plain[:, minutes]
    assert ((more_letters >= 50) & (more_letters < 500)).sum() == 10
    assert ((more_minutes >= 5_000) & (more_minutes < 50_000)).sum() == 10
    changed = (odd != plain).any(axis=1)
    assert changed.sum() == 20 and not ((more_letters > 0) & (more_minutes > 0)).any()
    kept = [i for i in range(plain.shape[1]) if i not in (letters, minutes)]
    assert (odd[:, kept] == plain[:, kept]).all() and (odd_truth == truth).all()

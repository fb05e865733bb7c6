"""Drift between two populations: the population stability index (PSI) of each input and
the change of category shares. Pure functions; the scoring run applies them to each new
period against the previous one (``training.drift``).

PSI = sum over bins of (a - e) * ln(a / e), with e and a the shares of the earlier and
the later population in each bin; bins are the earlier population's deciles. The usual
reading: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a large one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

PSI_MODERATE = 0.10
PSI_LARGE = 0.25
#: A share of a category that moved by more than this between periods (absolute points).
SHARE_CHANGE = 0.05
_FLOOR = 1e-4


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """The population stability index of one input (``expected`` the earlier values)."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if not len(expected) or not len(actual):
        return 0.0
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    e_share = np.maximum(e / e.sum(), _FLOOR)
    a_share = np.maximum(a / a.sum(), _FLOOR)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def band(value: float) -> str:
    return "large" if value > PSI_LARGE else "moderate" if value > PSI_MODERATE else "stable"


def input_psi(earlier: np.ndarray, later: np.ndarray, columns: Sequence[str]) -> dict[str, float]:
    """PSI per column of two numeric matrices with the same columns."""
    return {name: psi(earlier[:, i], later[:, i]) for i, name in enumerate(columns)}


def share_changes(shares: Mapping[str, float], against: Mapping[str, float]) -> dict[str, float]:
    """Per category, the later share minus the earlier (or reference) one."""
    return {name: shares.get(name, 0.0) - against.get(name, 0.0) for name in against}


def drift_flags(psis: Mapping[str, float], changes: Mapping[str, float]) -> list[str]:
    """What says the model's population moved enough to retrain: an input past the large
    PSI band, or a category share that moved more than ``SHARE_CHANGE``. English, for logs
    and the model version's ``drift`` tag in MLflow (``read_flag`` reads one back)."""
    # Three decimals, as the pages show a PSI (read back from the version's tag too).
    flags = [f"{name}: PSI {value:.3f}" for name, value in psis.items() if value > PSI_LARGE]
    flags += [
        f"{name}: share {change:+.1%}"
        for name, change in changes.items()
        if abs(change) > SHARE_CHANGE
    ]
    return flags


_PSI_FLAG = re.compile(r"(?P<name>\w+): PSI (?P<value>-?\d+(?:\.\d+)?)")
_SHARE_FLAG = re.compile(r"(?P<name>\w+): share (?P<change>[+-]\d+(?:\.\d+)?)%")


def read_flag(flag: str) -> tuple[Literal["psi", "share"], str, float] | None:
    """One of ``drift_flags`` read back (the pages say it in Swedish): ``("psi", input,
    PSI)`` or ``("share", category, change as a fraction)``; None for any other text."""
    if found := _PSI_FLAG.fullmatch(flag.strip()):
        return "psi", found["name"], float(found["value"])
    if found := _SHARE_FLAG.fullmatch(flag.strip()):
        return "share", found["name"], float(found["change"]) / 100
    return None

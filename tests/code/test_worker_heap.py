"""The scoring worker keeps what it frees for its next chunk (``training.worker``)."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from training import worker

#: In a fresh interpreter: allocate 600 blocks of 1 MB (under the 32 MB threshold: from the
#: heap), touch them, free them all, and report the resident memory before and after.
_CHURN = """
import sys
import numpy as np
from training import worker
if sys.argv[1] == "kept":
    worker._keep_the_heap()
def resident_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20
blocks = [np.ones(2**17) for _ in range(600)]
peak = resident_mb()
del blocks
print(peak, resident_mb())
"""


def _resident(mode: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, check=True
    ).stdout
    peak, after = (float(word) for word in out.split())
    return peak, after


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc settings (Linux)")
def test_a_scoring_worker_keeps_the_memory_it_frees() -> None:
    peak, after = _resident("kept")
    # Nothing handed back: the next chunk reuses these pages instead of faulting new ones.
    assert after > peak - 50, (peak, after)
    # By default glibc hands such a heap back (so the check above is not vacuous).
    default_peak, default_after = _resident("default")
    assert default_after < default_peak - 300, (default_peak, default_after)


def test_every_malloc_setting_reaches_glibc_as_written() -> None:
    # mallopt takes a C int: the trim threshold was once 4 GB, which ctypes wrapped to 0
    # (trim after every free, down to the pad), the opposite of what was measured.
    for parameter, value in worker._MALLOC_SETTINGS:
        assert ctypes.c_int(value).value == value, (parameter, value)

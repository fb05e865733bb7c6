"""The batch-scoring worker processes: started first, light to import.

`segmentation score` starts the worker before it loads anything itself, so the worker's
imports (pandas, pandera, scikit-learn: seconds) overlap with the main process's own.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
#: glibc's ``mallopt`` parameters: allocations up to 32 MB (a chunk's columns and most of its
#: temporaries) from the heap, and the heap kept instead of handed back after each chunk.
#: The next chunk then reuses pages already mapped instead of faulting fresh zeroed ones in:
#: validating and scoring 12 chunks took 11.2-11.8 s instead of 12.9-13.5 s (system time
#: 3.2 s instead of 4.0-5.4 s), measured sequentially with the same settings as environment
#: variables (the trim threshold 4 GB there). A value is a C int: 4 GB passed to mallopt
#: wrapped to 0, a heap trimmed after every free down to its pad; -1 never trims
#: (mallopt(3)), which is what 4 GB meant for a worker's heap.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
_MALLOC_SETTINGS = (
    (M_MMAP_THRESHOLD, 32 * 1024**2),
    (M_TRIM_THRESHOLD, -1),
    (M_TOP_PAD, 256 * 1024**2),
)
_C_INT = range(-(2**31), 2**31)
#: Worker processes: one per core of the machine it was sized for (2). Each reads,
#: validates, scores and writes a chunk; the scoring process only hands out the chunks.
WORKERS = 2


def start_pool(workers: int = WORKERS) -> ProcessPoolExecutor:
    """The worker processes that read, validate, score and write chunks
    (``training.score``). A trivial task per worker starts them all now, from this thread:
    a spawning pool starts a process when a task finds no idle one, and a worker started
    by a task submitted from another thread would be killed when that thread ends
    (``_die_with_parent``). The tasks are submitted long before the first worker has
    imported its libraries and could take a second one."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
    )
    for _ in range(workers):
        pool.submit(int)
    return pool


def _start_worker() -> None:
    _die_with_parent()
    _keep_the_heap()
    import training.score  # noqa: F401  (import the libraries now, not with the first chunk)

    # The libraries' own objects live as long as the worker: kept out of the cycle
    # collector's passes, during chunks and at exit (the pool's shutdown waits for it).
    gc.freeze()


def _keep_the_heap() -> None:
    """glibc: keep freed memory for the next chunk (``_MALLOC_SETTINGS``); nothing
    elsewhere."""
    if sys.platform != "linux":
        return
    if any(value not in _C_INT for _, value in _MALLOC_SETTINGS):
        raise ValueError("a mallopt value must fit a C int (ctypes would wrap it)")
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # another C library: its own defaults
        return
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    for parameter, value in _MALLOC_SETTINGS:
        mallopt(parameter, value)


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this worker when the scoring process dies (a
    `kill -9` of the parent otherwise leaves the worker running, orphaned). The signal
    follows the thread that started the worker: ``start_pool`` is called from the thread
    that runs the whole batch."""
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not fatal: the worker still exits on a closed pipe
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)

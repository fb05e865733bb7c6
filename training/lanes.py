"""Training's side-by-side fits in processes of their own (``segmentation train``).

Training with reviews fits three things at once: the model, the refit with another seed
that stability compares with, and the cross-validation of the agreement with the reviews.
In threads of one process they kept 1.75 of two cores busy (much of each fit holds the
GIL); the refit and the cross-validation in two processes beside the main one keep both
(docs/model-quality.md, "One native thread per lane", its "Process lanes").

- The processes come from a *forkserver*: a fresh interpreter, started early (``start``)
  and never having run OpenMP, that forks each worker. A plain fork of the training process
  could inherit an OpenMP thread pool whose threads the child does not have (libgomp is not
  fork-safe), and spawning a fresh interpreter per training costs its imports each time.
- Large arrays (the 7.2 M-row matrix, the reviews' per-row codes) go through shared memory,
  not a pipe: each once per training, as a block the worker maps; the matrix is built in
  its block to begin with (``SharedArrays.empty``).
- In a worker the work runs with every native thread pool at one thread, as in the lanes
  of threads before: the results are the same, to the bit.
"""

from __future__ import annotations

import multiprocessing
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Any, Literal, TypeVar

import numpy as np

_R = TypeVar("_R")
Order = Literal["C", "F"]
#: Arrays of at least this size go to a worker through shared memory (smaller ones are
#: pickled with the call).
SHARE_BYTES = 1 << 20
#: The modules the forkserver imports once, so that each worker it forks starts ready (the
#: preload is the process's: its one forkserver serves every forkserver context).
PRELOAD = ["training.lanes", "training.evaluate"]

#: Whether this platform has a forkserver (Linux and macOS; not Windows, where training's
#: side-by-side fits stay in threads).
AVAILABLE = "forkserver" in multiprocessing.get_all_start_methods()
_context = multiprocessing.get_context("forkserver" if AVAILABLE else "spawn")
if AVAILABLE:
    _context.set_forkserver_preload(PRELOAD)
_started = threading.Lock()


def start() -> None:
    """Start the forkserver now (its imports then run beside the caller's reading and
    validation, not in front of the fits). Idempotent; cheap once started."""
    if not AVAILABLE:
        return
    from multiprocessing import forkserver

    with _started:
        forkserver.ensure_running()


@dataclass(frozen=True)
class SharedArray:
    """Where a worker finds an array: a shared-memory block's name and the array's form."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    order: Order

    def attach(self) -> np.ndarray:
        """The array, mapped from its block (unmapped when the array and its views go)."""
        block = shared_memory.SharedMemory(name=self.name)
        return _mapped(block, self.shape, np.dtype(self.dtype), self.order)


def _mapped(
    block: shared_memory.SharedMemory, shape: tuple[int, ...], dtype: np.dtype, order: Order
) -> np.ndarray:
    """An array over ``block`` that keeps it mapped: the block is closed (unmapped) only
    when the array and every view of it are gone, so no array outlives its memory
    (``SharedMemory.close`` would unmap under a live array)."""
    array = np.ndarray(shape, dtype, buffer=block.buf, order=order)
    weakref.finalize(array, block.close)
    return array


def _order(array: np.ndarray) -> Order:
    return "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"


class SharedArrays:
    """Shared-memory blocks owned by one training: created here, their names removed on
    ``close`` (nothing is left in /dev/shm; each block's memory goes with its last array)."""

    def __init__(self) -> None:
        self._blocks: list[shared_memory.SharedMemory] = []
        #: id of an array in a block -> (the array, kept alive; where workers find it).
        self._shared: dict[int, tuple[np.ndarray, SharedArray]] = {}

    def empty(self, shape: tuple[int, ...], dtype: Any, order: Order = "C") -> np.ndarray:
        """A new uninitialised array in a block of its own."""
        dtype = np.dtype(dtype)
        size = max(1, int(np.prod(shape)) * dtype.itemsize)
        block = shared_memory.SharedMemory(create=True, size=size)
        self._blocks.append(block)
        array = _mapped(block, shape, dtype, order)
        self._shared[id(array)] = (array, SharedArray(block.name, shape, dtype.str, order))
        return array

    def spec(self, array: np.ndarray) -> SharedArray:
        """Where a worker finds ``array``: its block if it was made here, else a copy in one."""
        found = self._shared.get(id(array))
        if found is not None and found[0] is array:
            return found[1]
        order = _order(array)
        copy = self.empty(array.shape, array.dtype, order)
        copy[...] = array
        self._shared[id(array)] = (array, self._shared[id(copy)][1])
        return self._shared[id(array)][1]

    def close(self) -> None:
        self._shared.clear()
        for block in self._blocks:
            block.unlink()
        self._blocks.clear()


def _encode(value: Any, shared: SharedArrays) -> Any:
    if isinstance(value, np.ndarray) and value.nbytes >= SHARE_BYTES:
        return shared.spec(value)
    return value


def _run(work: Callable[..., _R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> _R:
    """In a worker: map the shared arrays, run ``work`` with native pools at one thread."""
    from threadpoolctl import threadpool_limits

    def decode(value: Any) -> Any:
        if isinstance(value, SharedArray):
            array = value.attach()
            array.flags.writeable = False  # the parent's data: read, never written
            return array
        return value

    args = tuple(decode(value) for value in args)
    kwargs = {key: decode(value) for key, value in kwargs.items()}
    with threadpool_limits(limits=1):
        return work(*args, **kwargs)


class ProcessLanes:
    """``workers`` processes for work beside the caller's, its large arrays shared."""

    def __init__(self, shared: SharedArrays, workers: int = 2) -> None:
        self._shared = shared
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context)

    def submit(self, work: Callable[..., _R], *args: Any, **kwargs: Any) -> Future[_R]:
        """``work(*args, **kwargs)`` in a worker; ``work`` must be importable by name."""
        encoded = tuple(_encode(value, self._shared) for value in args)
        named = {key: _encode(value, self._shared) for key, value in kwargs.items()}
        return self._pool.submit(_run, work, encoded, named)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def process_lanes(shared: SharedArrays, workers: int = 2) -> Iterator[ProcessLanes]:
    """Process lanes for the duration of a ``with`` block (workers joined at its end)."""
    start()
    lanes = ProcessLanes(shared, workers)
    try:
        yield lanes
    finally:
        lanes.shutdown()

"""training.lanes: work beside training's fit in worker processes, large arrays shared."""

from __future__ import annotations

from multiprocessing import shared_memory

import numpy as np
import pytest

from training.lanes import SHARE_BYTES, SharedArray, SharedArrays, process_lanes


def native_threads_and_sum(matrix: np.ndarray, small: np.ndarray) -> tuple[int, int, float]:
    """In a worker: the threads k-means and BLAS would use there, and a sum of the data."""
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    from threadpoolctl import threadpool_info

    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return _openmp_effective_n_threads(), max(blas, default=1), float(matrix.sum() + small.sum())


def writes(matrix: np.ndarray) -> None:
    matrix[0, 0] = 1.0


def test_a_worker_reads_the_shared_matrix_with_one_native_thread() -> None:
    shared = SharedArrays()
    try:
        matrix = shared.empty((200_000, 3), np.float64, "F")
        matrix[...] = np.arange(600_000, dtype=np.float64).reshape(200_000, 3, order="F")
        small = np.arange(10.0)  # under SHARE_BYTES: pickled with the call
        assert matrix.nbytes >= SHARE_BYTES > small.nbytes
        with process_lanes(shared) as lanes:
            openmp, blas, total = lanes.submit(native_threads_and_sum, matrix, small=small).result()
            with pytest.raises(ValueError, match="read-only"):
                lanes.submit(writes, matrix).result()  # the parent's data is never written
        assert (openmp, blas) == (1, 1)
        assert total == matrix.sum() + small.sum()
    finally:
        shared.close()


def test_an_array_made_elsewhere_is_copied_once_and_every_block_goes_on_close() -> None:
    shared = SharedArrays()
    codes = np.arange(1_000_000, dtype=np.int64)  # 8 MB, not made in shared memory
    first, second = shared.spec(codes), shared.spec(codes)
    assert first == second  # one block for both lanes
    np.testing.assert_array_equal(first.attach(), codes)
    made = shared.spec(shared.empty((10, 2), np.float64))
    still = shared.empty((1000, 2), np.float64)
    still[...] = 7.0
    shared.close()
    assert still.sum() == 14_000.0  # an array still held keeps its memory after close
    for spec in (first, made):
        assert isinstance(spec, SharedArray)
        with pytest.raises(FileNotFoundError):
            shared_memory.SharedMemory(name=spec.name)

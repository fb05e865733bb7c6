"""Small file helpers shared by training and batch scoring (kept free of heavy imports: the
scoring worker imports this module)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from data_contracts.populations import POPULATIONS, Population


def population_tables(data_dir: Path) -> list[Population]:
    """The populations whose table ``data_dir`` holds; a folder with neither (or none at
    all) is an error that names it."""
    present = [p for p in POPULATIONS if (data_dir / f"{p}.parquet").exists()]
    if not present:
        raise FileNotFoundError(f"no citizens.parquet or employers.parquet in {data_dir}")
    return present


def fingerprint(path: Path) -> str:
    """SHA-256 of a data file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_and_fingerprint(path: Path) -> tuple[Any, str]:
    """The Parquet file as a pandas DataFrame, and its fingerprint (read while in the page
    cache). One block per column, Arrow's buffers released as they convert: no consolidating
    copy of 7.2 M rows (less memory, fewer pages for the kernel to clear)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    return frame, fingerprint(path)


class ReadAhead:
    """A table being read in a thread of its own (:func:`prefetch_tables`), handed over once:
    after :meth:`take` nothing here holds the frame, so its 7.2 M rows are not kept through
    the training."""

    def __init__(self, future: Future[tuple[Any, str]]) -> None:
        self._future: Future[tuple[Any, str]] | None = future

    def take(self) -> tuple[Any, str]:
        """The frame and its fingerprint (:func:`read_and_fingerprint`), once it is read."""
        if self._future is None:
            raise RuntimeError("this table was handed over already")
        future, self._future = self._future, None
        return future.result()


def prefetch_tables(data_dir: Path, names: Iterable[str]) -> dict[str, ReadAhead]:
    """Each ``NAME.parquet`` in ``data_dir`` read, converted and fingerprinted
    (:func:`read_and_fingerprint`) in a thread of their own: started before training imports
    its libraries, the reads and conversions (Arrow, outside the GIL) run beside the imports
    and the registry's opening instead of after them."""
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="table-read")
    reads = {
        name: ReadAhead(reader.submit(read_and_fingerprint, data_dir / f"{name}.parquet"))
        for name in names
        if (data_dir / f"{name}.parquet").exists()
    }
    reader.shutdown(wait=False)
    return reads


def atomic_write_parquet(table: Any, path: Path, **options: Any) -> None:
    """Write a pyarrow Table or pandas DataFrame to ``path`` so that a reader (or a resumed
    run) sees the whole file or none: into a hidden temporary beside it, then renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    _write_whole(path, lambda temporary: pq.write_table(table, temporary, **options))


def atomic_write_bytes(content: bytes, path: Path) -> None:
    """Write ``content`` to ``path`` whole or not at all (a temporary beside it, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_whole(path, lambda temporary: temporary.write_bytes(content))


def _write_whole(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` into a hidden temporary beside ``path``, then renamed over it; an error names
    the file asked for (not the temporary) and leaves no temporary behind."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        write(temporary)
        temporary.replace(path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise OSError(error.errno, f"cannot write {path}: {error.strerror or error}") from error

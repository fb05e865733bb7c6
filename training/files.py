"""Small file helpers shared by training and batch scoring (kept free of heavy imports: the
scoring worker imports this module)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any


def fingerprint(path: Path) -> str:
    """SHA-256 of a data file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_and_fingerprint(path: Path) -> tuple[Any, str]:
    """The Parquet file as an Arrow table, and its fingerprint (read while in the page
    cache)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return table, fingerprint(path)


def prefetch_tables(data_dir: Path, names: Iterable[str]) -> dict[str, Future[tuple[Any, str]]]:
    """Each ``NAME.parquet`` in ``data_dir`` read and fingerprinted (:func:`read_and_
    fingerprint`) in a thread of their own: started before training imports its libraries,
    the reads (Arrow, outside the GIL) run beside the imports instead of after them."""
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="table-read")
    futures = {
        name: reader.submit(read_and_fingerprint, data_dir / f"{name}.parquet")
        for name in names
        if (data_dir / f"{name}.parquet").exists()
    }
    reader.shutdown(wait=False)
    return futures


def atomic_write_parquet(table: Any, path: Path, **options: Any) -> None:
    """Write a pyarrow Table or pandas DataFrame to ``path`` so that a reader (or a resumed
    run) sees the whole file or none: into a hidden temporary beside it, then renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, temporary, **options)
    temporary.replace(path)


def atomic_write_bytes(content: bytes, path: Path) -> None:
    """Write ``content`` to ``path`` whole or not at all (a temporary beside it, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)

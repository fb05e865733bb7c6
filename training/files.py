"""Small file helpers shared by training and batch scoring (kept free of heavy imports: the
scoring worker imports this module)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def fingerprint(path: Path) -> str:
    """SHA-256 of a data file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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

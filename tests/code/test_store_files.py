"""The embedded store's files hold personal data: owner-only modes (issue 12)."""

import datetime as dt
import stat
import threading
import time
from pathlib import Path

import pytest

from segmentation import store as store_module
from segmentation.store import SegmentStore


def test_store_and_audit_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    store = SegmentStore(f"sqlite:///{folder / 'segments.db'}")
    store.create()
    store.audit_many(
        [
            {
                "at": dt.datetime.now(dt.UTC),
                "actor": "t",
                "role": "operator",
                "action": "test",
                "subject": None,
                "purpose": "test",
                "outcome": "allowed",
            }
        ]
    )
    files = [p for p in folder.iterdir() if p.name.startswith("segments")]
    assert {p.name for p in files} >= {"segments.db", "segments-audit.db"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    store.dispose()


def _record(number: int) -> dict[str, object]:
    return {
        "at": dt.datetime.now(dt.UTC),
        "actor": f"actor-{number}",
        "role": "case_handler",
        "action": "citizens.lookup",
        "subject": "196807185662",
        "purpose": "case_handling " + "x" * 150,
        "outcome": "allowed",
        "request_id": f"{number:032x}",
        "client": "127.0.0.1",
    }


def test_the_audit_write_ahead_file_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under steady writes the API's background checkpoint keeps the audit log's -wal file
    near the limit however long the load lasts (with passive checkpoints alone the log is
    never idle, never restarts, and grew 170 MB in 10 s), losing no record."""
    limit = 128 * 1024
    monkeypatch.setattr(store_module, "AUDIT_WAL_LIMIT_BYTES", limit)
    store = SegmentStore(f"sqlite:///{tmp_path / 'segments.db'}")
    store.audit_autocheckpoint = False  # as the API runs it
    store.create()
    stop = threading.Event()
    written = [0]

    def load() -> None:  # the API's audit writer: one group of records after another
        while not stop.is_set():
            store.audit_many([_record(written[0] + n) for n in range(20)])
            written[0] += 20

    writer = threading.Thread(target=load)
    writer.start()
    sizes = []
    for _ in range(60):  # the background checkpoint, faster than the API's once a second
        time.sleep(0.02)
        store.checkpoint_audit()
        sizes.append(store.audit_wal_bytes())
    stop.set()
    writer.join()
    assert written[0] > 5_000  # the load was real
    # Between checkpoints the file grows by what 20 ms of writes add, then is cut back.
    assert max(sizes[10:]) <= 4 * limit, sizes
    assert len(store.audit_entries(limit=1_000_000)) == written[0]
    store.dispose()

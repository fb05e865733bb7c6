"""The embedded store's files hold personal data: owner-only modes (issue 12)."""

import datetime as dt
import stat
import threading
import time
from pathlib import Path

import pytest

from segmentation import store as store_module
from segmentation.store import SegmentStore
from tests.event_loop import run_async


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


def _steady_load(store: SegmentStore, *, quiet_every: int | None) -> tuple[int, list[int]]:
    """Write audit records without a pause for about a second while a background thread
    checkpoints every 20 ms (as the API does); with ``quiet_every``, the writer itself also
    checkpoints between two of its transactions every that many writes (the API's
    ``AuditWriter`` maintenance). Returns the records written and the -wal sizes seen."""
    stop = threading.Event()
    sizes: list[int] = []

    def background() -> None:
        while not stop.is_set():
            time.sleep(0.02)
            store.checkpoint_audit()
            sizes.append(store.audit_wal_bytes())

    checkpointer = threading.Thread(target=background)
    checkpointer.start()
    written = 0
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:
        store.audit_many([_record(written + n) for n in range(20)])
        written += 20
        if quiet_every and (written // 20) % quiet_every == 0:
            store.checkpoint_audit()
    stop.set()
    checkpointer.join()
    return written, sizes


@pytest.mark.parametrize("quiet", [True, False])
def test_the_audit_write_ahead_file_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quiet: bool
) -> None:
    """Under steady writes a background checkpoint alone never lets the log's -wal file
    start again (it grew 830 MB in 60 s under the API's load); a checkpoint between two
    writes every so often does, and the file stays bounded. No record is lost."""
    limit = 128 * 1024
    monkeypatch.setattr(store_module, "AUDIT_WAL_LIMIT_BYTES", limit)
    store = SegmentStore(f"sqlite:///{tmp_path / 'segments.db'}")
    store.audit_autocheckpoint = False  # as the API runs it
    store.create()
    written, sizes = _steady_load(store, quiet_every=50 if quiet else None)
    assert written > 5_000  # the load was real
    assert len(store.audit_entries(limit=1_000_000)) == written
    if quiet:
        assert max(sizes[len(sizes) // 2 :]) <= 16 * limit, sizes
    else:  # what the quiet checkpoint is for
        assert sizes[-1] > 16 * limit, sizes
    store.dispose()


def test_the_audit_writer_maintains_the_log_between_transactions() -> None:
    """``maintain`` runs between two writes, never during one, and records queued while it
    runs are written afterwards (none lost)."""
    import anyio

    from api.audit import AuditWriter

    events: list[str] = []
    writing = threading.Event()

    def write(records: object) -> None:
        writing.set()
        events.append(f"write {len(records)}")  # type: ignore[arg-type]
        time.sleep(0.01)
        writing.clear()

    def maintain() -> None:
        assert not writing.is_set()
        events.append("maintain")
        time.sleep(0.02)

    writer = AuditWriter(write, in_thread=True, maintain=maintain, maintain_every=0.0)

    async def requests() -> None:
        async with anyio.create_task_group() as group:
            for n in range(30):
                group.start_soon(
                    lambda n=n: writer.record(
                        actor="t",
                        role="operator",
                        action="test",
                        subject=None,
                        purpose=str(n),
                        outcome="allowed",
                    )
                )
                await anyio.sleep(0.001)

    run_async(requests)
    written = sum(int(e.split()[1]) for e in events if e.startswith("write"))
    assert written == 30
    assert writer.maintenance_runs >= 1 and "maintain" in events

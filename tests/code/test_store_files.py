"""The embedded store's files hold personal data: owner-only modes (issue 12)."""

import datetime as dt
import stat
from pathlib import Path

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

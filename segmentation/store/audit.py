"""The audit log: who read or changed what about whom, when and why (append-only).

With SQLite it is a file of its own, written straight through the driver by the API's
group commit (``api.audit``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select

from segmentation.store.base import StoreBase
from segmentation.store.schema import as_utc, audit_log, sqlite_file, sqlite_time

_AUDIT_INSERT = (
    "INSERT INTO audit_log (at, actor, role, action, subject, purpose, outcome, request_id, client)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

#: A write-ahead file that starts again from its beginning is cut back to this size
#: (``journal_size_limit``); see ``checkpoint_audit``.
AUDIT_WAL_LIMIT_BYTES = 16 * 1024 * 1024


class AuditLog(StoreBase):
    """Appends and reads of the audit log."""

    def _writer(self) -> sqlite3.Connection:
        """This thread's SQLite connection for audit records (autocommit; explicit BEGIN)."""
        writer: sqlite3.Connection | None = getattr(self._local, "writer", None)
        if writer is None:
            pragmas = [
                "journal_mode = WAL",
                "synchronous = NORMAL",
                f"journal_size_limit = {AUDIT_WAL_LIMIT_BYTES}",
            ]
            if not self.audit_autocheckpoint:
                pragmas.append("wal_autocheckpoint = 0")
            writer = self._local.writer = self._open(self.audit_engine, pragmas, autocommit=True)
        return writer

    def checkpoint_audit(self) -> None:
        """Copy the SQLite audit log's write-ahead log into its file (a passive checkpoint:
        it never makes a writer wait). The API runs this in the background every second
        and turns off ``audit_autocheckpoint``; otherwise every ~1,000 pages one commit would
        do the checkpoint, with its fsync, while the requests of its group wait (measured:
        commits of 12-17 ms every 0.3 s at 4,000 lookups a second).

        The write-ahead file only starts again from its beginning (and is cut back to
        ``AUDIT_WAL_LIMIT_BYTES``) when a checkpoint has copied every frame before the next
        write begins. Under steady load a checkpoint in the background never gets there and
        the file grew without bound (830 MB in 60 s); so the API's audit writer also runs
        this between two of its transactions every few seconds (``AuditWriter``), when no
        write can be in flight: it finishes the copy the background run did most of."""
        if not self.audit_is_sqlite:
            return
        with self._lock:  # the API's last checkpoint, at shutdown, may meet a running one
            if self._checkpointer is None:
                self._checkpointer = self._open(
                    self.audit_engine,
                    [f"journal_size_limit = {AUDIT_WAL_LIMIT_BYTES}"],
                    autocommit=True,
                )
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def audit_wal_bytes(self) -> int:
        """The size of the SQLite audit log's write-ahead file (0 without one)."""
        database = sqlite_file(self.audit_engine.url)
        if database is None:
            return 0
        wal = database.with_name(database.name + "-wal")
        return wal.stat().st_size if wal.exists() else 0

    def audit_many(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append audit records in one transaction: all are written or none (raises)."""
        if not records:
            return
        if not self.audit_is_sqlite:
            with self.audit_engine.begin() as connection:
                connection.execute(insert(audit_log), [dict(record) for record in records])
            return
        # SQLite: straight to the driver (the same rows SQLAlchemy would write, a fifth of
        # the cost); the API's audit writer calls this for every group of requests.
        writer = self._writer()
        rows = [
            (
                sqlite_time(record["at"]),
                record["actor"],
                record["role"],
                record["action"],
                record["subject"],
                record["purpose"],
                record["outcome"],
                record.get("request_id"),
                record.get("client"),
            )
            for record in records
        ]
        writer.execute("BEGIN IMMEDIATE")
        try:
            writer.executemany(_AUDIT_INSERT, rows)
        except BaseException:
            writer.execute("ROLLBACK")
            raise
        writer.execute("COMMIT")

    def audit_entries(
        self, *, subject: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` audit records, oldest first (optionally for one subject)."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if subject is not None:
            query = query.where(audit_log.c.subject == subject)
        with self.audit_engine.connect() as connection:
            rows = connection.execute(query).all()
        out = []
        for row in reversed(rows):
            record = dict(row._mapping)
            record["at"] = as_utc(record["at"])
            out.append(record)
        return out

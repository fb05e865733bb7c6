"""The segment store (SQLAlchemy 2): customers' categories per reference period, overrides,
reviews, batch progress and the audit log. SQLite by default, PostgreSQL when the URL says
so. The package's one I/O; one module per job, behind the one facade ``SegmentStore``:

- ``schema``: tables, engines, time helpers;
- ``base``: connections, creation and the catalog of periods;
- ``batch``: a scoring run writing one period (resumable, idempotent);
- ``reads``: the hot path, one customer's latest row, override and history;
- ``overrides``: case handlers' overrides and reviews;
- ``audit``: the audit log;
- ``aggregates``: whole-period reads for planners and operators;
- ``users``: accounts of the people who sign in to the web pages.
"""

from __future__ import annotations

from segmentation.store.aggregates import Aggregates
from segmentation.store.audit import AUDIT_WAL_LIMIT_BYTES, AuditLog
from segmentation.store.base import Period
from segmentation.store.batch import (
    BatchWrites,
    PreparedRows,
    Progress,
    RunInProgress,
    ScoredChunk,
    prepare_rows,
)
from segmentation.store.overrides import CaseWrites
from segmentation.store.reads import PointReads, SubjectRecord
from segmentation.store.schema import (
    BEHAVIOUR_COLUMNS,
    audit_metadata,
    default_audit_url,
    format_id,
    make_engine,
    metadata,
    utcnow,
)
from segmentation.store.users import WebUsers

__all__ = [
    "AUDIT_WAL_LIMIT_BYTES",
    "BEHAVIOUR_COLUMNS",
    "Period",
    "PreparedRows",
    "Progress",
    "RunInProgress",
    "ScoredChunk",
    "SegmentStore",
    "SubjectRecord",
    "audit_metadata",
    "default_audit_url",
    "format_id",
    "make_engine",
    "metadata",
    "prepare_rows",
    "utcnow",
]


class SegmentStore(BatchWrites, PointReads, CaseWrites, AuditLog, Aggregates, WebUsers):
    """Reads and writes of the segment store (see the package's modules)."""

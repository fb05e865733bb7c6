"""Group commit of audit records: nothing about a person is served before its record is
written, and concurrent requests share one transaction.

A request queues its record and waits. One writer drains the queue: it writes everything
queued so far in one transaction (in a worker thread, so the event loop keeps serving) and
then wakes each waiting request with success or with the error. While it writes, new
records queue for the next transaction. Under load a transaction carries many records; a
lone request waits for one transaction of its own, as before.

Every ``maintain_every`` seconds the writer runs ``maintain`` (the store's checkpoint)
between two transactions, in a worker thread: with no write in flight the checkpoint can
finish, and the log's write-ahead file starts again instead of growing under steady load.
Records queued meanwhile go into the next transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio

log = logging.getLogger(__name__)
AuditRecord = Mapping[str, Any]
Write = Callable[[Sequence[AuditRecord]], None]


class AuditWriter:
    def __init__(
        self,
        write: Write,
        *,
        in_thread: bool = True,
        maintain: Callable[[], None] | None = None,
        maintain_every: float = 2.0,
    ) -> None:
        #: Writes records in one transaction, all or none; raises if it cannot.
        self._write = write
        self._in_thread = in_thread
        self._maintain = maintain
        self._maintain_every = maintain_every
        self._maintained = time.monotonic()
        #: Maintenance runs so far (for tests and metrics).
        self.maintenance_runs = 0
        self._queue: list[tuple[AuditRecord, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        subject: str | None,
        purpose: str,
        outcome: str,
        request_id: str | None = None,
        client: str | None = None,
    ) -> None:
        """Queue one record and return once it is committed; raise if it could not be."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        entry = {
            "at": dt.datetime.now(dt.UTC),
            "actor": actor,
            "role": role,
            "action": action,
            "subject": subject,
            "purpose": purpose,
            "outcome": outcome,
            "request_id": request_id,
            "client": client,
        }
        self._queue.append((entry, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        while self._queue:
            await self._maybe_maintain()
            batch, self._queue = self._queue, []
            records = [entry for entry, _ in batch]
            try:
                if self._in_thread:
                    await anyio.to_thread.run_sync(self._write, records)
                else:
                    self._write(records)
            except Exception as error:  # every waiting request is refused, none is lost
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
            except BaseException:  # cancelled (shutdown): no request is left waiting
                for _, done in [*batch, *self._queue]:
                    done.cancel()
                raise
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _maybe_maintain(self) -> None:
        if self._maintain is None or time.monotonic() - self._maintained < self._maintain_every:
            return
        self._maintained = time.monotonic()
        try:
            await anyio.to_thread.run_sync(self._maintain)
            self.maintenance_runs += 1
        except Exception as error:  # the records still go in; the next round tries again
            log.warning("audit log maintenance failed: %s", type(error).__name__)

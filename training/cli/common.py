"""What every command shares: the console, the exit codes, and the review page's store."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console

if TYPE_CHECKING:
    from segmentation.settings import Settings
    from segmentation.store import SegmentStore

console = Console()
log = logging.getLogger(__name__)

#: Exit codes: 1 nothing to do, 2 bad input, 3 the model registry could not be read.
BAD_INPUT = 2
REGISTRY_UNREADABLE = 3

T = TypeVar("T")


def on_review_page(
    settings: Settings, action: Callable[[SegmentStore], T], failure: str
) -> T | None:
    """``action`` on the segment store that holds the case handlers' review page, or None
    (logged as ``failure``) when the store cannot be reached: the commands that update the
    page (a sample queued, answered reviews taken off) have done their own work already, so
    an unreachable store costs the page, not the command."""
    from sqlalchemy.exc import SQLAlchemyError

    from segmentation.store import SegmentStore

    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    try:
        store.create()
        return action(store)
    except SQLAlchemyError as error:
        log.warning("%s: %s", failure, type(error).__name__)
        return None
    finally:
        store.dispose()

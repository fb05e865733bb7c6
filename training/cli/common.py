"""What every command shares: the console, the exit codes, and the review page's store."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from data_contracts.populations import POPULATIONS

if TYPE_CHECKING:
    import pandas as pd

    from segmentation.settings import Settings
    from segmentation.store import SegmentStore

console = Console()
log = logging.getLogger(__name__)

#: Exit codes: 1 nothing to do, 2 bad input, 3 the model registry could not be read, 4
#: another process is doing the same work now (scoring the same period).
BAD_INPUT = 2
REGISTRY_UNREADABLE = 3
BUSY = 4

T = TypeVar("T")


def _one_population(value: str) -> str:
    if value not in POPULATIONS:
        raise typer.BadParameter(" or ".join(POPULATIONS))
    return value


#: ``--population``: one of the contract's tables, refused otherwise (a misspelt one would
#: find nothing and say so as if the store were empty).
PopulationOption = Annotated[
    str, typer.Option(help="citizens or employers.", callback=_one_population)
]


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


def answered_off_page(settings: Settings, answered: pd.DataFrame) -> str:
    """Take the customers reviewed in the files (their accepted reviews, ``answered``) off
    the case handlers' review page (their review is given, though not there); what to tell
    the operator. ``train --reviews`` and ``review opinions`` both do it: once answered in a
    file, a customer is not judged again on the page while its second opinion is asked in
    another file (the page would ask its own)."""
    from segmentation.taxonomy import POPULATIONS

    removed = on_review_page(
        settings,
        lambda store: sum(
            store.mark_answered(
                population,
                answered.loc[answered["population"] == population, "id"].astype(str).tolist(),
            )
            for population in POPULATIONS
        ),
        "review page not updated",
    )
    if removed is None:
        return "The review page was not updated: the segment store could not be reached."
    return (
        f"review page: {removed:,} customers answered in the files taken off it"
        if removed
        else "review page: no customer answered in the files was waiting on it"
    )

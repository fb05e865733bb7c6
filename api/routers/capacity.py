"""Capacity for planners: aggregates only, never an individual."""

import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query

from api.deps import Access, AppContext, require
from api.schemas import error_responses
from segmentation.capacity import (
    ASSUMPTION_BOUNDS,
    MOVE_HELP,
    SHIFT_HELP,
    Assumptions,
    SegmentLoad,
    parse_changes,
    report,
)

router = APIRouter(prefix="/v1", tags=["capacity"], responses=error_responses(401, 403, 422, 503))
planner_access = require("planner", action="capacity.read", person=False)
CACHE_SECONDS = 60.0


def _bounded(name: str) -> Any:
    """The query parameter for assumption ``name``, within its bounds."""
    low, high = ASSUMPTION_BOUNDS[name]
    return Query(ge=low, le=high)


DEFAULT = Assumptions()


async def cached_loads(context: AppContext) -> list[SegmentLoad]:
    """The store's per-segment sums, cached for a minute (the query scans every customer)."""
    cached = context.capacity_cache
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return list(cached[1])
    loads = await anyio.to_thread.run_sync(context.store.capacity_loads)
    context.capacity_cache = (time.monotonic(), loads)
    return loads


@router.get("/capacity", openapi_extra=planner_access.openapi)
async def capacity(
    access: Annotated[Access, Depends(planner_access)],
    service_level: Annotated[float, _bounded("service_level")] = DEFAULT.service_level,
    answer_within_seconds: Annotated[
        float, _bounded("answer_within_seconds")
    ] = DEFAULT.answer_within_seconds,
    opening_hours_per_day: Annotated[
        float, _bounded("opening_hours_per_day")
    ] = DEFAULT.opening_hours_per_day,
    opening_days_per_year: Annotated[
        float, _bounded("opening_days_per_year")
    ] = DEFAULT.opening_days_per_year,
    phone_handle_seconds: Annotated[
        float, _bounded("phone_handle_seconds")
    ] = DEFAULT.phone_handle_seconds,
    shrinkage: Annotated[float, _bounded("shrinkage")] = DEFAULT.shrinkage,
    shift: Annotated[list[str] | None, Query(description=SHIFT_HELP, max_length=100)] = None,
    move: Annotated[list[str] | None, Query(description=MOVE_HELP, max_length=100)] = None,
) -> dict[str, Any]:
    """Per-segment and per-region sizes, workload and staffing, with an optional scenario.
    Each row's `phone_agents` staff that segment's own queue; `region_phone_agents` gives one
    line per region for every segment (`all`: the national line), fewer than the segments'
    queues added up (Erlang C pools)."""
    assumptions = Assumptions(
        service_level=service_level,
        answer_within_seconds=answer_within_seconds,
        opening_hours_per_day=opening_hours_per_day,
        opening_days_per_year=opening_days_per_year,
        phone_handle_seconds=phone_handle_seconds,
        shrinkage=shrinkage,
    )
    try:
        changes = parse_changes(shift, move)
    except ValueError as error:
        raise HTTPException(
            422, [{"loc": ["query", "shift/move"], "msg": str(error), "type": "value_error"}]
        ) from error
    loads = await cached_loads(access.context)
    try:
        return report(loads, assumptions, changes)
    except ValueError as error:  # e.g. assumptions that make no sense together
        raise HTTPException(
            422, [{"loc": ["query"], "msg": str(error), "type": "value_error"}]
        ) from error

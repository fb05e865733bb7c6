"""The monthly result indicators per segment for planners: aggregates only, as kept by
`segmentation indicators` (the cases, calls and survey answers are read there, never by the
service)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from api.deps import Access, AppContext, require
from api.responses import XLSX, workbook
from api.schemas import error_responses
from segmentation import excel

router = APIRouter(prefix="/v1", tags=["indicators"], responses=error_responses(401, 403, 422, 503))
indicators_access = require("planner", action="indicators.read", person=False)
MONTH = Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; default the newest kept")


async def kept_report(context: AppContext, month: str | None) -> dict[str, Any]:
    """The month's report as kept (the newest without ``month``), with the months kept."""
    store = context.store
    months = await anyio.to_thread.run_sync(store.indicator_months)
    if not months:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "no indicators kept yet: run `segmentation indicators`"
        )
    chosen = month or months[0]
    report = await anyio.to_thread.run_sync(store.indicators, chosen)
    if report is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no indicators kept for {chosen}; kept: {', '.join(months)}",
        )
    return {**report, "months": months}


@router.get("/indicators", openapi_extra=indicators_access.openapi, responses=error_responses(404))
async def indicators(
    access: Annotated[Access, Depends(indicators_access)],
    month: Annotated[str | None, MONTH] = None,
) -> dict[str, Any]:
    """The month's result indicators per segment: cases received, decided and pending with
    their ages, handling time, R12 full-time equivalents and decisions per FTE, telephony
    and the net promoter score; `months` lists the months kept, newest first."""
    return await kept_report(access.context, month)


@router.get(
    "/indicators.xlsx",
    openapi_extra=indicators_access.openapi,
    responses={200: {"content": {XLSX: {}}}, **error_responses(404)},
)
async def indicators_workbook(
    access: Annotated[Access, Depends(indicators_access)],
    month: Annotated[str | None, MONTH] = None,
) -> Response:
    """The same as an Excel workbook, one indicator per sheet, in Swedish."""
    report = await kept_report(access.context, month)
    body = await anyio.to_thread.run_sync(excel.indicators_workbook, report)
    return workbook(body, f"indikatorer-{report['month']}.xlsx")


@router.get(
    "/indicators/series.xlsx",
    openapi_extra=indicators_access.openapi,
    responses={200: {"content": {XLSX: {}}}, **error_responses(404)},
)
async def indicators_series(access: Annotated[Access, Depends(indicators_access)]) -> Response:
    """Every kept month in one Excel workbook: an indicator per sheet, the segments as rows
    and the months as columns, in Swedish."""
    reports = await anyio.to_thread.run_sync(access.context.store.indicator_reports)
    if not reports:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "no indicators kept yet: run `segmentation indicators`"
        )
    body = await anyio.to_thread.run_sync(excel.indicators_series_workbook, reports)
    first, last = reports[0]["month"], reports[-1]["month"]
    return workbook(body, f"indikatorer-{first}-{last}.xlsx")

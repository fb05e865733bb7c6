"""Periods (issue 9): transitions and drift for planners (aggregates only), and the
early-warning work list for case handlers (audited, one record per customer listed)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from api.deps import Access, AppContext, require
from api.responses import XLSX, JSONBytes, workbook
from api.schemas import error_responses
from api.web import labels
from segmentation import excel
from segmentation.oversight import oversight_figures
from segmentation.store import Period
from segmentation.taxonomy import Population, county_name
from segmentation.transitions import transition_report, with_period_estimate
from segmentation.warning import PROBABILITY_WEIGHT, SIGNAL_BY_CODE, SIGNALS, signal_codes

router = APIRouter(prefix="/v1", tags=["periods"], responses=error_responses(401, 403, 422, 503))
transitions_access = require("planner", action="transitions.read", person=False)
drift_access = require("planner", "operator", action="drift.read", person=False)
warnings_access = require("case_handler", action="warnings.list", person=True)


def _period(context: AppContext, population: Population, when: dt.date) -> Period:
    for period in context.store.periods(population, fresh=True):
        if period.period_end == when:
            return period
    listed = ", ".join(str(p.period_end) for p in context.store.periods(population)) or "none"
    raise HTTPException(
        status.HTTP_404_NOT_FOUND, f"no scored {population} period {when}; scored: {listed}"
    )


async def transitions_between(
    context: AppContext, population: Population, before: dt.date, after: dt.date
) -> dict[str, Any]:
    """The report of two periods, kept per pair of period tables (a join over every
    customer of both: seconds at 7.2 M; a period scored again is a new table)."""
    if before >= after:  # a backward matrix would swap the newcomers and the leavers
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "from"],
                    "msg": f"from ({before}) must be an earlier period than to ({after})",
                    "type": "value_error",
                }
            ],
        )
    first, second = _period(context, population, before), _period(context, population, after)
    key = (first.table_name, second.table_name)
    cached = context.transitions_cache.get(key)
    if cached is None:
        counts = await anyio.to_thread.run_sync(
            context.store.transition_counts, population, first, second
        )
        cached = with_period_estimate(
            transition_report(population, before, after, counts),
            first.soft_confusion,
            second.soft_confusion,
        )
        context.transitions_cache[key] = cached
    return cached


@router.get(
    "/transitions", openapi_extra=transitions_access.openapi, responses=error_responses(404)
)
async def transitions(
    access: Annotated[Access, Depends(transitions_access)],
    from_period: Annotated[dt.date, Query(alias="from", description="The earlier period's end")],
    to_period: Annotated[dt.date, Query(alias="to", description="The later period's end")],
    population: Annotated[Population, Query()] = "citizens",
) -> dict[str, Any]:
    """Counts and rates between the categories of two periods, overall and per county, with
    the irregular -> needs-support flow called out. Never an individual."""
    return await transitions_between(access.context, population, from_period, to_period)


@router.get(
    "/transitions.xlsx",
    openapi_extra=transitions_access.openapi,
    responses={200: {"content": {XLSX: {}}}, **error_responses(404)},
)
async def transitions_workbook(
    access: Annotated[Access, Depends(transitions_access)],
    from_period: Annotated[dt.date, Query(alias="from")],
    to_period: Annotated[dt.date, Query(alias="to")],
    population: Annotated[Population, Query()] = "citizens",
) -> Response:
    """The same as an Excel workbook."""
    report = await transitions_between(access.context, population, from_period, to_period)
    body = await anyio.to_thread.run_sync(excel.transitions_workbook, report)
    name = f"transitions-{population}-{from_period}-{to_period}.xlsx"
    return workbook(body, name)


@router.get("/drift", openapi_extra=drift_access.openapi)
async def drift(
    access: Annotated[Access, Depends(drift_access)],
    population: Annotated[Population, Query()] = "citizens",
) -> list[dict[str, Any]]:
    """Each scored period's drift against the one before (category shares, the population
    stability index of every input, and whether it calls for retraining), newest first."""
    reports = await anyio.to_thread.run_sync(access.context.store.drift_reports, population)
    return [json.loads(report) for _, _, report in reports]


def _reasons(row: dict[str, Any], previous: Period | None) -> list[dict[str, str]]:
    """Why a customer is on the work list, in words a case handler can check."""
    flags = int(row["signals"])
    weights = sum(SIGNAL_BY_CODE[code].weight for code in signal_codes(flags))
    p_support = max(0.0, (row["risk"] - (1 - PROBABILITY_WEIGHT) * weights) / PROBABILITY_WEIGHT)
    reasons = [
        {
            "code": "model",
            "text": f"the model gives {p_support:.0%} for needing support",
            "text_sv": f"modellen ger {labels.number(p_support, 'share')} för behov av stöd",
        }
    ]
    if previous is not None and row["previous"] and row["previous"] != row["category"]:
        reasons.append(
            {
                "code": "moved",
                "text": f"moved from {row['previous']} to {row['category']} since "
                f"{previous.period_end}",
                "text_sv": f"har gått från {labels.category(row['previous']).lower()} till "
                f"{labels.category(row['category']).lower()} sedan "
                f"{previous.period_end}",
            }
        )
    for signal in SIGNALS:
        if flags >> signal.bit & 1:
            reasons.append({"code": signal.code, "text": signal.text_en, "text_sv": signal.text_sv})
    return reasons


async def work_list(
    context: AppContext,
    *,
    region: str | None,
    page: int,
    page_size: int,
) -> dict[str, Any]:
    """One page of the early-warning work list of the latest citizens' period."""
    periods = context.store.periods("citizens", fresh=True)
    if not periods:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no scored citizens' period yet")
    latest, previous = periods[0], (periods[1] if len(periods) > 1 else None)
    threshold = context.warning_thresholds.get(latest.table_name)
    settings = context.settings
    if threshold is None:
        threshold = await anyio.to_thread.run_sync(
            lambda: context.store.warning_threshold(
                latest, share=settings.warning_list_share, min_risk=settings.warning_min_risk
            )
        )
        context.warning_thresholds[latest.table_name] = threshold
    total, rows = await anyio.to_thread.run_sync(
        lambda: context.store.warning_list(
            "citizens",
            latest,
            previous,
            threshold=threshold,
            region=region,
            limit=page_size,
            offset=(page - 1) * page_size,
        )
    )
    return {
        "period_end": latest.period_end.isoformat(),
        "previous_period_end": previous.period_end.isoformat() if previous else None,
        "model_version": latest.model_version,
        "threshold": round(threshold, 4),
        "total": total,
        "page": page,
        "page_size": page_size,
        "customers": [
            {
                "customer_id": row["subject_id"],
                "category": row["category"],
                "previous_category": row["previous"],
                "region": row["region"],
                "county": county_name(row["region"]),
                "risk": round(float(row["risk"]), 4),
                "reasons": _reasons(row, previous),
            }
            for row in rows
        ],
    }


@router.get("/warnings", openapi_extra=warnings_access.openapi, responses=error_responses(404))
async def warnings(
    access: Annotated[Access, Depends(warnings_access)],
    region: Annotated[
        str | None, Query(pattern=r"^(0[1-9]|1[0-9]|2[0-5])$", description="County code")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Citizens at risk of sliding into needing support, highest risk first, with why each
    is on the list. Every customer listed gets an audit record."""
    answer = await work_list(access.context, region=region, page=page, page_size=page_size)
    await asyncio.gather(*(access.record(c["customer_id"]) for c in answer["customers"]))
    if not answer["customers"]:
        await access.record(None)
    return JSONBytes(answer)


oversight_access = require("planner", "operator", action="oversight.read", person=False)


@router.get("/oversight", openapi_extra=oversight_access.openapi)
async def oversight(
    access: Annotated[Access, Depends(oversight_access)],
    population: Annotated[Population, Query()] = "citizens",
) -> dict[str, Any]:
    """How often case handlers override the model: per category (per 1,000 customers the
    model put there), county, reason and month. Counts only."""
    store = access.context.store
    events = await anyio.to_thread.run_sync(store.override_events, population)
    latest = store.period(population)
    return {
        "population": population,
        "period_end": latest.period_end.isoformat() if latest else None,
        **oversight_figures(events, latest.counts if latest else {}),
    }

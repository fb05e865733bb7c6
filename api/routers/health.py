"""Liveness, readiness, metrics and the on-demand model refresh."""

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import Access, ContextDep, require
from api.schemas import error_responses
from segmentation.taxonomy import POPULATIONS

router = APIRouter(tags=["operations"])
refresh_access = require("operator", action="models.refresh", person=False)
metrics_access = require("operator", action="metrics.read", person=False)


@router.get("/health")
async def health() -> dict[str, str]:
    """Alive."""
    return {"status": "alive"}


@router.get(
    "/ready",
    responses={
        200: {"description": "ready"},
        503: {"description": "a population has no model loaded, or the store does not answer"},
    },
)
async def ready(context: ContextDep) -> JSONResponse:
    """Ready when every population's champion is loaded and the store answers; 503 otherwise
    (``missing`` names the populations without a model)."""
    versions = context.models.versions
    try:
        store_ok = bool(await context.db(context.store.ping))
    except Exception:
        store_ok = False
    missing = [population for population in POPULATIONS if population not in versions]
    ok = store_ok and not missing
    body = {
        "status": "ready" if ok else "not ready",
        "store": store_ok,
        "models": versions,
        "missing": missing,
        # A champion that could not be loaded: the previous version still serves.
        "failing": dict(context.models.failures),
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(context: ContextDep, request: Request) -> Response:
    """Prometheus metrics (behind an operator's bearer token when
    ``SEGMENTATION_METRICS_REQUIRE_TOKEN`` is true)."""
    if context.settings.metrics_require_token:
        await metrics_access(request)
    return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.post(
    "/v1/models/refresh",
    responses=error_responses(401, 403, 503),
    openapi_extra=refresh_access.openapi,
)
async def refresh_models(
    access: Annotated[Access, Depends(refresh_access)],
) -> JSONResponse:
    """Follow the `champion` alias now instead of at the next check; 503 names a champion
    that could not be loaded (the previous version keeps serving)."""
    versions, failed = await anyio.to_thread.run_sync(access.context.models.refresh_checked)
    if failed:
        failing = "; ".join(f"{p}: {why}" for p, why in failed.items())
        return JSONResponse(
            {"detail": f"champion not loaded: {failing}", "models": versions}, status_code=503
        )
    return JSONResponse({"models": versions})

"""Routing for the Mina sidor portal: the channel and life situations, nothing else."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api import scoring
from api.deps import Access, require
from api.responses import JSONBytes
from api.routers.subjects import ID_PARAMS, active_model, lookup_record
from api.schemas import RoutingResponse, error_responses
from segmentation.taxonomy import channel_for

router = APIRouter(
    prefix="/v1/routing", tags=["routing"], responses=error_responses(401, 403, 404, 422, 503)
)
routing_access = require(
    "portal", action="routing.lookup", person=True, subject=ID_PARAMS["citizens"]
)


@router.get("/{customer_id}", response_model=RoutingResponse, openapi_extra=routing_access.openapi)
async def route_customer(access: Annotated[Access, Depends(routing_access)]) -> Response:
    """Which channel to route a customer to, and the life situations to show first."""
    context, customer_id = access.context, access.subject
    model = active_model(context, "citizens")
    await access.record(customer_id)
    record = await lookup_record(context, "citizens", customer_id, with_history=False)
    row, override = record.current, record.override
    category = override["category"] if override else row["category"]
    return JSONBytes(
        {
            "channel": channel_for("citizens", category),
            "life_situations": scoring.tags(scoring.stored_row(row["inputs"]), model),
            "model_version": row["model_version"],
        }
    )

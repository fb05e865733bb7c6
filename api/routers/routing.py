"""Routing for the Mina sidor portal: the channel and life situations, nothing else."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api import scoring
from api.deps import Access, require
from api.routers.subjects import active_model, customer_id_param, lookup_record, stored_inputs
from api.schemas import RoutingResponse, error_responses
from segmentation.taxonomy import channel_for

router = APIRouter(
    prefix="/v1/routing", tags=["routing"], responses=error_responses(401, 403, 404, 422, 503)
)
routing_access = require("portal", action="routing.lookup", person=True)


@router.get("/{customer_id}", response_model=RoutingResponse)
async def route_customer(
    customer_id: Annotated[str, Depends(customer_id_param)],
    access: Annotated[Access, Depends(routing_access)],
) -> RoutingResponse:
    """Which channel to route a customer to, and the life situations to show first."""
    context = access.context
    model = active_model(context, "citizens")
    await access.record(customer_id)
    row, override = await lookup_record(context, "citizens", customer_id)
    category = override["category"] if override else row["category"]
    return RoutingResponse(
        channel=channel_for("citizens", category),
        life_situations=scoring.tags(stored_inputs(row), model),
        model_version=row["model_version"],
    )

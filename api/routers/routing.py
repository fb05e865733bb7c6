"""Routing for the Mina sidor portal: the channel and life situations, nothing else.

The portal may ask only about the citizen signed in to Mina sidor: its token names that
citizen (claim ``cid``; `segmentation token --role portal --citizen ID`), and any other id
is refused. A citizen the store does not know gets the default channel, so an answer never
tells whether someone is a customer. Each citizen has a budget of answers a minute.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status

from api import scoring
from api.deps import Access, require
from api.ratelimit import WindowLimiter
from api.responses import JSONBytes
from api.routers.subjects import ID_PARAMS, active_model, stored_channel
from api.schemas import RoutingResponse, error_responses

router = APIRouter(
    prefix="/v1/routing", tags=["routing"], responses=error_responses(401, 403, 422, 429, 503)
)
routing_access = require(
    "portal", action="routing.lookup", person=True, subject=ID_PARAMS["citizens"]
)


@router.get("/{customer_id}", response_model=RoutingResponse, openapi_extra=routing_access.openapi)
async def route_customer(access: Annotated[Access, Depends(routing_access)]) -> Response:
    """Which channel to route the signed-in citizen to, and the life situations to show
    first. A citizen without a stored category gets the default channel and no tags."""
    context, customer_id = access.context, access.subject
    if access.principal.citizen != customer_id:
        await access.record(customer_id, "refused")
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "a portal token routes only the citizen it names (claim cid)",
        )
    limiter: WindowLimiter = context.routing_limiter
    if (wait := limiter.allow(customer_id)) is not None:
        await access.record(customer_id, "refused")
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"at most {limiter.limit} routing answers a minute for one citizen",
            headers={"Retry-After": str(int(wait))},
        )
    model = active_model(context, "citizens")
    await access.record(customer_id)
    record = await context.db(context.store.lookup, "citizens", customer_id, with_history=False)
    if record is None:
        return JSONBytes(
            {
                "channel": context.settings.routing_default_channel,
                "life_situations": [],
                "model_version": model.version,
            }
        )
    channel, _ = stored_channel("citizens", record.current, record.override)
    return JSONBytes(
        {
            "channel": channel,
            "life_situations": scoring.tags(scoring.stored_row(record.current["inputs"]), model),
            "model_version": record.current["model_version"],
        }
    )

"""Citizens and employers: lookup, scoring and overrides (case handlers)."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Response, status

from api import scoring
from api.deps import Access, AppContext, IdParam, require
from api.responses import JSONBytes
from api.schemas import (
    CitizenScoreRequest,
    EmployerScoreRequest,
    LookupResponse,
    OverrideResponse,
    ReviewResponse,
    ScoreResponse,
    error_responses,
    override_request,
    review_request,
)
from api.state import ActiveModel
from data_contracts.identifiers import organisation_number_problem, personal_number_problem
from segmentation.store import SubjectRecord
from segmentation.taxonomy import Population, category_names, channel_for

#: The person's id in the path, per population: checked by the route's guard after the
#: caller is authorised (``api.deps.RoleGuard``), and documented by it.
ID_PARAMS: dict[Population, IdParam] = {
    "citizens": IdParam(
        "customer_id", "Personal identity number, 12 digits", 12, personal_number_problem
    ),
    "employers": IdParam(
        "org_number", "Organisation number, 10 digits", 10, organisation_number_problem
    ),
}


def not_found(population: Population) -> str:
    return f"no stored segment for this {population[:-1]}"


def active_model(context: AppContext, population: Population) -> ActiveModel:
    model = context.models.get(population)
    if model is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"no {population} model loaded")
    return model


async def lookup_record(
    context: AppContext, population: Population, subject: str, *, with_history: bool
) -> SubjectRecord:
    """The stored row, override and (optionally) history of one customer; 404 if unknown."""
    record = await context.db(context.store.lookup, population, subject, with_history=with_history)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, not_found(population))
    return record


def build_router(population: Population) -> APIRouter:
    id_param = ID_PARAMS[population]
    id_name = id_param.name
    request_model = CitizenScoreRequest if population == "citizens" else EmployerScoreRequest
    override_model = override_request(
        category_names(population), f"{population.capitalize()[:-1]}OverrideRequest"
    )
    router = APIRouter(
        prefix=f"/v1/{population}",
        tags=[population],
        responses=error_responses(401, 403, 422, 503),
    )
    lookup_access = require(
        "case_handler", action=f"{population}.lookup", person=True, subject=id_param
    )
    score_access = require(
        "case_handler", action=f"{population}.score", person=True, body_id=id_param
    )
    override_access = require(
        "case_handler", action=f"{population}.override", person=True, subject=id_param
    )
    review_model = review_request(
        category_names(population), f"{population.capitalize()[:-1]}ReviewRequest"
    )
    review_access = require(
        "case_handler", action=f"{population}.review", person=True, subject=id_param
    )

    @router.post(
        "/score",
        response_model=ScoreResponse,
        responses=error_responses(400, 413),
        openapi_extra=score_access.openapi,
    )
    async def score_row(
        access: Annotated[Access, Depends(score_access)],
        body: Annotated[request_model, Body()],  # type: ignore[valid-type]
    ) -> Response:
        """Score one posted contract row."""
        context = access.context
        model = active_model(context, population)
        await access.record(getattr(body, id_name))
        raw = scoring.raw_row(body.model_dump(), model)  # type: ignore[attr-defined]
        scored = scoring.score(raw, model)
        category = model.categories[scored.category_index]
        context.metrics.answer(population, category)
        return JSONBytes(
            {
                "category": category,
                "channel": model.channels[scored.category_index],
                "probabilities": scoring.probabilities_by_name(model, scored),
                "explanation": scoring.explanation(model, scored, scored.category_index),
                "life_situations": scoring.tags(raw, model),
                "model_version": model.version,
            }
        )

    @router.get(
        f"/{{{id_name}}}",
        response_model=LookupResponse,
        responses=error_responses(404),
        openapi_extra=lookup_access.openapi,
    )
    async def lookup(access: Annotated[Access, Depends(lookup_access)]) -> Response:
        """The stored category with explanation and history."""
        context, subject = access.context, access.subject
        champion = active_model(context, population)
        await access.record(subject)
        record = await lookup_record(context, population, subject, with_history=True)
        row, override = record.current, record.override
        # Explained by the version that produced the stored category (the champion unless
        # the alias moved since the batch run); the champion only if that one is gone, and
        # then the answer names both.
        model = champion
        if row["model_version"] != champion.version:
            model = await context.models.for_version(population, row["model_version"]) or champion
        raw = scoring.stored_row(row["inputs"])
        scored = scoring.score(raw, model)
        category = override["category"] if override else row["category"]
        chosen = model.categories.index(category)
        context.metrics.answer(population, category)
        return JSONBytes(
            {
                "category": category,
                "channel": channel_for(population, category),
                "source": "override" if override else "model",
                "model_category": row["category"],
                "scored_at": row["scored_at"],
                "model_version": row["model_version"],
                "explained_by_model_version": model.version,
                "override": override,
                "probabilities": scoring.probabilities_by_name(model, scored),
                "explanation": scoring.explanation(model, scored, chosen),
                "life_situations": scoring.tags(raw, model),
                "history": record.history,
            }
        )

    @router.put(
        f"/{{{id_name}}}/override",
        response_model=OverrideResponse,
        responses=error_responses(400, 404, 413),
        openapi_extra=override_access.openapi,
    )
    async def put_override(
        access: Annotated[Access, Depends(override_access)],
        body: Annotated[override_model, Body()],  # type: ignore[valid-type]
    ) -> OverrideResponse:
        """Set a case handler's category; it wins over the model until it expires or is removed."""
        context, subject = access.context, access.subject
        await access.record(subject)
        row = (await lookup_record(context, population, subject, with_history=False)).current
        values = body.model_dump()  # type: ignore[attr-defined]
        stored = await context.db(
            context.store.set_override,
            population,
            subject,
            category=values["category"],
            reason=values["reason"],
            actor=access.principal.actor,
            expires_at=values["expires_at"],
        )
        return OverrideResponse(
            category=stored["category"],
            reason=stored["reason"],
            actor=stored["actor"],
            created_at=stored["created_at"],
            expires_at=stored["expires_at"],
            model_version=row["model_version"],
        )

    @router.delete(
        f"/{{{id_name}}}/override",
        status_code=204,
        responses=error_responses(404),
        openapi_extra=override_access.openapi,
    )
    async def delete_override(access: Annotated[Access, Depends(override_access)]) -> Response:
        """Remove an override; the model's category applies again (kept in the history)."""
        context, subject = access.context, access.subject
        await access.record(subject)
        removed = await context.db(
            context.store.remove_override,
            population,
            subject,
            actor=access.principal.actor,
            reason="removed by case handler",
        )
        if not removed:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no override to remove")
        return Response(status_code=204)

    @router.post(
        f"/{{{id_name}}}/reviews",
        response_model=ReviewResponse,
        status_code=201,
        responses=error_responses(400, 404, 413),
        openapi_extra=review_access.openapi,
    )
    async def post_review(
        access: Annotated[Access, Depends(review_access)],
        body: Annotated[review_model, Body()],  # type: ignore[valid-type]
    ) -> ReviewResponse:
        """Record a case handler's judgement of the customer's category; training learns from
        it (`segmentation review export`, then `train --reviews`)."""
        context, subject = access.context, access.subject
        await access.record(subject)
        row = (await lookup_record(context, population, subject, with_history=False)).current
        values = body.model_dump()  # type: ignore[attr-defined]
        stored = await context.db(
            context.store.add_review,
            population,
            subject,
            category=values["category"],
            reviewer=access.principal.actor,
            note=values["note"],
        )
        return ReviewResponse(
            category=stored["category"],
            reviewer=stored["reviewer"],
            reviewed_at=stored["reviewed_at"],
            note=stored["note"],
            model_category=row["category"],
            model_version=row["model_version"],
        )

    return router

"""Citizens and employers: lookup, scoring, overrides and reviews (case handlers), one
function per route."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Response, status

from api import scoring
from api.deps import Access, AppContext, IdParam, RoleGuard, require
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
from data_contracts.identifiers import (
    ORGANISATION_NUMBER_DIGITS,
    PERSONAL_NUMBER_DIGITS,
    organisation_number_problem,
    personal_number_problem,
)
from segmentation.store import SubjectRecord
from segmentation.taxonomy import BORDERLINE_MARGIN, Population, category_names, channel_for

#: The person's id in the path, per population: checked by the route's guard after the
#: caller is authorised (``api.deps.RoleGuard``), and documented by it.
ID_PARAMS: dict[Population, IdParam] = {
    "citizens": IdParam(
        "customer_id",
        f"Personal identity number, {PERSONAL_NUMBER_DIGITS} digits",
        PERSONAL_NUMBER_DIGITS,
        personal_number_problem,
    ),
    "employers": IdParam(
        "org_number",
        f"Organisation number, {ORGANISATION_NUMBER_DIGITS} digits",
        ORGANISATION_NUMBER_DIGITS,
        organisation_number_problem,
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


def _case_handler(population: Population, action: str, **where: IdParam) -> RoleGuard:
    """The guard of a case handler's route about one person of ``population``."""
    return require("case_handler", action=f"{population}.{action}", person=True, **where)


def _singular(population: Population) -> str:
    return population.capitalize()[:-1]


async def _write_about(
    access: Access,
    population: Population,
    write: Callable[..., dict[str, Any]],
    *,
    from_row: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    **values: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shape of every write about a stored person (override, review): audit the access,
    find the stored row (404 if unknown), then write (with ``from_row``'s values of the
    row). Returns the row and what was stored."""
    context, subject = access.context, access.subject
    await access.record(subject)
    row = (await lookup_record(context, population, subject, with_history=False)).current
    extra = from_row(row) if from_row is not None else {}
    stored = await context.db(write, population, subject, **values, **extra)
    return row, stored


def add_score(router: APIRouter, population: Population) -> None:
    """``POST /score``: score one posted contract row."""
    id_param = ID_PARAMS[population]
    access_guard = _case_handler(population, "score", body_id=id_param)
    request_model = CitizenScoreRequest if population == "citizens" else EmployerScoreRequest

    @router.post(
        "/score",
        response_model=ScoreResponse,
        responses=error_responses(400, 413),
        openapi_extra=access_guard.openapi,
    )
    async def score_row(
        access: Annotated[Access, Depends(access_guard)],
        body: Annotated[request_model, Body()],  # type: ignore[valid-type]
    ) -> Response:
        """Score one posted contract row."""
        context = access.context
        model = active_model(context, population)
        await access.record(getattr(body, id_param.name))
        raw = scoring.raw_row(body.model_dump(), model)  # type: ignore[attr-defined]
        scored = scoring.score(raw, model)
        category = model.categories[scored.category_index]
        channel, note = scoring.suggested_channel(model, scored)
        context.metrics.answer(population, category)
        return JSONBytes(
            {
                "category": category,
                "channel": channel,
                "channel_note": note,
                "probabilities": scoring.probabilities_by_name(model, scored),
                "explanation": scoring.explanation(model, scored, scored.category_index),
                "life_situations": scoring.tags(raw, model),
                "model_version": model.version,
            }
        )


def add_lookup(router: APIRouter, population: Population) -> None:
    """``GET /{id}``: the stored category with explanation and history."""
    access_guard = _case_handler(population, "lookup", subject=ID_PARAMS[population])

    @router.get(
        f"/{{{ID_PARAMS[population].name}}}",
        response_model=LookupResponse,
        responses=error_responses(404),
        openapi_extra=access_guard.openapi,
    )
    async def lookup(access: Annotated[Access, Depends(access_guard)]) -> Response:
        """The stored category with explanation and history."""
        context, subject = access.context, access.subject
        active_model(context, population)
        await access.record(subject)
        return JSONBytes(await lookup_payload(context, population, subject))


async def lookup_payload(
    context: AppContext, population: Population, subject: str
) -> dict[str, Any]:
    """What a case handler sees of one customer (the API's lookup and the customer card):
    the stored category or override, the channel, why, life situations and history. The
    caller has audited the access; 404 if the customer is in no period."""
    champion = active_model(context, population)
    record = await lookup_record(context, population, subject, with_history=True)
    row, override = record.current, record.override
    # Explained by the version that produced the stored category (the champion unless the
    # alias moved since the batch run); the champion only if that one is gone, and then
    # the answer names both.
    model = champion
    if row["model_version"] != champion.version:
        model = await context.models.for_version(population, row["model_version"]) or champion
    raw = scoring.stored_row(row["inputs"])
    scored = scoring.score(raw, model)
    category = override["category"] if override else row["category"]
    chosen = model.categories.index(category)
    channel, note = stored_channel(population, row, override)
    context.metrics.answer(population, category)
    return {
        "category": category,
        "channel": channel,
        "channel_note": note,
        "source": "override" if override else "model",
        "model_category": row["category"],
        "scored_at": row["scored_at"],
        "period_end": row["period_end"],
        "model_version": row["model_version"],
        "explained_by_model_version": model.version,
        "override": override,
        "probabilities": scoring.probabilities_by_name(model, scored),
        "explanation": scoring.explanation(model, scored, chosen),
        "life_situations": scoring.tags(raw, model),
        "history": record.history,
    }


def add_override(router: APIRouter, population: Population) -> None:
    """``PUT`` and ``DELETE /{id}/override``: a case handler's category, and its removal."""
    access_guard = _case_handler(population, "override", subject=ID_PARAMS[population])
    body_model = override_request(
        category_names(population), f"{_singular(population)}OverrideRequest"
    )
    path = f"/{{{ID_PARAMS[population].name}}}/override"

    @router.put(
        path,
        response_model=OverrideResponse,
        responses=error_responses(400, 404, 413),
        openapi_extra=access_guard.openapi,
    )
    async def put_override(
        access: Annotated[Access, Depends(access_guard)],
        body: Annotated[body_model, Body()],  # type: ignore[valid-type]
    ) -> OverrideResponse:
        """Set a case handler's category; it wins over the model until it expires or is removed.
        With its reason it is also the case handler's judgement of the customer: exported as a
        review for training, and for a customer waiting in a review sample it answers the
        sample (made otherwise than the model in the spread part, another case handler is
        asked for a second opinion on Granskning)."""
        values = body.model_dump()  # type: ignore[attr-defined]
        row, stored = await _write_about(
            access,
            population,
            access.context.store.set_override,
            from_row=lambda row: {"model_category": row["category"]},
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
        path,
        status_code=204,
        responses=error_responses(404),
        openapi_extra=access_guard.openapi,
    )
    async def delete_override(access: Annotated[Access, Depends(access_guard)]) -> Response:
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


def add_review(router: APIRouter, population: Population) -> None:
    """``POST /{id}/reviews``: a case handler's judgement of the customer's category."""
    access_guard = _case_handler(population, "review", subject=ID_PARAMS[population])
    body_model = review_request(category_names(population), f"{_singular(population)}ReviewRequest")

    @router.post(
        f"/{{{ID_PARAMS[population].name}}}/reviews",
        response_model=ReviewResponse,
        status_code=201,
        responses=error_responses(400, 404, 413),
        openapi_extra=access_guard.openapi,
    )
    async def post_review(
        access: Annotated[Access, Depends(access_guard)],
        body: Annotated[body_model, Body()],  # type: ignore[valid-type]
    ) -> ReviewResponse:
        """Record a case handler's judgement of the customer's category; training learns from
        it (`segmentation review export`, then `train --reviews`). A customer of a review
        sample's spread part judged otherwise than the model is offered to another case
        handler on the review page (a second opinion)."""
        values = body.model_dump()  # type: ignore[attr-defined]
        row, stored = await _write_about(
            access,
            population,
            access.context.store.add_review,
            from_row=lambda row: {"model_category": row["category"]},
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


def stored_channel(
    population: Population, row: dict[str, Any], override: dict[str, Any] | None
) -> tuple[str, str | None]:
    """The channel of a stored customer: an override's category's; else the batch's
    suggestion (more supportive than the category's for a borderline customer), and why."""
    if override:
        return channel_for(population, override["category"]), None
    own = channel_for(population, row["category"])
    if row["channel"] == own:
        return own, None
    return row["channel"], (
        f"borderline: the model was unsure between {row['category']} and a more supportive "
        f"category (within {BORDERLINE_MARGIN:.2f}), so the more supportive channel is suggested"
    )


def build_router(population: Population) -> APIRouter:
    """The case handler's routes for one population (score first: ``/score`` must not be
    taken for an id)."""
    router = APIRouter(
        prefix=f"/v1/{population}",
        tags=[population],
        responses=error_responses(401, 403, 422, 503),
    )
    for add in (add_score, add_lookup, add_override, add_review):
        add(router, population)
    return router

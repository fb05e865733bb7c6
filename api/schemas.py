"""Request and response models. Requests forbid unknown fields and validate every field as
the data contract says; the models are built from the contract's column lists."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from data_contracts.identifiers import organisation_number_problem, personal_number_problem
from data_contracts.schemas import (
    BENEFIT_COLUMNS,
    CITIZEN_COUNT_COLUMNS,
    EMPLOYER_COUNT_COLUMNS,
    MAX_COUNT,
    MAX_MINUTES,
    MIN_BIRTH_YEAR,
    MONTHS_IN_PERIOD,
    REGION_CODES,
)

REGION_PATTERN = f"^({'|'.join(REGION_CODES)})$"


def _json_number(value: object) -> object:
    """Numbers must be JSON numbers: no "3" for 3, no true for 1. A whole float (3.0) is an
    integer in JSON Schema and is accepted; 3.5 for a count is not."""
    if isinstance(value, bool | str | bytes):
        raise ValueError("must be a JSON number")
    return value


Number = BeforeValidator(_json_number)
Count = Annotated[int, Number, Field(ge=0, le=MAX_COUNT)]
Months = Annotated[int, Number, Field(ge=0, le=MONTHS_IN_PERIOD)]
Minutes = Annotated[float, Number, Field(ge=0, le=MAX_MINUTES, allow_inf_nan=False)]
Region = Annotated[str, Field(pattern=REGION_PATTERN, description="county code 01-25")]

STRICT = ConfigDict(extra="forbid")


class _ContractRow(BaseModel):
    model_config = STRICT

    period_end: dt.date
    region: Region
    handling_minutes: Minutes


class _CitizenBase(_ContractRow):
    customer_id: Annotated[str | None, Field(description="personal identity number, 12 digits")] = (
        None
    )
    birth_year: Annotated[int, Number, Field(ge=MIN_BIRTH_YEAR, le=2100)]

    @field_validator("customer_id")
    @classmethod
    def _valid_id(cls, value: str | None) -> str | None:
        if value is not None and (problem := personal_number_problem(value)):
            raise ValueError(f"customer_id: {problem}")
        return value

    @model_validator(mode="after")
    def _born_before_period_end(self) -> _CitizenBase:
        if self.birth_year > self.period_end.year:
            raise ValueError("birth_year: after the year of period_end")
        return self


CitizenScoreRequest: type[_CitizenBase] = create_model(  # type: ignore[call-overload]
    "CitizenScoreRequest",
    __base__=_CitizenBase,
    __doc__="One `citizens.parquet` row (customer_id optional).",
    **{name: (Count, ...) for name in CITIZEN_COUNT_COLUMNS},
    **{name: (Months, ...) for name in BENEFIT_COLUMNS},
)


class _EmployerBase(_ContractRow):
    org_number: Annotated[str | None, Field(description="organisation number, 10 digits")] = None
    payroll_integration: Annotated[bool, Field(strict=True)]

    @field_validator("org_number")
    @classmethod
    def _valid_id(cls, value: str | None) -> str | None:
        if value is not None and (problem := organisation_number_problem(value)):
            raise ValueError(f"org_number: {problem}")
        return value


EmployerScoreRequest: type[_EmployerBase] = create_model(  # type: ignore[call-overload]
    "EmployerScoreRequest",
    __base__=_EmployerBase,
    __doc__="One `employers.parquet` row (org_number optional).",
    **{name: (Count, ...) for name in EMPLOYER_COUNT_COLUMNS},
)


class ExplanationItem(BaseModel):
    feature: str
    description: str
    value: float
    typical_for_category: float
    typical_for_runner_up: float
    runner_up: str
    text: str


class ScoreResponse(BaseModel):
    category: str
    channel: str
    #: Set when the channel is not the category's own: a borderline customer is suggested
    #: the more supportive channel (issue 9).
    channel_note: str | None = None
    probabilities: dict[str, float]
    explanation: list[ExplanationItem]
    life_situations: list[str]
    model_version: str


class HistoryEntry(BaseModel):
    category: str
    source: Literal["model", "override", "override_removed"]
    model_version: str | None
    #: The reference period of a model entry (one per period the customer was scored in).
    period_end: dt.date | None = None
    at: dt.datetime
    until: dt.datetime | None = None
    actor: str | None = None
    reason: str | None = None


class OverrideInfo(BaseModel):
    category: str
    reason: str
    actor: str
    created_at: dt.datetime
    expires_at: dt.datetime | None


class LookupResponse(BaseModel):
    category: str
    channel: str
    channel_note: str | None = None
    source: Literal["model", "override"]
    model_category: str
    scored_at: dt.datetime
    #: The latest reference period the customer was scored in.
    period_end: dt.date
    model_version: str
    #: The version whose probabilities and explanation these are: ``model_version`` (the one
    #: that produced the stored category) unless that version can no longer be loaded.
    explained_by_model_version: str
    override: OverrideInfo | None
    probabilities: dict[str, float]
    explanation: list[ExplanationItem]
    life_situations: list[str]
    history: list[HistoryEntry]


class RoutingResponse(BaseModel):
    """Only what routing needs: never a category, explanation or history."""

    model_config = ConfigDict(extra="forbid")

    channel: str
    life_situations: list[str]
    model_version: str


def override_request(categories: list[str], name: str) -> type[BaseModel]:
    """The override body for a population's categories."""
    category_type: Any = Literal[tuple(categories)]  # type: ignore[valid-type]

    def _future(cls: Any, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("expires_at: give a time zone (e.g. 2026-12-31T00:00:00Z)")
        if value <= dt.datetime.now(dt.UTC):
            raise ValueError("expires_at: must be in the future")
        # The same instant in UTC: the store keeps UTC (an offset kept as if it were UTC
        # moved the expiry by the offset).
        return value.astimezone(dt.UTC)

    def _not_blank(cls: Any, value: str) -> str:
        stripped = value.strip()
        if len(stripped) < 3:
            raise ValueError("reason: at least 3 characters that are not spaces")
        return stripped

    model: type[BaseModel] = create_model(
        name,
        __config__=ConfigDict(extra="forbid"),
        __validators__={
            "_future": field_validator("expires_at")(classmethod(_future)),  # type: ignore[dict-item]
            "_not_blank": field_validator("reason")(classmethod(_not_blank)),  # type: ignore[dict-item]
        },
        category=(category_type, ...),
        reason=(Annotated[str, Field(min_length=3, max_length=500)], ...),
        expires_at=(dt.datetime | None, None),
    )
    return model


def review_request(categories: list[str], name: str) -> type[BaseModel]:
    """A case handler's judgement of a customer's category (issue 8's review loop)."""
    category_type: Any = Literal[tuple(categories)]  # type: ignore[valid-type]
    model: type[BaseModel] = create_model(
        name,
        __config__=ConfigDict(extra="forbid"),
        category=(category_type, ...),
        note=(Annotated[str | None, Field(max_length=500)], None),
    )
    return model


class ReviewResponse(BaseModel):
    category: str
    reviewer: str
    reviewed_at: dt.datetime
    note: str | None
    model_category: str
    model_version: str


class OverrideResponse(BaseModel):
    category: str
    reason: str
    actor: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    model_version: str


class ErrorResponse(BaseModel):
    """Errors are ``{"detail": ...}``: a message, or a list naming each field and rule."""

    detail: str | list[dict[str, Any]]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error codes a route can answer with."""
    meaning = {
        400: "the body could not be read as JSON (send a JSON object)",
        401: "missing, malformed, forged or expired token",
        403: "the token's role may not use this route (routing: or it names another citizen)",
        404: "no stored segment for this id (or no scored period of that date)",
        413: "request body larger than 64 kB",
        422: "a field breaks the contract: the detail names it and the rule",
        429: "too many requests for this citizen: wait the seconds in Retry-After",
        503: "model, store or audit log unavailable",
    }
    return {code: {"model": ErrorResponse, "description": meaning[code]} for code in codes}

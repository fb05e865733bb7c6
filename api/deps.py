"""Dependencies: the app context, authentication, roles and the audit record."""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBearer

from api.audit import AuditWriter
from api.metrics import Metrics
from api.security import DEFAULT_PURPOSE, AuthError, Principal, Role, TokenVerifier
from api.state import ModelHolder
from segmentation.capacity import SegmentLoad
from segmentation.settings import Settings
from segmentation.store import SegmentStore

log = logging.getLogger(__name__)
T = TypeVar("T")

PURPOSE_PATTERN = re.compile(r"^[\w .:/-]{1,200}$")


@dataclass
class AppContext:
    settings: Settings
    store: SegmentStore
    models: ModelHolder
    metrics: Metrics
    tokens: TokenVerifier
    auditor: AuditWriter
    #: (monotonic time, loads) of the last capacity read; see api/routers/capacity.py.
    capacity_cache: tuple[float, list[SegmentLoad]] | None = None

    async def db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call: inline for SQLite (microseconds), in a thread for a server."""
        if self.store.is_sqlite:
            return function(*args, **kwargs)
        return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs))


async def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


@dataclass
class Access:
    """An authenticated, authorised caller; ``record`` writes the allowed-access audit entry."""

    principal: Principal
    purpose: str
    action: str
    context: AppContext
    #: The person's id from the path, validated (person-level routes with an id only).
    subject: str = ""

    async def record(self, subject: str | None) -> None:
        await _audit(self.context, self.principal, self.action, subject, self.purpose, "allowed")


async def _audit(
    context: AppContext,
    principal: Principal | None,
    action: str,
    subject: str | None,
    purpose: str,
    outcome: str,
) -> None:
    try:
        await context.auditor.record(
            actor=principal.actor if principal else "anonymous",
            role=principal.role if principal else "none",
            action=action,
            subject=subject,
            purpose=purpose,
            outcome=outcome,
        )
    except Exception as error:
        # Nothing about a person is served unaudited.
        log.error("audit record could not be written (%s); request refused", type(error).__name__)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "audit log unavailable; request refused"
        ) from error


IdCheck = Callable[[str], str | None]
PURPOSE_RULE = "1-200 characters of UTF-8 text: letters (å, ä, ö too), digits, space and . : / - _"


@dataclass(frozen=True)
class IdParam:
    """The person's id in a route's path: its name, how it is documented, its check."""

    name: str
    description: str
    length: int
    check: IdCheck


class RoleGuard(HTTPBearer):
    """The one dependency of a protected route: bearer token, role, purpose (`X-Purpose`)
    and, on a person-level route, the id in the path, checked after the caller is known;
    every refusal of a person-level route is audited.

    It is FastAPI's bearer scheme itself (so the OpenAPI document shows the security
    requirement) and it reads the request directly rather than through declared
    parameters: FastAPI re-inspects each declared parameter's type on every request, and a
    lookup with five dependencies and two parameters spent more time there than on its own
    work. The parameters are documented through ``openapi`` (pass it as the route's
    ``openapi_extra``).
    """

    def __init__(
        self, roles: tuple[Role, ...], *, action: str, person: bool, subject: IdParam | None
    ) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="HTTPBearer",
            description="A token from `segmentation token --role ROLE`",
        )
        self.roles = roles
        self.action = action
        self.person = person
        self.subject = subject

    @property
    def openapi(self) -> dict[str, Any]:
        """The route's parameters for the OpenAPI document."""
        parameters: list[dict[str, Any]] = []
        if self.subject is not None:
            parameters.append(
                {
                    "name": self.subject.name,
                    "in": "path",
                    "required": True,
                    "description": self.subject.description,
                    "schema": {"type": "string", "maxLength": self.subject.length},
                }
            )
        parameters.append(
            {
                "name": "x-purpose",
                "in": "header",
                "required": False,
                "description": "Why the data is read; defaults to the role's purpose. "
                + PURPOSE_RULE,
                "schema": {"type": "string", "pattern": PURPOSE_PATTERN.pattern},
            }
        )
        return {"parameters": parameters}

    async def __call__(self, request: Request) -> Access:  # type: ignore[override]
        context: AppContext = request.app.state.context
        action, person = self.action, self.person
        subject = _path_subject(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            if person:
                await _audit(context, None, action, subject, "unknown", "refused")
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = context.tokens.verify(token.strip())
        except AuthError as error:
            if person:
                await _audit(context, None, action, subject, "unknown", "refused")
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                f"invalid token: {error}",
                headers={"WWW-Authenticate": "Bearer"},
            ) from error
        x_purpose = request.headers.get("x-purpose")
        purpose = DEFAULT_PURPOSE[principal.role] if x_purpose is None else _utf8(x_purpose)
        if principal.role not in self.roles:
            if person:
                await _audit(context, principal, action, subject, _safe(purpose), "refused")
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role} may not {action}; allowed: {', '.join(self.roles)}",
            )
        if not PURPOSE_PATTERN.match(purpose):
            if person:  # an attempt on a person, refused: audited like any other
                await _audit(context, principal, action, subject, "invalid", "refused")
            raise _invalid("header", "x-purpose", PURPOSE_RULE)
        value = ""
        if self.subject is not None:
            name, length = self.subject.name, self.subject.length
            value = request.path_params[name]
            if len(value) > length:
                raise _invalid("path", name, f"at most {length} characters")
            if problem := self.subject.check(value):
                raise _invalid("path", name, problem)
        return Access(principal, purpose, action, context, value)


def require(*roles: Role, action: str, person: bool, subject: IdParam | None = None) -> RoleGuard:
    """A dependency that admits ``roles`` only; refusals of person-level routes are audited.
    ``subject`` is the person's id in the path, validated after the caller is authorised."""
    return RoleGuard(roles, action=action, person=person, subject=subject)


def _invalid(where: str, name: str, message: str) -> HTTPException:
    return HTTPException(422, [{"loc": [where, name], "msg": message, "type": "value_error"}])


SUBJECT_PARAMS = ("customer_id", "org_number")


def _path_subject(request: Request) -> str | None:
    for key in SUBJECT_PARAMS:
        value = request.path_params.get(key)
        if value is not None:
            return str(value)[:32]
    return None


def _utf8(header: str) -> str:
    """A header value read as UTF-8, the one charset of ``X-Purpose`` (the server hands
    header bytes over as Latin-1, so "ärende" in UTF-8 arrived as "Ã¤rende" and was refused,
    while Latin-1 bytes passed). Bytes that are not UTF-8 give "" (refused)."""
    try:
        return header.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return ""


def _safe(purpose: str) -> str:
    return purpose if PURPOSE_PATTERN.match(purpose) else "invalid"

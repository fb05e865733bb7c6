"""Dependencies: the app context, authentication, roles and the audit record."""

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import anyio
import orjson
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBearer

from api.audit import AuditWriter
from api.metrics import Metrics
from api.ratelimit import WindowLimiter
from api.state import ModelHolder
from segmentation.capacity import SegmentLoad
from segmentation.security import DEFAULT_PURPOSE, AuthError, Principal, Role, TokenVerifier
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
    #: Routing answers per signed-in citizen and minute (see api/routers/routing.py).
    routing_limiter: WindowLimiter
    #: Transition reports per pair of period tables, and the work list's risk threshold per
    #: period table (a period scored again is a new table): see api/routers/periods.py.
    transitions_cache: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    warning_thresholds: dict[str, float] = field(default_factory=dict)
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


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for its audit records: the request's id (sent back in
    ``X-Request-ID``; see ``api.responses.PrivateResponses``) and the client's address."""

    request_id: str
    client: str | None

    @classmethod
    def of(cls, request: Request) -> "Origin":
        state = request.scope.get("state") or {}
        request_id = state.get("request_id") or uuid.uuid4().hex
        client = request.client.host[:64] if request.client else None
        return cls(request_id, client)


@dataclass
class Access:
    """An authenticated, authorised caller; ``record`` writes the access's audit entry."""

    principal: Principal
    purpose: str
    action: str
    context: AppContext
    origin: Origin
    #: The person's id from the path, validated (person-level routes with an id only).
    subject: str = ""
    #: The person's id in the body (score routes), how it is named and checked.
    body_id: "IdParam | None" = None

    async def refused_body(self, body: Any) -> None:
        """Audit this access as refused because its body broke the contract."""
        subject = self.subject or None
        if subject is None and self.body_id is not None:
            subject = audit_subject_in(body, self.body_id)
        await self.record(subject, "refused")

    async def record(self, subject: str | None, outcome: str = "allowed") -> None:
        await _audit(
            self.context, self.principal, self.action, subject, self.purpose, outcome, self.origin
        )


async def _audit(
    context: AppContext,
    principal: Principal | None,
    action: str,
    subject: str | None,
    purpose: str,
    outcome: str,
    origin: Origin,
) -> None:
    try:
        await context.auditor.record(
            actor=principal.actor if principal else "anonymous",
            role=principal.role if principal else "none",
            action=action,
            subject=subject,
            purpose=purpose,
            outcome=outcome,
            request_id=origin.request_id,
            client=origin.client,
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
        self,
        roles: tuple[Role, ...],
        *,
        action: str,
        person: bool,
        subject: IdParam | None,
        body_id: IdParam | None = None,
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
        self.body_id = body_id

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
        origin = Origin.of(request)
        raw = request.path_params.get(self.subject.name) if self.subject else None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            if person:
                subject = await self._refused_subject(request, raw)
                await _audit(context, None, action, subject, "unknown", "refused", origin)
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = context.tokens.verify(token.strip())
        except AuthError as error:
            if person:
                subject = await self._refused_subject(request, raw)
                await _audit(context, None, action, subject, "unknown", "refused", origin)
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                f"invalid token: {error}",
                headers={"WWW-Authenticate": "Bearer"},
            ) from error
        x_purpose = request.headers.get("x-purpose")
        purpose = DEFAULT_PURPOSE[principal.role] if x_purpose is None else _utf8(x_purpose)
        access = Access(principal, _safe(purpose), action, context, origin, body_id=self.body_id)
        if principal.role not in self.roles:
            if person:
                await access.record(await self._refused_subject(request, raw), "refused")
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role} may not {action}; allowed: {', '.join(self.roles)}",
            )
        if not PURPOSE_PATTERN.match(purpose):
            if person:  # an attempt on a person, refused: audited like any other
                await access.record(await self._refused_subject(request, raw), "refused")
            raise _invalid("header", "x-purpose", PURPOSE_RULE)
        if self.subject is not None and raw is not None:
            name, length = self.subject.name, self.subject.length
            problem = f"at most {length} characters" if len(raw) > length else None
            if problem := problem or self.subject.check(raw):
                await access.record(audit_subject(raw, self.subject), "refused")
                raise _invalid("path", name, problem)
            access.subject = raw
        if request.method in ("POST", "PUT"):  # a refused body is audited with this access
            request.state.access = access
        return access

    async def _refused_subject(self, request: Request, raw: str | None) -> str | None:
        """The subject of a refused attempt: the path's id, else the body's, as audited."""
        if raw is not None and self.subject is not None:
            return audit_subject(raw, self.subject)
        if self.body_id is not None:
            return audit_subject_in(await _json_body(request), self.body_id)
        return None


def require(
    *roles: Role,
    action: str,
    person: bool,
    subject: IdParam | None = None,
    body_id: IdParam | None = None,
) -> RoleGuard:
    """A dependency that admits ``roles`` only; refusals of person-level routes are audited.
    ``subject`` is the person's id in the path, validated after the caller is authorised;
    ``body_id`` names the person's id in a posted body (recorded with a refusal)."""
    return RoleGuard(roles, action=action, person=person, subject=subject, body_id=body_id)


def _invalid(where: str, name: str, message: str) -> HTTPException:
    return HTTPException(422, [{"loc": [where, name], "msg": message, "type": "value_error"}])


def audit_subject(value: str, id_param: IdParam) -> str:
    """What the audit log records as the subject: a valid id as it is; anything else as
    ``invalid:`` and 16 hex digits of its SHA-256, never the raw value (a path or body can
    carry a newline and a forged record, terminal escapes or U+202E)."""
    if len(value) <= id_param.length and not id_param.check(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"invalid:{digest[:16]}"


def audit_subject_in(body: Any, id_param: IdParam) -> str | None:
    """The audit subject named by a posted body (a JSON object), if it names one."""
    if not isinstance(body, dict):
        return None
    value = body.get(id_param.name)
    if value is None:
        return None
    return audit_subject(value if isinstance(value, str) else repr(value), id_param)


async def _json_body(request: Request) -> Any:
    """The request's JSON body (read and kept by FastAPI before the guard runs), or None."""
    try:
        return orjson.loads(await request.body())
    except (orjson.JSONDecodeError, RuntimeError):
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

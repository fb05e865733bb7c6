"""Dependencies: the app context, authentication, roles and the audit record."""

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.metrics import Metrics
from api.security import DEFAULT_PURPOSE, AuthError, Principal, Role, decode_token
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
    jwt_secret: str
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
bearer = HTTPBearer(auto_error=False, description="A token from `segmentation token --role ROLE`")


@dataclass
class Access:
    """An authenticated, authorised caller; ``record`` writes the allowed-access audit entry."""

    principal: Principal
    purpose: str
    action: str
    context: AppContext

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
        await context.db(
            context.store.audit,
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


def require(*roles: Role, action: str, person: bool) -> Callable[..., Awaitable[Access]]:
    """A dependency that admits ``roles`` only; refusals of person-level routes are audited."""

    async def dependency(
        request: Request,
        context: ContextDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        x_purpose: Annotated[
            str | None,
            Header(description="Why the data is read; defaults to the role's purpose"),
        ] = None,
    ) -> Access:
        subject = _path_subject(request)
        principal: Principal | None = None
        if credentials is None or credentials.scheme.lower() != "bearer":
            if person:
                await _audit(context, None, action, subject, "unknown", "refused")
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = decode_token(
                credentials.credentials,
                secret=context.jwt_secret,
                algorithm=context.settings.jwt_algorithm,
            )
        except AuthError as error:
            if person:
                await _audit(context, None, action, subject, "unknown", "refused")
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                f"invalid token: {error}",
                headers={"WWW-Authenticate": "Bearer"},
            ) from error
        purpose = DEFAULT_PURPOSE[principal.role] if x_purpose is None else x_purpose
        if principal.role not in roles:
            if person:
                await _audit(context, principal, action, subject, _safe(purpose), "refused")
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role} may not {action}; allowed: {', '.join(roles)}",
            )
        if not PURPOSE_PATTERN.match(purpose):
            raise HTTPException(
                422,
                [
                    {
                        "loc": ["header", "x-purpose"],
                        "type": "value_error",
                        "msg": "1-200 characters: letters, digits, space and . : / - _",
                    }
                ],
            )
        return Access(principal=principal, purpose=purpose, action=action, context=context)

    return dependency


def _path_subject(request: Request) -> str | None:
    for key in ("customer_id", "org_number"):
        value = request.path_params.get(key)
        if value is not None:
            return str(value)[:32]
    return None


def _safe(purpose: str) -> str:
    return purpose if PURPOSE_PATTERN.match(purpose) else "invalid"

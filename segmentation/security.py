"""Bearer JWTs and roles: shared by the API (which verifies them) and the command line
(which mints them), neither importing the other."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Literal

import jwt

Role = Literal["case_handler", "portal", "planner", "operator"]
ROLES: tuple[Role, ...] = ("case_handler", "portal", "planner", "operator")
#: Roles of people (the portal is a system: it has a token, never an account).
WEB_ROLES: tuple[Role, ...] = ("case_handler", "planner", "operator")
ISSUER = "segmentation"

#: The purpose recorded in the audit log when a request sends no `X-Purpose`.
DEFAULT_PURPOSE: dict[str, str] = {
    "case_handler": "case_handling",
    "portal": "self_service_routing",
    "planner": "capacity_planning",
    "operator": "operations",
}


@dataclass(frozen=True)
class Principal:
    actor: str
    role: Role
    #: The token's expiry (seconds since the epoch).
    expires: float = float("inf")
    #: A portal token's signed-in citizen (claim ``cid``): the only one it may route.
    citizen: str | None = None


class AuthError(Exception):
    """The token is missing, malformed, forged or expired."""


def subject_problem(subject: str) -> str | None:
    """Why ``subject`` cannot name a caller (it is written to the audit log as it is)."""
    if not subject or len(subject) > MAX_SUBJECT:
        return f"1-{MAX_SUBJECT} characters"
    if not subject.isprintable():  # control, format (U+202E) and line-break characters
        return "printable characters only"
    return None


MAX_SUBJECT = 120


def mint_token(
    *,
    secret: str,
    algorithm: str,
    role: Role,
    subject: str,
    minutes: int,
    citizen: str | None = None,
) -> str:
    """A signed token for ``subject`` in ``role``, valid for ``minutes``; a portal token
    names the signed-in ``citizen`` it may route (nobody else)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if problem := subject_problem(subject):
        raise ValueError(f"subject: {problem}")
    if citizen is not None and role != "portal":
        raise ValueError("only a portal token names a citizen")
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "sub": subject,
        "role": role,
        "iss": ISSUER,
        "iat": now,
        "exp": now + dt.timedelta(minutes=minutes),
    }
    if citizen is not None:
        claims["cid"] = citizen
    return jwt.encode(claims, secret, algorithm=algorithm)


def decode_token(token: str, *, secret: str, algorithm: str) -> Principal:
    """The principal of a valid token; :class:`AuthError` otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[algorithm],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "role", "iss"]},
        )
    except jwt.PyJWTError as error:
        raise AuthError(str(error)) from error
    role = claims.get("role")
    subject = claims.get("sub")
    if role not in ROLES or not isinstance(subject, str) or subject_problem(subject):
        raise AuthError("token has no valid role or subject")
    citizen = claims.get("cid")
    if citizen is not None and (role != "portal" or not isinstance(citizen, str)):
        raise AuthError("token has an invalid citizen claim")
    return Principal(actor=subject, role=role, expires=float(claims["exp"]), citizen=citizen)


class TokenVerifier:
    """Verifies bearer tokens, remembering each verified token until it expires.

    A client sends the same token with every request; checking its signature and claims
    again each time costs about 25 µs. A remembered token is still refused the moment it
    expires. The memory is bounded (the oldest entries go first) and lives as long as the
    app, whose secret does not change while it runs.
    """

    def __init__(self, *, secret: str, algorithm: str, size: int = 4096) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self._size = size
        self._verified: dict[str, Principal] = {}

    def verify(self, token: str) -> Principal:
        principal = self._verified.get(token)
        if principal is not None:
            if time.time() < principal.expires:
                return principal
            del self._verified[token]
        principal = decode_token(token, secret=self._secret, algorithm=self._algorithm)
        if len(self._verified) >= self._size:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = principal
        return principal


#: People's passwords for the web pages: Argon2id (argon2-cffi's defaults).
PASSWORD_MIN_LENGTH = 12


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValueError(f"a password has at least {PASSWORD_MIN_LENGTH} characters")
    return PasswordHasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False

"""The web pages' session: a signed cookie (HttpOnly, SameSite=Strict, Secure outside
development) holding who signed in, their role, the form token (CSRF) and the purpose
given for reading personal data. It is signed anew on every page, and a cookie older than
the idle timeout is refused: the session ends after that long without a page."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass, replace

from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

COOKIE = "segmentering_session"


@dataclass(frozen=True)
class WebSession:
    user: str
    role: str
    csrf: str
    #: Why the person reads personal data this session (asked once, audited with each page).
    purpose: str | None = None

    def with_purpose(self, purpose: str) -> WebSession:
        return replace(self, purpose=purpose)

    def form_token_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf, token)


def new_session(user: str, role: str) -> WebSession:
    return WebSession(user=user, role=role, csrf=secrets.token_urlsafe(24))


class Sessions:
    """Reads and writes the session cookie."""

    def __init__(self, secret: str, *, idle_seconds: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="segmentation-web-session")
        self.idle_seconds = idle_seconds
        self.secure = secure

    def read(self, request: Request) -> tuple[WebSession | None, bool]:
        """The session, and whether a cookie was there but had expired."""
        value = request.cookies.get(COOKIE)
        if not value:
            return None, False
        try:
            data = self._serializer.loads(value, max_age=self.idle_seconds)
        except SignatureExpired:
            return None, True
        except BadSignature:
            return None, False
        try:
            return WebSession(**data), False
        except TypeError:
            return None, False

    def write(self, response: Response, session: WebSession) -> None:
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(asdict(session)),
            max_age=self.idle_seconds,
            httponly=True,
            samesite="strict",
            secure=self.secure,
            path="/",
        )

    def sign_value(self, value: dict[str, str]) -> str:
        return self._serializer.dumps(value, salt="segmentation-web-sso")

    def unsign_value(self, value: str | None, *, max_age: int) -> dict[str, str] | None:
        if not value:
            return None
        try:
            loaded = self._serializer.loads(value, max_age=max_age, salt="segmentation-web-sso")
        except BadSignature:
            return None
        return loaded if isinstance(loaded, dict) else None

    @staticmethod
    def clear(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")

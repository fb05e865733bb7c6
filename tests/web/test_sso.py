"""Single sign-on (OpenID Connect) against a local stand-in identity provider: the
authorization code flow in Chromium, the ID token checked, the role from a claim."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey
from playwright.sync_api import expect

from tests.conftest import make_settings
from tests.web.conftest import _free_port

pytestmark = pytest.mark.integration
CLIENT_ID, CLIENT_SECRET = "segmentering", "stand-in-secret"


class StandIn:
    """A minimal OpenID provider: it signs in whoever ``next_user`` names, with ``roles``."""

    def __init__(self, port: int) -> None:
        self.issuer = f"http://127.0.0.1:{port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.next_user: tuple[str, list[str]] = ("sara", ["case_handler"])
        self.app = FastAPI()
        app = self.app

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            query = request.query_params
            assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": query.get("nonce"), "user": self.next_user}
            target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            return RedirectResponse(target, 302)

        @app.post("/token")
        async def token(
            request: Request, code: str = Form(...), grant_type: str = Form(...)
        ) -> JSONResponse:
            issued = self.codes.pop(code, None)
            if issued is None or grant_type != "authorization_code":
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            user, roles = issued["user"]
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "aud": CLIENT_ID,
                "sub": f"id-{user}",
                "preferred_username": user,
                "roles": roles,
                "nonce": issued["nonce"],
                "iat": now,
                "exp": now + 300,
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
            return JSONResponse(
                {"access_token": "at", "token_type": "Bearer", "id_token": id_token}
            )


def _serve(app: Any, port: int) -> Any:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    return server, thread


@pytest.fixture(scope="module")
def sso_site(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from api.app import create_app

    provider = StandIn(_free_port())
    provider_server, provider_thread = _serve(provider.app, int(provider.issuer.rsplit(":", 1)[1]))
    store = tmp_path_factory.mktemp("sso-store") / "segments.db"
    settings = make_settings(
        trained_home,
        store_url=f"sqlite:///{store}",
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    port = _free_port()
    site_server, site_thread = _serve(create_app(settings), port)
    try:
        yield provider, f"http://127.0.0.1:{port}"
    finally:
        for server, thread in ((site_server, site_thread), (provider_server, provider_thread)):
            server.should_exit = True
            thread.join(timeout=10)


def test_signing_in_through_the_agencys_identity_provider(page: Any, sso_site: Any) -> None:
    provider, url = sso_site
    provider.next_user = ("sara", ["staff", "case_handler"])
    page.goto(f"{url}/logga-in")
    page.get_by_role("link", name="Logga in med organisationens konto").click()
    expect(page).to_have_url(re.compile(r"/kund$"))
    expect(page.locator("header")).to_contain_text("sara (handläggare)")


def test_a_person_without_a_role_of_the_pages_is_refused(page: Any, sso_site: Any) -> None:
    provider, url = sso_site
    provider.next_user = ("nils", ["staff"])
    page.goto(f"{url}/logga-in")
    page.get_by_role("link", name="Logga in med organisationens konto").click()
    expect(page.get_by_role("alert")).to_contain_text("ingen behörighet")
    page.goto(f"{url}/kund")
    expect(page).to_have_url(re.compile(r"/logga-in"))


def test_a_callback_with_a_forged_state_is_refused(page: Any, sso_site: Any) -> None:
    _, url = sso_site
    answer = page.goto(f"{url}/logga-in/sso/klar?code=abc&state=forged")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("alert")).to_contain_text("gick ut")

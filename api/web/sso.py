"""Single sign-on for the pages: OpenID Connect's authorization code flow with the agency's
identity provider (authlib for the OAuth 2 exchange, joserfc for the ID token). Configured by
settings (``SEGMENTATION_OIDC_*``); the role comes from a claim of the ID token."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from segmentation.security import WEB_ROLES, subject_problem
from segmentation.settings import Settings

DISCOVERY_SECONDS = 3600.0


class SsoError(Exception):
    """The provider's answer could not be trusted or names no role of the pages."""


@dataclass(frozen=True)
class Identity:
    user: str
    role: str


class OidcClient:
    """The agency's identity provider, read from its discovery document."""

    def __init__(self, settings: Settings) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ValueError("SEGMENTATION_OIDC_ISSUER and _CLIENT_ID are needed for sign-on")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.role_claim = settings.oidc_role_claim
        self._metadata: tuple[float, dict[str, Any]] | None = None

    async def metadata(self) -> dict[str, Any]:
        cached = self._metadata
        if cached is None or time.monotonic() - cached[0] > DISCOVERY_SECONDS:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.get(f"{self.issuer}/.well-known/openid-configuration")
                answer.raise_for_status()
                cached = (time.monotonic(), answer.json())
            self._metadata = cached
        return cached[1]

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope="openid profile",
            redirect_uri=redirect_uri,
            timeout=10,
        )

    async def authorize_url(self, redirect_uri: str, state: str, nonce: str) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(endpoint, state=state, nonce=nonce)
        return str(url)

    async def identity(self, code: str, redirect_uri: str, nonce: str) -> Identity:
        """Exchange the code, verify the ID token (signature, issuer, audience, expiry,
        nonce) and read who it is and their role."""
        metadata = await self.metadata()
        try:
            async with self._client(redirect_uri) as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"], code=code, grant_type="authorization_code"
                )
            async with httpx.AsyncClient(timeout=10) as http:
                keys = KeySet.import_key_set((await http.get(metadata["jwks_uri"])).json())
            decoded = jwt.decode(token["id_token"], keys)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except (JoseError, KeyError, httpx.HTTPError, ValueError) as error:
            raise SsoError(
                f"the identity provider's answer was refused ({type(error).__name__})"
            ) from error
        claims = decoded.claims
        user = str(claims.get("preferred_username") or claims.get("sub") or "")
        if subject_problem(user):
            raise SsoError("the ID token names no usable user")
        values = claims.get(self.role_claim, [])
        values = [values] if isinstance(values, str) else list(values or [])
        role = next((value for value in values if value in WEB_ROLES), None)
        if role is None:
            raise SsoError(f"the claim {self.role_claim!r} gives no role of the pages")
        return Identity(user, role)

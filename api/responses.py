"""A JSON response serialised by orjson from plain dicts.

The hot routes build their answer as dicts and return it in this response: FastAPI's
validation of a response model on the way out cost more than the rest of a lookup. The
route still declares its ``response_model`` for the OpenAPI document, and the tests
(schemathesis included) check that every answer conforms to it.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        # Times as RFC 3339 with "Z", as pydantic writes them.
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


#: Headers on every answer under /v1/: answers about a person are never cached by a
#: browser or proxy, and are never sniffed into another content type.
PRIVATE_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


class PrivateResponses:
    """Pure ASGI middleware adding ``PRIVATE_HEADERS`` to responses under ``/v1/``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return

        async def send_private(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *PRIVATE_HEADERS]
            await send(message)

        await self.app(scope, receive, send_private)

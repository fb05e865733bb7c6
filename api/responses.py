"""A JSON response serialised by orjson from plain dicts.

The hot routes build their answer as dicts and return it in this response: FastAPI's
validation of a response model on the way out cost more than the rest of a lookup. The
route still declares its ``response_model`` for the OpenAPI document, and the tests
(schemathesis included) check that every answer conforms to it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from fastapi.responses import Response

#: The planners' workbooks' media type (the API's and the pages' downloads).
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(body: bytes, name: str) -> Response:
    """An Excel workbook (``body``) to download as ``name``."""
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        # Times as RFC 3339 with "Z", as pydantic writes them.
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


#: Headers on every answer under /v1/: answers about a person are never cached by a
#: browser or proxy, and are never sniffed into another content type.
PRIVATE_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


#: A request id a client may choose (``X-Request-ID``); any other value is replaced.
REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


#: Paths whose answers are public assets: cacheable, no request id needed.
PUBLIC_PREFIXES = ("/static/", "/static-offline-docs/", "/health", "/metrics", "/openapi.json")


class PrivateResponses:
    """Pure ASGI middleware for answers that may be about a person (the API under ``/v1/``
    and the web pages, everything but public assets): adds ``PRIVATE_HEADERS`` and gives
    the request an id (the client's ``X-Request-ID`` if it is plain, else a new one), kept
    in the request's state for its audit records and sent back in ``X-Request-ID``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = given if given and REQUEST_ID.match(given) else uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        headers = (*PRIVATE_HEADERS, (b"x-request-id", request_id))

        async def send_private(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_private)


#: The largest request body accepted: a contract row as JSON is under 2 kB.
MAX_BODY_BYTES = 65_536
_TOO_LARGE = b'{"detail":"request body larger than 65536 bytes"}'


class BodyLimit:
    """Pure ASGI middleware: a request body over ``MAX_BODY_BYTES`` is refused with 413
    before the app reads it (a 200 MB body used to be read whole, token or not). A declared
    length is checked at once; a chunked body is read up to the limit and replayed."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
                await _refuse(send)
                return
            await self.app(scope, receive, send)
            return
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                await _refuse(send)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_TOO_LARGE)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE})

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

"""The role x route matrix: every route, every role, no token, a forged and an expired one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.factories import citizen_row, employer_row

Route = tuple[str, Callable[[Api], str], Callable[[Api], Any], str, int]


def _body_citizen(api: Api) -> dict[str, Any]:
    row = citizen_row()
    row.pop("customer_id")
    return row


def _body_employer(api: Api) -> dict[str, Any]:
    row = employer_row()
    row.pop("org_number")
    return row


ROUTES: list[Route] = [
    ("GET", lambda a: f"/v1/citizens/{a.citizen_id}", lambda a: None, "case_handler", 200),
    ("POST", lambda a: "/v1/citizens/score", _body_citizen, "case_handler", 200),
    (
        "PUT",
        lambda a: f"/v1/citizens/{a.citizen_id}/override",
        lambda a: {"category": "needs_support", "reason": "matrix test"},
        "case_handler",
        200,
    ),
    (
        "DELETE",
        lambda a: f"/v1/citizens/{a.citizen_id}/override",
        lambda a: None,
        "case_handler",
        204,
    ),
    ("GET", lambda a: f"/v1/employers/{a.employer_id}", lambda a: None, "case_handler", 200),
    ("POST", lambda a: "/v1/employers/score", _body_employer, "case_handler", 200),
    (
        "PUT",
        lambda a: f"/v1/employers/{a.employer_id}/override",
        lambda a: {"category": "small", "reason": "matrix test"},
        "case_handler",
        200,
    ),
    (
        "DELETE",
        lambda a: f"/v1/employers/{a.employer_id}/override",
        lambda a: None,
        "case_handler",
        204,
    ),
    ("GET", lambda a: f"/v1/routing/{a.citizen_id}", lambda a: None, "portal", 200),
    ("GET", lambda a: "/v1/capacity", lambda a: None, "planner", 200),
    ("POST", lambda a: "/v1/models/refresh", lambda a: None, "operator", 200),
]
ROLES = ["case_handler", "portal", "planner", "operator"]
CELLS = [
    pytest.param(route, who, id=f"{route[0]} {route[3]}-route as {who}")
    for route in ROUTES
    for who in [*ROLES, "no-token", "forged", "expired"]
]


def _call(api: Api, route: Route, headers: dict[str, str]) -> int:
    method, path, body, _, _ = route
    if method == "DELETE":  # something to delete
        put_path = path(api)
        category = "small" if "employers" in put_path else "regular"
        api.client.put(
            put_path,
            json={"category": category, "reason": "set up"},
            headers=api.headers("case_handler"),
        )
    payload = body(api)
    response = api.client.request(method, path(api), json=payload, headers=headers)
    return response.status_code


@pytest.mark.parametrize(("route", "who"), CELLS)
def test_role_route_matrix(api: Api, route: Route, who: str) -> None:
    allowed_role, expected = route[3], route[4]
    if who == "no-token":
        headers: dict[str, str] = {}
        want = 401
    elif who == "forged":
        headers = {"Authorization": f"Bearer {api.forged_token(allowed_role)}"}
        want = 401
    elif who == "expired":
        headers = {"Authorization": f"Bearer {api.expired_token(allowed_role)}"}
        want = 401
    else:
        headers = api.headers(who)
        want = expected if who == allowed_role else 403
    assert _call(api, route, headers) == want


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics", "/openapi.json"])
def test_open_routes(api: Api, path: str) -> None:
    assert api.client.get(path).status_code == 200


def test_token_with_an_unlisted_algorithm_is_refused(api: Api) -> None:
    import jwt

    token = jwt.encode({"sub": "x", "role": "case_handler"}, key=None, algorithm="none")
    response = api.client.get(
        f"/v1/citizens/{api.citizen_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401

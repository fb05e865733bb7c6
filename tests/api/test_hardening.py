"""Hardening (issue 12): every attempt on a person audited with its request id and client,
no forged audit subjects, the portal bound to its citizen, offline docs, guarded metrics."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

import httpx
import jwt
import pytest

from api.ratelimit import WindowLimiter
from tests.api.conftest import Api
from tests.factories import citizen_row, personal_number


def _audit(api: Api, *, actor: str, subject: str | None = None) -> list[dict[str, Any]]:
    store = api.client.app.state.context.store  # type: ignore[attr-defined]
    return [e for e in store.audit_entries(subject=subject, limit=500) if e["actor"] == actor]


def _records_of(api: Api, answer: httpx.Response) -> list[dict[str, Any]]:
    """The audit records of one request (the PostgreSQL audit log outlives test runs)."""
    request_id = answer.headers["x-request-id"]
    store = api.client.app.state.context.store  # type: ignore[attr-defined]
    return [e for e in store.audit_entries(limit=500) if e["request_id"] == request_id]


def test_audit_records_carry_the_request_id_and_the_client(api: Api) -> None:
    token = api.token("case_handler", subject="origin.tester")
    headers = {"Authorization": f"Bearer {token}"}
    answer = api.client.get(f"/v1/citizens/{api.citizen_id}", headers=headers)
    chosen = api.client.get(
        f"/v1/citizens/{api.citizen_id}", headers={**headers, "X-Request-ID": "portal-42.a"}
    )
    forged = api.client.get(
        f"/v1/citizens/{api.citizen_id}", headers={**headers, "X-Request-ID": "x" * 65}
    )
    records = _audit(api, actor="origin.tester", subject=api.citizen_id)[-3:]
    assert [r["request_id"] for r in records] == [
        answer.headers["x-request-id"],
        "portal-42.a",
        forged.headers["x-request-id"],
    ]
    assert chosen.headers["x-request-id"] == "portal-42.a"
    assert forged.headers["x-request-id"] != "x" * 65 and len(forged.headers["x-request-id"]) == 32
    assert {r["client"] for r in records} == {"testclient"}


@pytest.mark.parametrize(
    "raw",
    ['196807185662\n{"forged":1}', "\x1b[2J196807185662", "19680718\u202e5662", "1968-07-18 5662"],
)
def test_a_forged_path_never_reaches_the_audit_log(api: Api, raw: str) -> None:
    path = "/v1/citizens/" + urllib.parse.quote(raw, safe="")
    assert api.client.get(path).status_code == 401  # anonymous: refused, audited
    token = api.token("case_handler", subject="forger")
    answer = api.client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422
    store = api.client.app.state.context.store  # type: ignore[attr-defined]
    subjects = [e["subject"] for e in store.audit_entries(limit=50) if e["subject"]]
    assert all(s.isdigit() or s.startswith("invalid:") for s in subjects), subjects
    assert not any(raw in s for s in subjects)


def test_token_subjects_with_control_characters_are_refused(api: Api) -> None:
    from segmentation.security import mint_token

    with pytest.raises(ValueError, match="printable"):
        mint_token(
            secret="s" * 48, algorithm="HS256", role="case_handler", subject="a\nb", minutes=5
        )
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": 'eve\n{"actor":"admin"}',
        "role": "case_handler",
        "iss": "segmentation",
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
    }
    token = jwt.encode(claims, api.settings.resolved_jwt_secret(), algorithm="HS256")  # type: ignore[attr-defined]
    answer = api.client.get(
        f"/v1/citizens/{api.citizen_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 401


def test_an_override_refused_for_its_body_is_audited(api: Api) -> None:
    token = api.token("case_handler", subject="override.body")
    answer = api.client.put(
        f"/v1/citizens/{api.citizen_id}/override",
        json={"category": "no-such-category", "reason": "x"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422
    (record,) = _records_of(api, answer)
    assert (record["subject"], record["action"], record["outcome"]) == (
        api.citizen_id,
        "citizens.override",
        "refused",
    )


@pytest.mark.parametrize("valid_id", [True, False])
def test_a_refused_score_is_audited_with_the_body_id(api: Api, valid_id: bool) -> None:
    customer_id = personal_number() if valid_id else '1968\n{"forged":1}'
    body = {**citizen_row(customer_id=customer_id), "contacts_phone": -1}
    token = api.token("case_handler")
    answer = api.client.post(
        "/v1/citizens/score", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 422
    portal = api.client.post("/v1/citizens/score", json=body, headers=api.headers("portal"))
    assert portal.status_code == 403
    for refused in (answer, portal):
        (record,) = _records_of(api, refused)
        assert record["outcome"] == "refused" and record["action"] == "citizens.score"
        if valid_id:
            assert record["subject"] == customer_id
        else:
            assert record["subject"].startswith("invalid:")


def test_the_portal_routes_only_its_signed_in_citizen(api: Api) -> None:
    other = personal_number()
    token = api.token("portal", subject="mina-sidor", citizen=other)
    answer = api.client.get(
        f"/v1/routing/{api.citizen_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403 and "cid" in answer.text
    (record,) = _records_of(api, answer)
    assert (record["subject"], record["outcome"]) == (api.citizen_id, "refused")
    # A portal token that names no citizen routes nobody.
    from segmentation.security import mint_token

    bare = mint_token(
        secret=api.settings.resolved_jwt_secret(),  # type: ignore[attr-defined]
        algorithm="HS256",
        role="portal",
        subject="mina-sidor",
        minutes=5,
    )
    assert (
        api.client.get(
            f"/v1/routing/{api.citizen_id}", headers={"Authorization": f"Bearer {bare}"}
        ).status_code
        == 403
    )


def test_an_unknown_citizen_gets_the_default_channel_not_a_404(api: Api) -> None:
    unknown = api.unknown_citizen_id
    token = api.token("portal", subject="mina-sidor", citizen=unknown)
    answer = api.client.get(f"/v1/routing/{unknown}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["channel"] == api.settings.routing_default_channel  # type: ignore[attr-defined]
    assert body["life_situations"] == [] and body["model_version"]


def test_routing_is_rate_limited_per_citizen(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    context = api.client.app.state.context  # type: ignore[attr-defined]
    monkeypatch.setattr(context, "routing_limiter", WindowLimiter(3, seconds=3600))
    headers = api.headers("portal")
    codes = [
        api.client.get(f"/v1/routing/{api.citizen_id}", headers=headers).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    last = api.client.get(f"/v1/routing/{api.citizen_id}", headers=headers)
    assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1


def test_window_limiter_counts_per_key_and_forgets_old_windows() -> None:
    now = [0.0]
    limiter = WindowLimiter(2, seconds=60, clock=lambda: now[0])
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("b")] == [None, None, None]
    assert limiter.allow("a") == 60
    now[0] = 59.5
    assert limiter.allow("a") == 1
    now[0] = 60.0
    assert limiter.allow("a") is None


def test_docs_load_nothing_from_outside(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[0]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static-offline-docs/{asset}" in page.text
        assert api.client.get(f"/static-offline-docs/{asset}").status_code == 200


def test_metrics_can_be_put_behind_an_operator_token(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = api.client.app.state.context  # type: ignore[attr-defined]
    assert api.client.get("/metrics").status_code == 200  # open by default
    guarded = context.settings.model_copy(update={"metrics_require_token": True})
    monkeypatch.setattr(context, "settings", guarded)
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers=api.headers("planner")).status_code == 403
    assert api.client.get("/metrics", headers=api.headers("operator")).status_code == 200

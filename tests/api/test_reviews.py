"""The review route: a case handler's judgement is stored, audited and exported for training."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Api
from tests.event_loop import run_async


def test_a_review_is_stored_with_its_reviewer_and_audited(api: Api) -> None:
    path = f"/v1/citizens/{api.citizen_id}/reviews"
    headers = {
        "Authorization": f"Bearer {api.token('case_handler', subject='anna.svensson')}",
        "X-Purpose": "review 2026-11",
    }
    answer = api.client.post(path, headers=headers, json={"category": "irregular", "note": "moved"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["category"] == "irregular" and body["reviewer"] == "anna.svensson"
    assert body["model_version"] and body["model_category"] in (
        "regular",
        "irregular",
        "needs_support",
    )
    store = api.client.app.state.context.store  # type: ignore[attr-defined]
    records = [r for r in store.review_records() if r["id"] == api.citizen_id]
    assert records and records[-1]["category"] == "irregular"
    audit = store.audit_entries(subject=api.citizen_id, limit=5)
    assert any(e["action"] == "citizens.review" and e["purpose"] == "review 2026-11" for e in audit)


def _queued_in_spread(api: Api, sample: str) -> tuple[Any, str, str, str]:
    """The sampled citizen queued alone in the spread part of ``sample``: the store, its id,
    the model's category and another one."""
    store = api.client.app.state.context.store  # type: ignore[attr-defined]
    customer = api.sampled_citizen_id
    model = store.current("citizens", customer)["category"]
    other = next(c for c in ("regular", "irregular", "needs_support") if c != model)
    store.queue_reviews("citizens", sample, [customer], ["spread"])
    return store, customer, model, other


def test_a_review_of_a_sampled_customer_that_differs_from_the_model_asks_another_opinion(
    api: Api,
) -> None:
    """Through the API as on the review page: a customer of a sample's spread part judged
    otherwise than the model waits for another case handler (not for the one who judged)."""
    store, customer, model, other = _queued_in_spread(api, "20261207T000000000001")
    try:
        headers = {
            "Authorization": f"Bearer {api.token('case_handler', subject='anna.svensson')}",
            "X-Purpose": "review 2026-12",
        }
        path = f"/v1/citizens/{customer}/reviews"
        answer = api.client.post(path, headers=headers, json={"category": other})
        assert answer.status_code == 201, answer.text
        assert answer.json()["model_category"] == model
        for_bo = store.review_queue("citizens", free_for="bo.berg")["customers"]
        assert [(c["customer_id"], c["part"]) for c in for_bo] == [(customer, "second_opinion")]
        assert not store.review_queue("citizens", free_for="anna.svensson")["customers"]
        # bo agrees with the model: two judgements that split, a third is asked for.
        bo = {**headers, "Authorization": f"Bearer {api.token('case_handler', subject='bo.berg')}"}
        assert api.client.post(path, headers=bo, json={"category": model}).status_code == 201
        for_cia = store.review_queue("citizens", free_for="cia.carlsson")["customers"]
        assert [c["customer_id"] for c in for_cia] == [customer]
        # cia sides with anna: a majority, and nothing waits.
        cia = {
            **headers,
            "Authorization": f"Bearer {api.token('case_handler', subject='cia.carlsson')}",
        }
        assert api.client.post(path, headers=cia, json={"category": other}).status_code == 201
        assert not store.review_queue("citizens", free_for="dan.dahl")["customers"]
    finally:
        store.withdraw_sample("20261207T000000000001")


def test_an_override_with_a_reason_of_a_sampled_customer_asks_another_opinion(api: Api) -> None:
    """An override with a reason is its author's judgement (the export counts it as a
    review): through the API, a customer of a sample's spread part overridden otherwise than
    the model waits for another case handler's judgement, not for the author's."""
    store, customer, _, other = _queued_in_spread(api, "20261207T000000000002")
    headers = {
        "Authorization": f"Bearer {api.token('case_handler', subject='anna.svensson')}",
        "X-Purpose": "review 2026-12",
    }
    path = f"/v1/citizens/{customer}/override"
    try:
        answer = api.client.put(path, headers=headers, json={"category": other, "reason": "flytt"})
        assert answer.status_code == 200, answer.text
        for_bo = store.review_queue("citizens", free_for="bo.berg")["customers"]
        assert [(c["customer_id"], c["part"]) for c in for_bo] == [(customer, "second_opinion")]
        assert not store.review_queue("citizens", free_for="anna.svensson")["customers"]
    finally:
        api.client.delete(path, headers=headers)
        store.withdraw_sample("20261207T000000000002")


def test_reviews_are_refused_for_other_roles_and_bad_bodies(api: Api) -> None:
    path = f"/v1/citizens/{api.citizen_id}/reviews"
    body = {"category": "regular"}
    for role in ("portal", "planner"):
        assert api.client.post(path, headers=api.headers(role), json=body).status_code == 403
    assert api.client.post(path, json=body).status_code == 401
    bad = api.client.post(path, headers=api.headers("case_handler"), json={"category": "small"})
    assert bad.status_code == 422 and "category" in bad.text
    unknown = f"/v1/citizens/{api.unknown_citizen_id}/reviews"
    assert (
        api.client.post(unknown, headers=api.headers("case_handler"), json=body).status_code == 404
    )


def test_a_body_that_is_not_json_gets_a_documented_client_error(api: Api) -> None:
    headers = {**api.headers("case_handler"), "Content-Type": "application/json"}
    paths = {
        "/v1/citizens/score": "/v1/citizens/score",
        f"/v1/citizens/{api.citizen_id}/reviews": "/v1/citizens/{customer_id}/reviews",
    }
    spec = api.client.get("/openapi.json").json()["paths"]
    for path, template in paths.items():
        for content_type, content in (
            ("application/json", b"{not json"),
            ("text/plain", b"category=regular"),
            ("application/x-www-form-urlencoded", b"category=regular"),
        ):
            answer = api.client.post(
                path, headers={**headers, "Content-Type": content_type}, content=content
            )
            assert 400 <= answer.status_code < 500, (path, content_type, answer.text)
            assert "detail" in answer.json()
            assert str(answer.status_code) in spec[template]["post"]["responses"], (
                path,
                content_type,
                answer.status_code,
            )


def test_answers_about_a_person_are_not_cached_or_sniffed(api: Api) -> None:
    for path, role in (
        (f"/v1/citizens/{api.citizen_id}", "case_handler"),
        (f"/v1/routing/{api.citizen_id}", "portal"),
        (f"/v1/citizens/{api.unknown_citizen_id}", "case_handler"),  # a 404 too
        (f"/v1/citizens/{api.citizen_id}", "planner"),  # and a refusal
    ):
        answer = api.client.get(path, headers=api.headers(role))
        assert answer.headers["cache-control"] == "no-store", path
        assert answer.headers["x-content-type-options"] == "nosniff", path
    assert "cache-control" not in api.client.get("/health").headers


def test_purpose_is_utf8_text_and_a_bad_one_is_audited(api: Api) -> None:
    path = f"/v1/citizens/{api.citizen_id}"
    token = api.token("case_handler", subject="purpose.tester")
    utf8 = {"Authorization": f"Bearer {token}", "X-Purpose": "ärende 2026-17".encode()}
    answer = api.client.get(path, headers=utf8)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    # Latin-1 bytes: the TestClient re-encodes header values as UTF-8, so they go through
    # httpx's ASGI transport, which hands the app the raw bytes (as a real server does).
    latin1 = {"Authorization": f"Bearer {token}", "X-Purpose": "ärende".encode("latin-1")}

    async def raw_get() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, headers=latin1)

    refused = run_async(raw_get)
    assert refused.status_code == 422 and "x-purpose" in refused.text
    store = api.client.app.state.context.store  # type: ignore[attr-defined]
    mine = [
        e
        for e in store.audit_entries(subject=api.citizen_id, limit=20)
        if e["actor"] == "purpose.tester"
    ]
    assert [(e["purpose"], e["outcome"]) for e in mine[-2:]] == [
        ("ärende 2026-17", "allowed"),
        ("invalid", "refused"),
    ]


def test_a_body_over_the_limit_is_refused_before_it_is_read(api: Api) -> None:
    huge = b"{" + b" " * 1_000_000 + b"}"
    for headers in ({}, api.headers("case_handler")):
        answer = api.client.post(
            "/v1/citizens/score",
            headers={**headers, "Content-Type": "application/json"},
            content=huge,
        )
        assert answer.status_code == 413 and "larger than" in answer.json()["detail"]

    def chunks():  # no declared length: read up to the limit, then refused
        for _ in range(100):
            yield b" " * 10_000

    chunked = api.client.post(
        "/v1/citizens/score",
        headers={**api.headers("case_handler"), "Content-Type": "application/json"},
        content=chunks(),
    )
    assert chunked.status_code == 413
    small = api.client.post(
        f"/v1/citizens/{api.citizen_id}/reviews",
        headers=api.headers("case_handler"),
        json={"category": "regular"},
    )
    assert small.status_code == 201

"""Lookup, scoring, routing, overrides, audit and bad input."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.api.conftest import Api
from tests.factories import citizen_row, irregular_row, needs_support_row


def _body(row: dict) -> dict:
    row = dict(row)
    row.pop("customer_id", None)
    return row


def test_lookup_returns_category_explanation_and_history(api: Api) -> None:
    response = api.client.get(f"/v1/citizens/{api.citizen_id}", headers=api.headers("case_handler"))
    assert response.status_code == 200
    body = response.json()
    assert body["category"] in {"regular", "irregular", "needs_support"}
    assert body["channel"] in {"digital_self_service", "guided_digital", "personal_handler"}
    assert body["model_version"] and body["scored_at"]
    assert body["history"][0]["source"] == "model"
    assert body["explanation"] and "typical for" in body["explanation"][0]["text"]
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-6


def test_score_names_the_category_explains_it_and_tags_the_life_situation(api: Api) -> None:
    response = api.client.post(
        "/v1/citizens/score", json=_body(needs_support_row()), headers=api.headers("case_handler")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["category"] == "needs_support"
    assert body["channel"] == "personal_handler"
    assert "multi_benefit" in body["life_situations"]
    assert "long_term_illness" in body["life_situations"]
    first = body["explanation"][0]
    assert first["runner_up"] in {"regular", "irregular"}
    assert "typical for needs-support" in first["text"]
    assert body["probabilities"]["needs_support"] > 0.5

    irregular = api.client.post(
        "/v1/citizens/score", json=_body(irregular_row()), headers=api.headers("case_handler")
    ).json()
    assert irregular["category"] == "irregular"
    assert "between_jobs" in irregular["life_situations"]


def test_online_score_agrees_with_the_stored_batch_category(api: Api, small_population) -> None:
    citizens = pd.read_parquet(small_population / "citizens.parquet").head(20)
    for _, row in citizens.iterrows():
        record = row.to_dict()
        record["period_end"] = record["period_end"].date().isoformat()
        stored = api.client.get(
            f"/v1/citizens/{record['customer_id']}", headers=api.headers("case_handler")
        ).json()
        online = api.client.post(
            "/v1/citizens/score", json=record, headers=api.headers("case_handler")
        ).json()
        assert online["category"] == stored["model_category"]


def test_portal_gets_only_what_routing_needs(api: Api) -> None:
    response = api.client.get(f"/v1/routing/{api.citizen_id}", headers=api.headers("portal"))
    assert response.status_code == 200
    assert set(response.json()) == {"channel", "life_situations", "model_version"}


def test_override_wins_until_removed_and_stays_in_history(api: Api) -> None:
    path = f"/v1/citizens/{api.citizen_id}"
    headers = api.headers("case_handler")
    api.client.delete(f"{path}/override", headers=headers)
    model_category = api.client.get(path, headers=headers).json()["model_category"]
    other = "needs_support" if model_category != "needs_support" else "irregular"
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
    put = api.client.put(
        f"{path}/override",
        headers=headers,
        json={"category": other, "reason": "met the customer", "expires_at": expires},
    )
    assert put.status_code == 200, put.text
    looked_up = api.client.get(path, headers=headers).json()
    assert looked_up["category"] == other and looked_up["source"] == "override"
    assert looked_up["override"]["reason"] == "met the customer"
    routed = api.client.get(f"/v1/routing/{api.citizen_id}", headers=api.headers("portal")).json()
    assert (
        routed["channel"]
        == {"needs_support": "personal_handler", "irregular": "guided_digital"}[other]
    )
    assert api.client.delete(f"{path}/override", headers=headers).status_code == 204
    after = api.client.get(path, headers=headers).json()
    assert after["category"] == model_category and after["source"] == "model"
    sources = [entry["source"] for entry in after["history"]]
    assert "override" in sources and "override_removed" in sources


def test_expired_override_no_longer_wins(api: Api) -> None:
    from segmentation.store import SegmentStore

    store = SegmentStore(api.settings.resolved_store_url)  # type: ignore[attr-defined]
    store.set_override(
        "citizens",
        api.citizen_id,
        category="needs_support",
        reason="old",
        actor="t",
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
    )
    try:
        body = api.client.get(
            f"/v1/citizens/{api.citizen_id}", headers=api.headers("case_handler")
        ).json()
        assert body["source"] == "model"
    finally:  # the session's store is shared: leave no override behind
        store.remove_override("citizens", api.citizen_id, actor="t", reason="clean up")
        store.dispose()


def test_every_read_is_audited_with_purpose_allowed_or_refused(api: Api) -> None:
    from segmentation.store import SegmentStore

    store = SegmentStore(api.settings.resolved_store_url)  # type: ignore[attr-defined]
    subject = api.citizen_id
    before = len(store.audit_entries(subject=subject, limit=10_000))
    api.client.get(
        f"/v1/citizens/{subject}",
        headers=api.headers("case_handler", **{"X-Purpose": "case 2026-117"}),
    )
    api.client.get(f"/v1/routing/{subject}", headers=api.headers("portal"))
    api.client.get(f"/v1/citizens/{subject}", headers=api.headers("portal"))  # refused: 403
    api.client.get(f"/v1/citizens/{subject}")  # refused: 401
    entries = store.audit_entries(subject=subject, limit=10_000)[before:]
    store.dispose()
    assert [(e["role"], e["action"], e["purpose"], e["outcome"]) for e in entries] == [
        ("case_handler", "citizens.lookup", "case 2026-117", "allowed"),
        ("portal", "routing.lookup", "self_service_routing", "allowed"),
        ("portal", "citizens.lookup", "self_service_routing", "refused"),
        ("none", "citizens.lookup", "unknown", "refused"),
    ]


def test_failed_audit_write_refuses_the_request(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    context = api.client.app.state.context  # type: ignore[attr-defined]

    def broken(*_: object, **__: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(context.store, "audit_many", broken)
    response = api.client.get(f"/v1/citizens/{api.citizen_id}", headers=api.headers("case_handler"))
    assert response.status_code == 503
    assert "category" not in response.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/citizens/198112189875", 422),  # bad check digit
        ("/v1/citizens/198113189876", 422),  # not a date
        ("/v1/citizens/abc", 422),
        ("/v1/citizens/1981121898760", 422),  # 13 digits
        ("/v1/citizens/198112189876", 404),  # valid, unknown
        ("/v1/employers/5510360793", 422),  # third digit below 2
    ],
)
def test_ids_are_validated(api: Api, path: str, status: int) -> None:
    response = api.client.get(path, headers=api.headers("case_handler"))
    assert response.status_code == status
    if status == 422:
        assert response.json()["detail"][0]["loc"][0] == "path"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"contacts_phone": -1}, "contacts_phone"),
        ({"benefit_months_sjukpenning": 13}, "benefit_months_sjukpenning"),
        ({"region": "26"}, "region"),
        ({"handling_minutes": "NaN"}, "handling_minutes"),
        ({"contacts_office": "three"}, "contacts_office"),
        ({"nickname": "extra field"}, "nickname"),
        ({"customer_id": "198112189875"}, "customer_id"),
        ({"birth_year": 2030}, "birth_year"),
    ],
)
def test_bad_score_request_names_the_field(api: Api, change: dict, field: str) -> None:
    body = _body(citizen_row())
    body.update(change)
    response = api.client.post("/v1/citizens/score", json=body, headers=api.headers("case_handler"))
    assert response.status_code == 422
    assert field in response.text


def test_missing_field_is_named(api: Api) -> None:
    body = _body(citizen_row())
    del body["life_events"]
    response = api.client.post("/v1/citizens/score", json=body, headers=api.headers("case_handler"))
    assert response.status_code == 422 and "life_events" in response.text


def test_metrics_count_routes_without_identities(api: Api) -> None:
    api.client.get(f"/v1/citizens/{api.citizen_id}", headers=api.headers("case_handler"))
    text = api.client.get("/metrics").text
    assert 'route="/v1/citizens/{customer_id}"' in text
    assert api.citizen_id not in text
    assert "segmentation_answers_total" in text


def test_ready_reports_models_and_store(api: Api) -> None:
    body = api.client.get("/ready").json()
    assert body["status"] == "ready" and body["store"] is True
    assert set(body["models"]) == {"citizens", "employers"} and body["missing"] == []


def test_not_ready_without_every_populations_model(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = api.client.app.state.context.models  # type: ignore[attr-defined]
    only_citizens = {"citizens": models._active["citizens"]}
    monkeypatch.setattr(models, "_active", only_citizens)
    answer = api.client.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["missing"] == ["employers"]

"""Override times arrive with any offset and are kept as the same instant (issue 12)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.conftest import Api


@pytest.mark.parametrize("offset_hours", [-5, 2])
def test_an_expiry_with_an_offset_is_the_same_instant(api: Api, offset_hours: int) -> None:
    path = f"/v1/citizens/{api.citizen_id}"
    headers = api.headers("case_handler")
    zone = dt.timezone(dt.timedelta(hours=offset_hours))
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)).astimezone(zone)
    put = api.client.put(
        f"{path}/override",
        headers=headers,
        json={
            "category": "needs_support",
            "reason": "met the customer",
            "expires_at": expires.isoformat(),
        },
    )
    assert put.status_code == 200, put.text
    stored = dt.datetime.fromisoformat(put.json()["expires_at"])
    assert abs((stored - expires).total_seconds()) < 1
    looked_up = api.client.get(path, headers=headers).json()
    assert looked_up["source"] == "override"  # 30 minutes ahead: still in force
    read_back = dt.datetime.fromisoformat(looked_up["override"]["expires_at"])
    assert abs((read_back - expires).total_seconds()) < 1
    assert api.client.delete(f"{path}/override", headers=headers).status_code == 204


@pytest.mark.parametrize("reason", ["   ", "\t\n  ", " a "])
def test_a_blank_reason_is_refused(api: Api, reason: str) -> None:
    answer = api.client.put(
        f"/v1/citizens/{api.citizen_id}/override",
        headers=api.headers("case_handler"),
        json={"category": "irregular", "reason": reason},
    )
    assert answer.status_code == 422 and "reason" in answer.text


def test_a_replaced_override_closes_its_period_in_the_history(api: Api) -> None:
    path = f"/v1/citizens/{api.citizen_id}"
    headers = api.headers("case_handler")
    api.client.delete(f"{path}/override", headers=headers)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
    first = {"category": "needs_support", "reason": "met the customer", "expires_at": later}
    assert api.client.put(f"{path}/override", headers=headers, json=first).status_code == 200
    second = {"category": "irregular", "reason": "second look", "expires_at": later}
    assert api.client.put(f"{path}/override", headers=headers, json=second).status_code == 200
    assert api.client.delete(f"{path}/override", headers=headers).status_code == 204
    history = api.client.get(path, headers=headers).json()["history"]
    entries = [e for e in history if e["source"] in ("override", "override_removed")][-3:]
    assert [e["category"] for e in entries] == ["needs_support", "irregular", "irregular"]
    replaced, replacing, removed = entries
    # The first ended when the second began; the second when it was removed.
    assert replaced["until"] == replacing["at"]
    assert replacing["until"] == removed["at"]

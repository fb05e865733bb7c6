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

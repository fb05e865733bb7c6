"""The monthly result indicators: the three tables' contracts and the figures per segment,
on frames small enough to count by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from data_contracts.indicators import local_times, validate_table
from data_contracts.validation import ContractError
from segmentation.indicators import ALL, UNIDENTIFIED, monthly_report, parse_month
from training.synthetic import organisation_numbers, personal_numbers

RNG = np.random.default_rng(3)
PEOPLE = [str(p) for p in personal_numbers(RNG, np.array([1950, 1960, 1970, 1980, 1990]))]
FIRM = str(organisation_numbers(RNG, 1)[0])


def test_a_month_is_its_first_and_last_day() -> None:
    assert parse_month("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert parse_month("2024-02")[1] == dt.date(2024, 2, 29)
    assert parse_month("2026-12")[1] == dt.date(2026, 12, 31)
    for bad in ("2026-13", "2026", "26-01", "januari"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            parse_month(bad)


def _cases(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "case_id": ["a", "b"],
        "customer_id": [PEOPLE[0], PEOPLE[1]],
        "case_type": ["sjukpenning", "bostadsbidrag"],
        "received_on": ["2026-01-05", "2026-01-10"],
        "decided_on": ["2026-01-20", None],
        "handling_minutes": [30.0, 12.5],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_good_cases_are_accepted_typed_with_their_customer() -> None:
    result = validate_table("cases", _cases())
    assert result.counts == {"accepted": 2, "rejected": 0}
    accepted = result.accepted
    assert list(accepted["population"]) == ["citizens", "citizens"]
    assert list(accepted["id"]) == PEOPLE[:2]
    assert accepted["received_on"].iloc[0] == pd.Timestamp("2026-01-05")
    assert pd.isna(accepted["decided_on"].iloc[1])
    # a date given with a time of day is that day (received at 15:00 on the 31st is January's)
    late = validate_table("cases", _cases(received_on=["2026-01-05", "2026-01-31 15:00"]))
    assert late.accepted["received_on"].iloc[1] == pd.Timestamp("2026-01-31")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"case_id": ["a", "a"]}, "duplicate case_id"),
        ({"case_type": ["sjukpenning", " "]}, "case_type: not blank"),
        ({"customer_id": [PEOPLE[0], "199001011234"]}, "customer_id: bad check digit"),
        ({"customer_id": [PEOPLE[0], None]}, "id: neither customer_id nor org_number given"),
        ({"org_number": [None, FIRM]}, "id: both customer_id and org_number given"),
        ({"received_on": ["2026-01-05", "igår"]}, "received_on: not a time"),
        ({"decided_on": ["2026-01-20", "2026-01-09"]}, "decided_on: before received_on"),
        ({"handling_minutes": [30.0, -1.0]}, "handling_minutes: greater_than_or_equal_to(0)"),
        ({"handling_minutes": [30.0, float("inf")]}, "handling_minutes: not finite"),
    ],
)
def test_a_broken_case_is_set_aside_with_its_reason(change: dict, reason: str) -> None:
    result = validate_table("cases", _cases(**change))
    assert len(result.rejected) >= 1
    assert result.rejected["reason"].str.contains(reason, regex=False).all()
    if change.get("case_id") != ["a", "a"]:  # a duplicate sets aside every copy
        assert list(result.accepted["case_id"]) == ["a"]


def test_a_table_without_a_required_column_is_refused_naming_it() -> None:
    with pytest.raises(ContractError, match=r"cases: missing required column.*received_on"):
        validate_table("cases", _cases().drop(columns="received_on"))
    with pytest.raises(ContractError, match="customer_id or org_number"):
        validate_table(
            "surveys",
            pd.DataFrame({"response_id": ["1"], "answered_on": ["2026-01-01"], "score": [9]}),
        )


def test_calls_may_name_no_one_and_their_times_are_the_agencys() -> None:
    calls = pd.DataFrame(
        {
            "call_id": ["1", "2", "3", "4"],
            "customer_id": [PEOPLE[0], None, None, PEOPLE[1]],
            "org_number": [None, FIRM, None, None],
            # 23:30 UTC on 31 January is 00:30 on 1 February in Stockholm
            "arrived_at": [
                "2026-01-02 09:00",
                "2026-01-31T23:30:00+00:00",
                "2026-01-03 10:00",
                "x",
            ],
            "outcome": ["answered", "rejected", "abandoned", "hung up"],
            "wait_seconds": [10, 0, 5, 5],
        }
    )
    result = validate_table("calls", calls, timezone="Europe/Stockholm")
    assert list(result.accepted["population"]) == ["citizens", "employers", ""]
    assert result.accepted["arrived_at"].iloc[1] == pd.Timestamp("2026-02-01 00:30")
    (reason,) = result.rejected["reason"]
    assert "arrived_at: not a time" in reason and "outcome: not one of" in reason


def test_times_with_and_without_a_zone_in_one_column() -> None:
    values = pd.Series(["2026-07-01 12:00", "2026-07-01T12:00:00Z", None])
    times = local_times(values, "Europe/Stockholm")
    assert times.iloc[0] == pd.Timestamp("2026-07-01 12:00")
    assert times.iloc[1] == pd.Timestamp("2026-07-01 14:00")  # summer time: UTC+2
    assert pd.isna(times.iloc[2])


def test_a_survey_score_is_a_whole_number_from_0_to_10() -> None:
    surveys = pd.DataFrame(
        {
            "response_id": ["1", "2", "3"],
            "customer_id": PEOPLE[:3],
            "answered_on": ["2026-01-02"] * 3,
            "score": [10, 11, 7.5],
        }
    )
    result = validate_table("surveys", surveys)
    assert list(result.accepted["response_id"]) == ["1"]
    assert result.rejected["reason"].iloc[0].startswith("score: less_than_or_equal_to(10)")
    assert "score: not a whole number" in result.rejected["reason"].iloc[1]


def _segmented(frame: pd.DataFrame, segments: list[str]) -> pd.DataFrame:
    return frame.assign(population="citizens", segment=segments)


def test_case_figures_counted_by_hand() -> None:
    cases = pd.DataFrame(
        {
            "received_on": pd.to_datetime(
                ["2025-12-20", "2026-01-05", "2026-01-10", "2026-01-31", "2025-03-01", "2025-01-15"]
            ),
            "decided_on": pd.to_datetime(
                ["2026-01-04", "2026-01-15", None, "2026-02-02", "2025-04-01", "2025-01-31"]
            ),
            "handling_minutes": [60.0, 120.0, 30.0, 30.0, 60.0, 600.0],
            "case_type": ["sjukpenning", "sjukpenning", "bostadsbidrag", "sjukpenning", "x", "x"],
        }
    )
    frame = _segmented(
        cases, ["regular", "regular", "irregular", "irregular", "regular", "regular"]
    )
    report = monthly_report(
        "2026-01", {"cases": frame}, periods={"citizens": "2025-12-31"}, hours_per_fte=1.0
    )
    rows = {row["category"]: row for row in report["segments"]}
    regular, irregular, whole = rows["regular"], rows["irregular"], rows[ALL]
    assert (regular["cases_received"], regular["cases_decided"], regular["cases_pending"]) == (
        1,
        2,
        0,
    )
    # received 10 January, pending on the 31st: 21 days; received on the 31st: 0 days
    assert (irregular["cases_received"], irregular["cases_pending"]) == (2, 2)
    assert irregular["pending_age_days"]["mean"] == pytest.approx(10.5)
    # decided in January: 15 and 10 days
    assert regular["handling_days"]["median"] == pytest.approx(12.5)
    assert irregular["handling_days"] is None
    # R12 (February 2025 to January 2026): the decisions of 4 January, 15 January and
    # 1 April 2025; not the one of 1 February 2025
    assert regular["decisions_r12"] == 3
    assert regular["handling_hours_r12"] == pytest.approx(4.0)
    assert regular["fte_r12"] == pytest.approx(4.0)  # one hour per FTE here
    assert regular["decisions_per_fte"] == pytest.approx(0.75)
    assert whole["cases_received"] == 3 and whole["cases_pending"] == 2
    # per case type, every segment together: the cases the month touched, most received first
    by_type = {row["case_type"]: row for row in report["case_types"]}
    assert list(by_type) == ["sjukpenning", "bostadsbidrag"]  # "x" ended long before
    sick = by_type["sjukpenning"]
    assert (sick["cases_received"], sick["cases_decided"], sick["cases_pending"]) == (2, 2, 1)
    assert sick["received_by_segment"] == {"regular": 1, "irregular": 1}
    assert sick["handling_days"]["median"] == pytest.approx(12.5)


def test_calls_and_the_net_promoter_score_counted_by_hand() -> None:
    calls = pd.DataFrame(
        {
            "arrived_at": pd.to_datetime(
                [
                    "2026-01-02 09:00",
                    "2026-01-02 10:00",
                    "2026-01-31 23:59",
                    "2026-02-01 00:00",
                    "2026-01-05 08:00",
                ]
            ),
            "outcome": ["answered", "answered", "abandoned", "answered", "rejected"],
            "wait_seconds": [30.0, 90.0, 200.0, 10.0, 0.0],
        }
    ).assign(population=["citizens"] * 4 + ["unknown"], segment=["regular"] * 4 + [UNIDENTIFIED])
    surveys = _segmented(
        pd.DataFrame(
            {
                "answered_on": pd.to_datetime(["2026-01-03"] * 4 + ["2026-02-01"]),
                "score": [10.0, 9.0, 7.0, 3.0, 0.0],
            }
        ),
        ["regular"] * 5,
    )
    report = monthly_report(
        "2026-01",
        {"calls": calls, "surveys": surveys},
        periods={"citizens": "2025-12-31"},
        answer_within_seconds=60.0,
        categories={"citizens": ("regular", "irregular", "needs_support")},
    )
    rows = {row["category"]: row for row in report["segments"]}
    regular = rows["regular"]
    assert (regular["calls_incoming"], regular["calls_answered"], regular["calls_abandoned"]) == (
        3,
        2,
        1,
    )
    assert regular["availability"] == pytest.approx(2 / 3)
    assert regular["answered_within_share"] == pytest.approx(0.5)
    assert regular["answer_seconds"]["mean"] == pytest.approx(60.0)
    # two promoters, one passive, one detractor of four: 50 % - 25 %
    assert (regular["promoters"], regular["passives"], regular["detractors"]) == (2, 1, 1)
    assert regular["nps"] == pytest.approx(25.0)
    assert regular["few_answers"]  # four answers say little
    # a segment without rows is listed with zeros, and nothing to average
    assert rows["needs_support"]["calls_incoming"] == 0
    assert rows["needs_support"]["nps"] is None
    # an unidentified caller has calls, and no survey figures
    assert rows[UNIDENTIFIED]["calls_rejected"] == 1
    assert "survey_answers" not in rows[UNIDENTIFIED]
    order = [row["category"] for row in report["segments"]]
    assert order == ["regular", "irregular", "needs_support", UNIDENTIFIED, ALL]
    assert rows[ALL]["calls_incoming"] == 4


def _report(month: str, received: dict[str, int], tables: list[str]) -> dict:
    segments = [
        {"population": "citizens", "category": name, "cases_received": count, "nps": None}
        for name, count in received.items()
    ]
    segments.append(
        {"population": "all", "category": ALL, "cases_received": sum(received.values())}
    )
    return {
        "month": month,
        "tables": tables,
        "periods": {"citizens": "2025-12-31"},
        "segments": segments,
    }


def test_the_series_puts_each_month_in_a_column_of_its_indicators_sheet() -> None:
    import io

    import openpyxl

    from segmentation.excel import indicators_series_workbook

    later = _report("2026-02", {"regular": 7, "irregular": 3}, ["cases", "surveys"])
    earlier = _report("2026-01", {"regular": 5}, ["cases", "surveys"])  # no irregular case
    book = openpyxl.load_workbook(io.BytesIO(indicators_series_workbook([later, earlier])))
    assert "Telefoni" not in book.sheetnames and "Tillgänglighet" not in book.sheetnames
    sheet = book["Inkomna ärenden"]
    assert [sheet.cell(3, j).value for j in (1, 2, 3)] == ["Segment", "2026-01", "2026-02"]
    rows = {
        sheet.cell(i, 1).value: [sheet.cell(i, 2).value, sheet.cell(i, 3).value]
        for i in range(4, 7)
    }
    assert rows == {
        "Regelbunden vardag": [5, 7],
        "Oregelbunden vardag": ["–", 3],
        "Alla": [5, 10],
    }
    assert sheet.cell(6, 1).value == "Alla"  # the whole last
    assert book["NPS"].cell(4, 2).value == "–"  # nothing measured is not 0
    assert book.sheetnames[-1] == "Om rapporten"

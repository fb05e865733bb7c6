import math
import re

import pytest

from segmentation.capacity import (
    HOURS_PER_FTE,
    Assumptions,
    ChannelShift,
    CustomerMove,
    SegmentLoad,
    agents_needed,
    capacity_rows,
    erlang_c,
    parse_changes,
    pooled_phone_agents,
    report,
    rostered,
    service_level,
)


def test_erlang_c_matches_the_published_worked_example() -> None:
    # 100 calls in 30 minutes, 180 s handling, 80 % answered within 20 s.
    traffic = 100 * 180 / 1800
    assert traffic == 10
    assert (
        agents_needed(
            calls=100, interval_seconds=1800, handle_seconds=180, target=0.80, answer_within=20
        )
        == 14
    )
    assert service_level(traffic, 14, 180, 20) == pytest.approx(0.888, abs=0.001)
    assert service_level(traffic, 13, 180, 20) < 0.80
    assert rostered(14, 0.30) == 20
    assert erlang_c(traffic, 14) == pytest.approx(0.174, abs=0.001)


def test_agents_rise_with_calls_and_fall_with_a_more_lenient_service_level() -> None:
    needed = [
        agents_needed(
            calls=c, interval_seconds=3600, handle_seconds=300, target=0.8, answer_within=60
        )
        for c in (10, 50, 100, 200, 400)
    ]
    assert needed == sorted(needed) and needed[0] < needed[-1]
    strict = agents_needed(
        calls=200, interval_seconds=3600, handle_seconds=300, target=0.95, answer_within=20
    )
    lenient = agents_needed(
        calls=200, interval_seconds=3600, handle_seconds=300, target=0.7, answer_within=120
    )
    assert lenient < strict


def _loads() -> list[SegmentLoad]:
    loads = []
    for region, size in (("01", 1.0), ("12", 0.6), ("14", 0.8)):
        for category, customers, phone, minutes in (
            # a large county: phone contacts a year at the reference contact rates
            ("regular", 790_000, 110_000, 26.0 * 790_000),
            ("irregular", 110_000, 42_000, 25.0 * 110_000),
            ("needs_support", 100_000, 290_000, 39.0 * 100_000),
        ):
            loads.append(
                SegmentLoad(
                    population="citizens",
                    category=category,
                    region=region,
                    customers=round(customers * size),
                    contacts={
                        "phone": phone * size,
                        "office": phone * size / 5,
                        "digital": phone * size / 2,
                        "letter": phone * size / 10,
                    },
                    case_minutes=minutes * size,
                )
            )
    return loads


def test_regional_rows_add_up_to_all_and_fte_is_hours_over_1556() -> None:
    rows = capacity_rows(_loads(), Assumptions())
    for category in ("regular", "irregular", "needs_support"):
        regional = [r for r in rows if r["category"] == category and r["region"] != "all"]
        (total,) = [r for r in rows if r["category"] == category and r["region"] == "all"]
        assert sum(r["customers"] for r in regional) == total["customers"]
        contacts = math.fsum(r["contacts"] for r in regional)
        assert contacts == pytest.approx(total["contacts"], rel=1e-12)
        assert math.fsum(r["handling_hours"] for r in regional) == pytest.approx(
            total["handling_hours"], rel=1e-12
        )
        assert math.fsum(r["fte"] for r in regional) == pytest.approx(total["fte"], rel=1e-12)
    for row in rows:
        assert row["fte"] == pytest.approx(row["handling_hours"] / HOURS_PER_FTE, rel=1e-12)


def test_a_countys_phone_line_pools_its_segments_calls() -> None:
    """A county's agents are one line's for all its segments' calls: fewer than a queue per
    segment added up (Erlang C pools), never fewer than the busiest segment's own queue, and
    in a county with few calls a handful, not two per segment."""
    assumptions = Assumptions()
    rows = capacity_rows(_loads(), assumptions)
    pooled = pooled_phone_agents(rows, assumptions)
    assert set(pooled) == {"01", "12", "14", "all"}  # all: one national line
    national = [r["phone_agents"] for r in rows if r["region"] == "all"]
    assert max(national) <= pooled["all"] < sum(national)
    for region in ("01", "12", "14"):
        agents = pooled[region]
        own = [r["phone_agents"] for r in rows if r["region"] == region]
        assert max(own) <= agents < sum(own)
        calls = sum(r["contacts_by_channel"]["phone"] for r in rows if r["region"] == region)
        alone = [SegmentLoad("citizens", "regular", region, 1, {"phone": calls}, 0.0)]
        (line,) = [r for r in capacity_rows(alone, assumptions) if r["region"] == region]
        assert agents == line["phone_agents"]  # the same as one segment taking every call
    few = [
        SegmentLoad("citizens", category, "09", 100, {"phone": 40.0}, 0.0)
        for category in ("regular", "irregular", "needs_support")
    ]
    few_rows = capacity_rows(few, assumptions)
    assert sum(r["phone_agents"] for r in few_rows if r["region"] == "09") == 6
    assert pooled_phone_agents(few_rows, assumptions) == {"09": 2, "all": 2}
    result = report(_loads(), assumptions, [ChannelShift("citizens", "irregular", "phone", 0.5)])
    assert result["region_phone_agents"] == pooled
    # The workbook's phone agents sheet gives the same lines beside the segments' queues.
    import io

    import openpyxl

    from segmentation.excel import capacity_workbook

    sheet = openpyxl.load_workbook(io.BytesIO(capacity_workbook(result)))["Telefonagenter"]
    assert sheet.cell(row=3, column=5).value == "Alla segment (en telefonlinje)"
    lines = {
        sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=5).value for r in range(4, 8)
    }
    assert lines == {
        "Stockholms län": pooled["01"],
        "Skåne län": pooled["12"],
        "Västra Götalands län": pooled["14"],
        "Hela landet": pooled["all"],
    }
    assert result["scenario"]["region_phone_agents"]["01"] <= pooled["01"]


def test_moving_irregular_phone_contacts_to_self_service_needs_fewer_agents_and_hours() -> None:
    result = report(_loads(), Assumptions(), [ChannelShift("citizens", "irregular", "phone", 0.2)])
    (irregular,) = [c for c in result["scenario"]["comparison"] if c["category"] == "irregular"]
    assert irregular["scenario_handling_hours"] < irregular["baseline_handling_hours"]
    assert irregular["scenario_phone_agents"] < irregular["baseline_phone_agents"]
    assert irregular["scenario_customers"] == irregular["baseline_customers"]
    (other,) = [c for c in result["scenario"]["comparison"] if c["category"] == "regular"]
    assert other["change_fte"] == 0


def test_moving_customers_between_segments_keeps_the_total() -> None:
    result = report(
        _loads(), Assumptions(), [CustomerMove("citizens", "needs_support", "irregular", 0.1)]
    )
    comparison = {c["category"]: c for c in result["scenario"]["comparison"]}
    needs, irregular = comparison["needs_support"], comparison["irregular"]
    moved = needs["baseline_customers"] - needs["scenario_customers"]
    assert moved > 0
    assert irregular["scenario_customers"] - irregular["baseline_customers"] == moved
    # needs-support customers who live like irregular ones need less handling
    total_before = sum(c["baseline_fte"] for c in comparison.values())
    total_after = sum(c["scenario_fte"] for c in comparison.values())
    assert total_after < total_before


def test_assumptions_are_checked() -> None:
    with pytest.raises(ValueError, match="service_level"):
        Assumptions(service_level=1.2)
    with pytest.raises(ValueError, match="shrinkage"):
        Assumptions(shrinkage=1.0)


def test_absurd_traffic_is_refused_quickly_instead_of_searched() -> None:
    """Found by schemathesis: extreme assumptions made the agent search run for minutes."""
    with pytest.raises(ValueError, match="Erlangs"):
        agents_needed(
            calls=10**9, interval_seconds=3600, handle_seconds=3600, target=0.99, answer_within=1
        )


def test_large_realistic_traffic_is_sized() -> None:
    """2,000 Erlangs (its speed is the walk's O(agents); no clock in a unit test)."""
    agents = agents_needed(
        calls=20_000, interval_seconds=3600, handle_seconds=360, target=0.9, answer_within=20
    )
    assert 2_000 < agents < 2_200


def test_chunk_loads_sum_per_category_and_region_and_merge_back_to_the_whole() -> None:
    import numpy as np
    import pandas as pd

    from segmentation.capacity import chunk_loads, load_rows, merge_loads

    rng = np.random.default_rng(3)
    n = 1_000
    codes = rng.integers(0, 3, n)
    regions = rng.choice(["01", "12", "25"], n)
    behaviour = rng.random((n, 2)) * 10
    names = ["regular", "irregular", "needs_support"]
    halves = [
        chunk_loads(names, codes[part], regions[part], behaviour[part])
        for part in (slice(0, 400), slice(400, n))
    ]
    merged = merge_loads(halves[0], halves[1])
    frame = pd.DataFrame({"category": np.array(names)[codes], "region": regions})
    frame[["a", "b"]] = behaviour
    expected = frame.groupby(["category", "region"]).agg(
        customers=("a", "size"), a=("a", "sum"), b=("b", "sum")
    )
    rows = load_rows(("a", "b"), merged)
    assert len(rows) == len(expected)
    for row in rows:
        want = expected.loc[(row["category"], row["region"])]
        assert row["customers"] == want["customers"]
        assert row["a"] == pytest.approx(want["a"]) and row["b"] == pytest.approx(want["b"])
    # Taking a chunk out again leaves the other; emptied groups are dropped.
    back = {
        (r["category"], r["region"]): r
        for r in load_rows(("a", "b"), merge_loads(merged, halves[1], sign=-1.0))
    }
    first = {(r["category"], r["region"]): r for r in load_rows(("a", "b"), halves[0])}
    assert set(back) == set(first)
    for key, row in first.items():
        assert back[key]["customers"] == row["customers"]
        assert back[key]["a"] == pytest.approx(row["a"])


def test_a_scenario_reads_in_swedish_and_compares_segments_in_reference_order() -> None:
    """The planners' page and workbook say the scenario in Swedish, and list its segments as
    the taxonomy does (regular first), whatever order the changes left them in."""
    changes = [
        ChannelShift("citizens", "irregular", "phone", 0.125),
        CustomerMove("citizens", "needs_support", "irregular", 0.1),
    ]
    result = report(_loads(), Assumptions(), changes)
    scenario = result["scenario"]
    assert scenario["changes_sv"] == [
        "12,5\u00a0% av kontakterna via telefon för oregelbunden vardag flyttas till självservice",
        "10\u00a0% av kunderna i vardag som kräver stöd flyttas till oregelbunden vardag",
    ]
    in_order = ["regular", "irregular", "needs_support"]
    assert [row["category"] for row in scenario["comparison"]] == in_order
    for rows in (result["segments"], scenario["segments"]):
        assert [row["category"] for row in rows if row["region"] == "all"] == in_order
        assert [row["category"] for row in rows if row["region"] == "12"] == in_order


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("irregular:fax:0.2", "channel 'fax'"),
        ("employers/small:office:0.2", "employers' contacts are counted on phone, email, letter"),
        ("iregular:phone:0.2", "category 'iregular': citizens are regular, irregular"),
        ("irregular:phone:1.5", "share 1.5: a fraction between 0 and 1"),
        ("irregular:phone:nan", "share nan"),
        ("irregular-phone", "expected CATEGORY:CHANNEL:SHARE"),
    ],
)
def test_a_shift_that_would_change_nothing_or_makes_no_sense_is_refused(
    text: str, said: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        parse_changes([text], None)


def test_a_move_names_two_different_known_categories() -> None:
    with pytest.raises(ValueError, match="to itself"):
        parse_changes(None, ["irregular:irregular:0.1"])
    with pytest.raises(ValueError, match="category 'supported'"):
        parse_changes(None, ["needs_support:supported:0.1"])
    (move,) = parse_changes(None, ["employers/small:medium_large:0.1"])
    assert move == CustomerMove("employers", "small", "medium_large", 0.1)

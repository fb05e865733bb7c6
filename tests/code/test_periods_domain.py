"""Pure parts of periods (issue 9): warning signals and risk, the borderline channel rule,
drift (PSI), transitions and fairness."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from data_contracts.schemas import CITIZEN_COLUMN_INDEX, CITIZEN_NUMERIC_COLUMNS
from segmentation.drift import PSI_LARGE, band, drift_flags, psi
from segmentation.fairness import fairness_report, legal_sex
from segmentation.taxonomy import BORDERLINE_MARGIN, supportive_choice, supportive_index
from segmentation.transitions import rate, transition_report
from segmentation.warning import SIGNAL_BY_CODE, SIGNALS, risk, signal_codes, signal_flags


def _row(**values: float) -> np.ndarray:
    row = np.zeros(len(CITIZEN_NUMERIC_COLUMNS))
    for name, value in values.items():
        row[CITIZEN_COLUMN_INDEX[name]] = value
    return row


def test_each_documented_signal_is_read_from_its_own_columns() -> None:
    rows = np.vstack(
        [
            _row(),
            _row(benefit_months_foraldrapenning=4),  # started during the period
            _row(benefit_months_foraldrapenning=12),  # paid all year: no change
            _row(reconsiderations=1),
            _row(recovery_claims=2),
            _row(contacts_phone=2, contacts_office=1),  # 3 >= 2.42
            _row(benefit_months_sjukpenning=12),
            _row(benefit_months_aktivitetsstod=6),
            _row(benefit_months_bostadsbidrag=12),
            _row(benefit_months_tillfallig_foraldrapenning=3),  # VAB is sporadic, no signal
        ]
    )
    codes = [signal_codes(int(flags)) for flags in signal_flags(rows)]
    assert codes[0] == [] and codes[2] == [] and codes[9] == []
    assert codes[1] == ["benefit_started"]
    assert codes[3] == ["reconsideration"] and codes[4] == ["recovery_claim"]
    assert codes[5] == ["many_contacts"]
    assert codes[6] == ["sickness"]
    assert codes[7] == ["benefit_started", "unemployment"]  # 6 months: started or stopped
    assert codes[8] == ["housing_allowance"]


def test_risk_weighs_the_probability_and_the_weighted_signals() -> None:
    bits = 1 << SIGNAL_BY_CODE["reconsideration"].bit | 1 << SIGNAL_BY_CODE["sickness"].bit
    got = risk(np.array([0.0, 0.4, 0.4]), np.array([0, 0, bits], dtype=np.int16))
    expected = 0.25 * 0.4 + 0.75 * (0.15 + 0.25)
    assert got.tolist() == pytest.approx([0.0, 0.1, expected])
    assert sum(signal.weight for signal in SIGNALS) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("probabilities", "chosen", "moved"),
    [
        ([0.50, 0.40, 0.10], 1, True),  # regular, irregular close: the more supportive
        ([0.70, 0.20, 0.10], 0, False),  # clear
        ([0.10, 0.45, 0.45 - BORDERLINE_MARGIN / 2], 2, True),
        ([0.05, 0.40, 0.55], 2, False),  # runner-up less supportive: stays
    ],
)
def test_borderline_customers_get_the_more_supportive_channel(
    probabilities: list[float], chosen: int, moved: bool
) -> None:
    categories = ["regular", "irregular", "needs_support"]
    assert supportive_index("citizens", probabilities, categories) == (chosen, moved)
    vector, flags = supportive_choice("citizens", np.array([probabilities]), categories)
    assert (int(vector[0]), bool(flags[0])) == (chosen, moved)


def test_psi_is_zero_for_the_same_population_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    earlier = rng.poisson(2.0, 50_000).astype(float)
    assert psi(earlier, rng.poisson(2.0, 50_000).astype(float)) < 0.01
    shifted = psi(earlier, rng.poisson(4.0, 50_000).astype(float))
    assert shifted > PSI_LARGE and band(shifted) == "large"
    flags = drift_flags({"contacts_phone": shifted, "x": 0.01}, {"regular": -0.08})
    assert flags[0].startswith("contacts_phone: PSI") and "regular: share -8.0%" in flags[1]


def test_transition_rates_are_shares_of_the_row_and_the_watched_flow_is_called_out() -> None:
    counts = [
        {"before": "irregular", "after": "needs_support", "region": "01", "customers": 20},
        {"before": "irregular", "after": "irregular", "region": "01", "customers": 60},
        {"before": "irregular", "after": None, "region": "01", "customers": 20},
        {"before": "regular", "after": "regular", "region": "14", "customers": 100},
        {"before": None, "after": "regular", "region": "14", "customers": 5},
    ]
    report = transition_report("citizens", dt.date(2024, 12, 31), dt.date(2025, 12, 31), counts)
    assert rate(report, "irregular", "needs_support") == pytest.approx(0.2)
    assert rate(report, "irregular", "left") == pytest.approx(0.2)
    assert rate(report, "new", "regular") == pytest.approx(1.0)
    for origin in ("regular", "irregular", "needs_support", "new"):
        shares = [c["rate"] for c in report["matrix"] if c["from"] == origin]
        assert sum(shares) == pytest.approx(1.0) or sum(shares) == 0
    watched = report["watched"]
    assert (watched["customers"], watched["of"]) == (20, 100)
    assert watched["by_region"]["01"]["rate"] == pytest.approx(0.2)


def test_legal_sex_is_read_from_the_second_to_last_digit() -> None:
    # 1968-07-18, serial 566 (even: woman) and 567 (odd: man).
    assert legal_sex(["196807185662", "196807185670"]).tolist() == ["woman", "man"]


def test_a_group_routed_to_less_personal_service_is_flagged() -> None:
    n = 1_000
    groups = pd.DataFrame({"legal_sex": ["man"] * n + ["woman"] * n})
    # Men get personal service 30 % of the time, women 15 %: a ratio of 0.5.
    channels = np.array(
        ["personal_handler"] * 300
        + ["digital_self_service"] * 700
        + ["personal_handler"] * 150
        + ["digital_self_service"] * 850
    )
    categories = np.where(channels == "personal_handler", "needs_support", "regular")
    report = fairness_report("citizens", categories, channels, groups)
    women = report["by"]["legal_sex"]["woman"]
    assert women["ratio_to_most_favoured"] == pytest.approx(0.5)
    assert report["flags"] == ["legal_sex=woman: ratio 0.50"]
    same = np.concatenate([channels[:n], channels[:n]])  # both groups 30 %
    fair = fairness_report("citizens", categories[:n].tolist() * 2, same, groups)
    assert fair["flags"] == [] and fair["min_ratio_legal_sex"] == pytest.approx(1.0)
    # A customer outside every group is counted, as unknown.
    ages = pd.DataFrame({"age_band": [*["under 30"] * (2 * n - 1), None]})
    unknown = fairness_report("citizens", categories, channels, ages)["by"]["age_band"]["unknown"]
    assert unknown["customers"] == 1


def test_the_movement_is_recovered_from_observed_counts_and_the_confusion() -> None:
    from segmentation.transitions import corrected_matrix, review_confusion, with_estimate

    names = ["regular", "irregular", "needs_support"]
    true = np.array([[9000, 700, 40, 300], [340, 500, 140, 30], [30, 100, 840, 30]], float)
    confusion = np.array([[0.90, 0.07, 0.03], [0.05, 0.90, 0.05], [0.05, 0.07, 0.88]])
    after = np.eye(4)
    after[:3, :3] = confusion
    observed = confusion.T @ true @ after  # what the models' categories show
    counts = [
        {"before": a, "after": [*names, None][j], "region": "01", "customers": observed[i, j]}
        for i, a in enumerate(names)
        for j in range(4)
    ]
    report = transition_report("citizens", dt.date(2024, 12, 31), dt.date(2025, 12, 31), counts)
    estimated = corrected_matrix(report, confusion, confusion)
    for i, a in enumerate(names):
        for j, b in enumerate([*names, "left"]):
            assert rate({"matrix": estimated}, a, b) == pytest.approx(
                true[i, j] / true[i].sum(), abs=0.002
            )
    assert with_estimate(report, None, confusion)["estimated"] is None
    # The confusion from reviews: weighted, rows summing to one, identity where unreviewed.
    weights = np.array([1.0, 1.0, 2.0, 1.0])
    got = review_confusion(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 0]), weights, 3)
    assert got.tolist() == [[0.5, 0.5, 0.0], [1 / 3, 2 / 3, 0.0], [0.0, 0.0, 1.0]]


def _calibrated_world(rng: np.random.Generator, truth: np.ndarray, sharpness: float) -> np.ndarray:
    """Probabilities that are each customer's exact posterior (features drawn afresh around
    their true category, Bayes' rule with the categories' shares), then made less confident
    by ``sharpness`` < 1, as the segmenter's were found to be."""
    size = 3
    features = 2.0 * np.eye(size)[truth] + rng.normal(0, 1, (len(truth), size))
    shares = np.bincount(truth, minlength=size) / len(truth)
    logits = 2.0 * features + np.log(shares)
    exact = np.exp(logits - logits.max(axis=1, keepdims=True))
    exact /= exact.sum(axis=1, keepdims=True)
    softened = exact**sharpness
    out: np.ndarray = softened / softened.sum(axis=1, keepdims=True)
    return out


def test_calibration_on_reviews_restores_confidence() -> None:
    from models.calibration import apply_calibration, fit_calibration

    rng = np.random.default_rng(3)
    truth = rng.choice(3, size=20_000, p=[0.79, 0.11, 0.10])
    soft = _calibrated_world(rng, truth, sharpness=0.5)
    assert fit_calibration(soft[:50], truth[:50]) is None  # too few reviews
    calibration = fit_calibration(soft[:1000], truth[:1000])
    assert calibration is not None and calibration[0] == pytest.approx(2.0, rel=0.25)
    fixed = apply_calibration(soft[1000:], calibration)
    rows = np.arange(len(fixed))

    def loss(p: np.ndarray) -> float:
        return float(-np.mean(np.log(p[rows, truth[1000:]])))

    assert loss(fixed) < loss(soft[1000:])
    assert apply_calibration(soft, None) is soft


def test_expected_errors_correct_the_movement_without_a_truth_file() -> None:
    from segmentation.transitions import (
        corrected_matrix,
        merge_soft,
        period_confusion,
        soft_confusion,
    )

    rng = np.random.default_rng(8)
    names = ["regular", "irregular", "needs_support"]
    n = 60_000
    first = rng.choice(3, size=n, p=[0.79, 0.11, 0.10])
    stay = np.array([0.93, 0.5, 0.85])
    second = np.where(rng.random(n) < stay[first], first, rng.choice(3, size=n))
    # Each period's probabilities are calibrated for its own truth, drawn afresh.
    truths = [first, second]
    probabilities = [_calibrated_world(rng, t, sharpness=1.0) for t in truths]
    predicted = [p.argmax(axis=1) for p in probabilities]
    soft = [
        merge_soft(
            soft_confusion(p[: n // 2], k[: n // 2], names),
            soft_confusion(p[n // 2 :], k[n // 2 :], names),
        )
        for p, k in zip(probabilities, predicted, strict=True)
    ]
    observed = np.zeros((3, 4))
    np.add.at(observed, (predicted[0], predicted[1]), 1)
    counts = [
        {"before": a, "after": b, "region": "01", "customers": observed[i, j]}
        for i, a in enumerate(names)
        for j, b in enumerate(names)
    ]
    report = transition_report("citizens", dt.date(2024, 12, 31), dt.date(2025, 12, 31), counts)
    confusions = [period_confusion(s, names) for s in soft]
    assert all(c is not None for c in confusions)
    estimated = corrected_matrix(report, confusions[0], confusions[1])  # type: ignore[arg-type]
    true = np.zeros((3, 3))
    np.add.at(true, (truths[0], truths[1]), 1)
    true_rates = true / true.sum(axis=1, keepdims=True)
    worst_observed = max(
        abs(rate(report, a, b) - true_rates[i, j])
        for i, a in enumerate(names)
        for j, b in enumerate(names)
    )
    worst_estimated = max(
        abs(rate({"matrix": estimated}, a, b) - true_rates[i, j])
        for i, a in enumerate(names)
        for j, b in enumerate(names)
    )
    assert worst_estimated < 0.02 < worst_observed
    assert period_confusion({}, names) is None  # a period scored before they were kept


def test_a_small_index_keeps_its_decimals_on_the_pages() -> None:
    """A population stability index of 0.04 is not shown as 0 (the bands are 0.1 and 0.25)."""
    from api.web.labels import number

    assert number(0.0412, "index") == "0,041"
    assert number(0.31, "index") == "0,310"
    # The plain form rounds to one decimal, but an amount under 0,05 (a county's 0,04
    # FTE) keeps its first two digits instead of reading as none.
    assert number(0.0412) == "0,041" and number(0.0) == "0" and number(0.25) == "0,2"
    # A change keeps its sign and, when small, its first digits: never a bare "-0".
    assert number(-0.0412, "change") == "\u22120,041"
    assert number(2.35, "change") == "+2,4" and number(-1234.0, "change") == "\u22121\u00a0234"
    assert number(0.0, "change") == "0" and number(0.00001234, "change") == "+0,000012"
    # The model's probabilities on the card: never "100 %" or "0 %" for what is only likely.
    assert number(0.9973, "probability") == "över 99\u00a0%"
    assert number(0.0021, "probability") == "under 1\u00a0%"
    assert number(0.62, "probability") == "62\u00a0%" and number(1.0, "probability") == "100\u00a0%"


def test_the_cards_features_read_as_a_case_handler_reads_them() -> None:
    from api.web.labels import feature_value

    assert feature_value("personal_contact_share", 0.7) == "70\u00a0%"
    assert feature_value("payroll_integration", 1.0) == "ja"
    assert feature_value("payroll_integration", 0.0) == "nej"
    assert feature_value("contacts_per_year", 5.0) == "5"
    assert feature_value("handling_minutes", 1234.0) == "1\u00a0234"


def test_a_long_tag_breaks_between_its_words_and_stays_escaped() -> None:
    """Training's tags on the models page: a break is offered after ``_`` and ``=`` (never
    inside a word), and what the tag holds is still escaped."""
    from api.web.labels import breakable

    assert breakable("contacts_phone: PSI 8.38") == "contacts_<wbr>phone: PSI 8.38"
    assert breakable("county=Gotlands län") == "county=<wbr>Gotlands län"
    assert breakable("<b>x_y</b>") == "&lt;b&gt;x_<wbr>y&lt;/b&gt;"


def test_the_drift_page_names_every_input_and_says_why_in_swedish() -> None:
    """Every contract input has a Swedish name on the drift table, and the reasons to
    retrain are said in Swedish from the report's figures."""
    from api.web.labels import INPUT_SV, drift_flags
    from segmentation.features import NUMERIC_COLUMNS

    for columns in NUMERIC_COLUMNS.values():
        assert set(columns) <= set(INPUT_SV)
    report = {
        "input_psi": {
            "contacts_phone": {"psi": 0.31, "band": "large"},
            "life_events": {"psi": 0.12, "band": "moderate"},
        },
        "share_vs_previous": {"regular": -0.08, "irregular": 0.07, "needs_support": 0.01},
        "flags": ["contacts_phone: PSI 0.31", "regular: share -8.0%", "irregular: share +7.0%"],
    }
    assert drift_flags(report) == [
        "kontakter per telefon: PSI 0,310 (stor förändring)",
        "Regelbunden vardag: andelen minskade med 8 procentenheter",
        "Oregelbunden vardag: andelen ökade med 7 procentenheter",
    ]
    assert drift_flags({"input_psi": {}, "share_vs_previous": None}) == []


def test_the_models_page_says_a_versions_tags_in_swedish() -> None:
    """The drift and fairness tags on a model version (English, for MLflow) are read back
    and said in Swedish, the drift as Förändringar says it from the report's figures; a
    text of another shape is shown as it is."""
    from api.web.labels import drift_flags as said
    from api.web.labels import drift_tag, fairness_tag, input_names

    psis = {"contacts_phone": 0.3127, "life_events": 0.12}  # "0,313" on both pages
    changes = {"regular": -0.08, "irregular": 0.07, "needs_support": 0.01}
    report = {
        "input_psi": {name: {"psi": value, "band": band(value)} for name, value in psis.items()},
        "share_vs_previous": changes,
    }
    assert drift_tag("; ".join(drift_flags(psis, changes))) == said(report)
    assert drift_tag("written by hand") == ["written by hand"]
    n = 100
    groups = pd.DataFrame({"legal_sex": ["man"] * n + ["woman"] * n})
    channels = np.array(["personal_handler", "digital_self_service"] * n)
    channels[n:] = ["personal_handler"] * 25 + ["digital_self_service"] * 75  # women: 0.5
    flagged = fairness_report("citizens", ["regular"] * 2 * n, channels, groups)["flags"]
    tag = "; ".join(
        [*flagged, "age_band=65 and over: ratio 0.24", "county=Gotlands län: ratio 0.75"]
    )
    assert fairness_tag(tag) == [
        "kvinnor: kvot 0,50",
        "65 år och äldre: kvot 0,24",
        "Gotlands län: kvot 0,75",
    ]
    assert input_names("life_events, contacts_phone") == (
        "registrerade livshändelser, kontakter per telefon"
    )


def test_times_on_the_pages_are_the_agencys() -> None:
    import datetime as dt

    from api.web.labels import local_time

    winter = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)  # already 2027 in Sweden
    assert local_time(winter, "Europe/Stockholm") == (
        '<time datetime="2026-12-31T23:30:00+00:00">2027-01-01 00:30</time>'
    )
    summer = dt.datetime(2026, 6, 1, 12, 0)  # naive, as SQLite gives it back: UTC
    assert ">2026-06-01 14:00<" in local_time(summer, "Europe/Stockholm")
    assert ">2026-06-01 15:00<" in local_time(summer, "Europe/Helsinki")

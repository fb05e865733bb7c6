import pandas as pd
import pytest

from data_contracts.validation import ContractError, validate
from tests.factories import citizen_row, employer_row

BAD_CITIZENS = {
    "bad check digit": ({"customer_id": "198112189875"}, "customer_id: bad check digit"),
    "impossible date": ({"customer_id": "198113189876"}, "customer_id: not a calendar date"),
    "negative count": ({"contacts_phone": -1}, "contacts_phone: greater_than_or_equal_to(0)"),
    "months over 12": ({"benefit_months_sjukpenning": 13}, "benefit_months_sjukpenning"),
    "unknown region": ({"region": "26"}, "region: not a county code"),
    "NaN": ({"handling_minutes": float("nan")}, "handling_minutes: not_nullable"),
    "wrong type": ({"contacts_office": "three"}, "contacts_office: coerce_dtype"),
    "born after period": ({"birth_year": 2030}, "birth_year"),
}


def test_every_kind_of_bad_row_is_set_aside_with_its_reason() -> None:
    good = [citizen_row(), citizen_row(customer_id="199001012385")]
    bad = [citizen_row(**change) for change, _ in BAD_CITIZENS.values()]
    frame = pd.DataFrame(good + bad)
    frame["an_extra_column"] = "ignored"

    result = validate(frame, "citizens")

    assert result.counts == {"accepted": 2, "rejected": len(BAD_CITIZENS)}
    assert len(result.accepted) + len(result.rejected) == len(frame)  # nothing lost
    for (_, expected), reason in zip(BAD_CITIZENS.values(), result.rejected["reason"], strict=True):
        assert expected in reason
    # the rejected rows are returned as given, extra columns included
    assert "an_extra_column" in result.rejected.columns
    assert result.accepted["contacts_phone"].dtype.kind == "i"


def test_missing_column_names_it() -> None:
    frame = pd.DataFrame([citizen_row()]).drop(columns=["life_events"])
    with pytest.raises(ContractError, match="life_events"):
        validate(frame, "citizens")


def test_clean_table_is_accepted_whole() -> None:
    frame = pd.DataFrame([citizen_row() for _ in range(5)])
    result = validate(frame, "citizens")
    assert result.counts == {"accepted": 5, "rejected": 0}


def test_employer_rules() -> None:
    frame = pd.DataFrame(
        [
            employer_row(),
            employer_row(org_number="5510360793"),
            employer_row(cases=-2),
            employer_row(payroll_integration=None),
        ]
    )
    result = validate(frame, "employers")
    assert result.counts == {"accepted": 1, "rejected": 3}
    reasons = result.rejected["reason"].tolist()
    assert "org_number: third digit below 2" in reasons[0]
    assert "cases" in reasons[1]
    assert "payroll_integration" in reasons[2]


def test_several_problems_in_one_row_are_all_reported() -> None:
    frame = pd.DataFrame([citizen_row(customer_id="198112189875", contacts_phone=-3, region="99")])
    reason = validate(frame, "citizens").rejected["reason"].iloc[0]
    assert "customer_id" in reason and "contacts_phone" in reason and "region" in reason


@pytest.mark.parametrize("bad", [None, "yes", "true", 1, 2, float("nan")])
def test_a_bad_boolean_alone_is_rejected(bad: object) -> None:
    """Every rule rejects on its own: a table whose only defect is one bad boolean."""
    rows = [employer_row() for _ in range(19)] + [employer_row(payroll_integration=bad)]
    result = validate(pd.DataFrame(rows), "employers")
    assert result.counts == {"accepted": 19, "rejected": 1}
    assert result.rejected["reason"].iloc[0].startswith("payroll_integration: not a boolean")


def test_every_copy_of_a_repeated_id_is_set_aside() -> None:
    rows = [
        citizen_row(customer_id="198112189876"),
        citizen_row(),
        citizen_row(customer_id="198112189876"),
    ]
    result = validate(pd.DataFrame(rows), "citizens")
    assert result.counts == {"accepted": 1, "rejected": 2}
    assert result.rejected["reason"].tolist() == ["duplicate customer_id"] * 2
    # Repeated in another chunk of the same file: named by the caller.
    row = citizen_row()
    elsewhere = validate(pd.DataFrame([row]), "citizens", frozenset({row["customer_id"]}))
    assert elsewhere.counts == {"accepted": 0, "rejected": 1}


def test_a_row_s_reasons_come_in_the_order_its_checks_run() -> None:
    # Text in a number, then the repeated id (looked for beside pandera's checks), then
    # pandera's own findings; a bad identity number leads.
    rows = [
        citizen_row(customer_id="198112189876", contacts_phone=-1, contacts_office="three"),
        citizen_row(),
        citizen_row(customer_id="198112189876"),
    ]
    assert validate(pd.DataFrame(rows), "citizens").rejected["reason"].tolist() == [
        "contacts_office: a number, not text ('three'); duplicate customer_id; "
        "contacts_office: coerce_dtype('int64') ('three'); "
        "contacts_phone: greater_than_or_equal_to(0) (-1)",
        "duplicate customer_id",
    ]
    rows = [
        citizen_row(customer_id="198112189875", contacts_phone=-1),
        citizen_row(customer_id="198112189875"),
        citizen_row(),
    ]
    assert validate(pd.DataFrame(rows), "citizens").rejected["reason"].tolist() == [
        "customer_id: bad check digit; duplicate customer_id; "
        "contacts_phone: greater_than_or_equal_to(0) (-1)",
        "customer_id: bad check digit; duplicate customer_id",
    ]


def test_a_count_given_as_text_is_refused_as_the_api_refuses_it() -> None:
    rows = [citizen_row(), citizen_row(contacts_phone="5"), citizen_row(contacts_phone=5)]
    frame = pd.DataFrame(rows)  # an object column: numbers and one text
    result = validate(frame, "citizens")
    assert result.counts == {"accepted": 2, "rejected": 1}
    assert result.rejected["reason"].iloc[0] == "contacts_phone: a number, not text ('5')"


def test_unrecorded_names_the_count_columns_no_customer_has() -> None:
    """A count or handling-time column 0 on every row is named (an extract that left it
    out); a column one customer has is not, nor a benefit nobody holds, nor an empty table."""
    from data_contracts.validation import unrecorded

    rows = pd.DataFrame(
        [citizen_row(contacts_phone=2), citizen_row(life_events=0, handling_minutes=0.0)]
    )
    found = unrecorded(rows, "citizens")
    assert "contacts_phone" not in found and "applications_online" not in found
    assert {"contacts_office", "life_events", "reconsiderations"} <= set(found)
    assert "portal_logins" not in found and "handling_minutes" not in found
    assert not any(column.startswith("benefit") for column in found)
    assert unrecorded(rows.iloc[:0], "citizens") == []
    employers = pd.DataFrame([employer_row(), employer_row(applications_electronic=3)])
    assert unrecorded(employers, "employers") == ["contacts_letter"]

import numpy as np
import pandas as pd
import pytest

from data_contracts.identifiers import (
    luhn_check_digit,
    organisation_number_problems,
    personal_number_problems,
)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("198112189876", ""),
        ("198112189875", "bad check digit"),
        ("198113189876", "not a calendar date"),
        ("19811218987", "not 12 digits"),
        ("8112189876", "not 12 digits"),
        ("19811218987X", "not 12 digits"),
        (None, "not 12 digits"),
        ("20230230" + "1234", "not a calendar date"),  # 30 February
        # Twelve bytes, not twelve digits: the bytes just below and above "0"-"9", and six
        # two-byte letters (the digits are checked as bytes).
        ("1981121898/6", "not 12 digits"),
        ("1981121898:6", "not 12 digits"),
        ("éééééé", "not 12 digits"),
    ],
)
def test_personal_number_rules(value: str | None, problem: str) -> None:
    assert personal_number_problems(pd.Series([value])).iloc[0] == problem


def test_coordination_number_is_day_plus_sixty() -> None:
    body = np.array([[8, 1, 1, 2, 7, 8, 9, 8, 7]])  # 811278-987: day 78 = 18 + 60
    number = "19811278987" + str(int(luhn_check_digit(body)[0]))
    assert personal_number_problems(pd.Series([number])).iloc[0] == ""
    # day 92 would be 32: not a date
    body = np.array([[8, 1, 1, 2, 9, 2, 9, 8, 7]])
    number = "19811292987" + str(int(luhn_check_digit(body)[0]))
    assert personal_number_problems(pd.Series([number])).iloc[0] == "not a calendar date"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("5560360793", ""),
        ("5560360794", "bad check digit"),
        ("5510360793", "third digit below 2"),
        ("556036079", "not 10 digits"),
    ],
)
def test_organisation_number_rules(value: str, problem: str) -> None:
    assert organisation_number_problems(pd.Series([value])).iloc[0] == problem


def test_scalar_checks_agree_with_the_vectorised_ones() -> None:
    from data_contracts.identifiers import organisation_number_problem, personal_number_problem
    from training.synthetic import generate_citizens, generate_employers

    rng = np.random.default_rng(3)
    citizens, _ = generate_citizens(2_000, seed=3)
    employers, _ = generate_employers(500, seed=3)
    people = list(citizens["customer_id"].astype(str))
    people += [p[:-1] + str((int(p[-1]) + 1) % 10) for p in people[:300]]  # bad check digits
    people += [str(rng.integers(10**11, 10**12)) for _ in range(500)]  # random 12 digits
    people += ["19811218987", "x" * 12, "１９８１１２１８９８７６", "", "198112189876 "]
    people += ["1981121898/6", "/98112189876", "1981121898:6", "éééééé", "\x00" * 12]
    organisations = list(employers["org_number"].astype(str))
    organisations += [str(rng.integers(10**9, 10**10)) for _ in range(500)]
    for value in people:
        expected = personal_number_problems(pd.Series([value])).iloc[0]
        assert personal_number_problem(value) == expected, value
    for value in organisations:
        expected = organisation_number_problems(pd.Series([value])).iloc[0]
        assert organisation_number_problem(value) == expected, value


def test_validated_ids_become_the_integers_they_spell() -> None:
    import numpy as np
    import pandas as pd

    from data_contracts.identifiers import as_integers

    ids = pd.Series(["198112189876", "000000000019", "202001010005"], dtype="string")
    assert as_integers(ids).tolist() == [198112189876, 19, 202001010005]
    assert as_integers(ids).dtype == np.int64


def test_a_column_of_arrow_strings_is_checked_as_one_of_python_strings() -> None:
    # Parquet's ids arrive as pandas' Arrow-backed strings and are checked without a Python
    # string per value; the answers are those for the same values held as objects.
    values = ["198112189876", "198112189875", None, "１９８１１２１８９８７６", "", "x" * 12]
    values += ["5560360793", "5510360793", "20230230" + "1234", "198112189876 "]
    as_objects = pd.Series(values, dtype=object)
    for dtype in ("str", "string"):
        as_arrow = pd.Series(values, dtype=dtype)
        pd.testing.assert_series_equal(
            personal_number_problems(as_arrow), personal_number_problems(as_objects)
        )
        pd.testing.assert_series_equal(
            organisation_number_problems(as_arrow), organisation_number_problems(as_objects)
        )
    # A slice keeps its own rows (an Arrow array starting part-way into its buffers).
    tail = pd.Series(values, dtype="str").iloc[3:]
    pd.testing.assert_series_equal(
        personal_number_problems(tail), personal_number_problems(as_objects.iloc[3:])
    )

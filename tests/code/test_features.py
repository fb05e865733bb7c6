import numpy as np
import pandas as pd
import pytest

from segmentation.features import NUMERIC_COLUMNS, build_features, feature_names, numeric_matrix
from segmentation.life_situations import life_situations, row_life_situations
from segmentation.taxonomy import Population
from tests.factories import citizen_row
from training.synthetic import generate_citizens, generate_employers


def test_features_never_use_birth_year_or_region() -> None:
    base = pd.DataFrame([citizen_row()])
    other = pd.DataFrame([citizen_row(birth_year=1930, region="25")])
    first = build_features(numeric_matrix(base, "citizens"), "citizens")
    second = build_features(numeric_matrix(other, "citizens"), "citizens")
    np.testing.assert_array_equal(first, second)


def test_sick_child_days_are_not_a_life_change() -> None:
    names = feature_names("citizens")
    vab = pd.DataFrame([citizen_row(benefit_months_tillfallig_foraldrapenning=2)])
    sick = pd.DataFrame([citizen_row(benefit_months_sjukpenning=2)])
    changing = names.index("changing_benefits")
    assert build_features(numeric_matrix(vab, "citizens"), "citizens")[0, changing] == 0
    assert build_features(numeric_matrix(sick, "citizens"), "citizens")[0, changing] == 1


def test_no_contacts_gives_finite_shares() -> None:
    frame = pd.DataFrame([citizen_row(applications_online=0)])
    features = build_features(numeric_matrix(frame, "citizens"), "citizens")
    assert np.isfinite(features).all()


@pytest.mark.parametrize("population", ["citizens", "employers"])
def test_one_row_gives_exactly_the_batch_features_and_tags(population: Population) -> None:
    """The API scores one row through the scalar path of the same code; it must agree with
    the batch path on varied rows (zeros, twelve-month benefits, big counts): tags exactly,
    features to 1e-12 (``math.log1p`` and numpy's vectorised log1p may differ in the last
    bit)."""
    generate = generate_citizens if population == "citizens" else generate_employers
    frame, _ = generate(2_000, seed=7)
    raw = numeric_matrix(frame, population)
    raw[:50] = 0.0  # nothing at all: shares of zero must come out as 0, not NaN
    batch = build_features(raw, population)
    batch_tags = life_situations(raw, population)
    for index in range(len(raw)):
        np.testing.assert_allclose(
            build_features(raw[index], population), batch[index], rtol=1e-12, atol=0
        )
        assert row_life_situations(raw[index], population) == batch_tags[index]


def test_the_numeric_matrix_is_the_frames_columns_as_float64_however_built() -> None:
    frame = generate_citizens(2_000, seed=3)[0]
    columns = list(NUMERIC_COLUMNS["citizens"])
    expected = frame[columns].to_numpy(dtype=np.float64)
    built = numeric_matrix(frame, "citizens")
    np.testing.assert_array_equal(built, expected)
    assert built.flags.f_contiguous  # column-major, as the columns are filled
    made = []

    def allocate(shape, dtype, order):  # e.g. shared memory: the matrix is built there
        made.append(np.empty(shape, dtype=dtype, order=order))
        return made[-1]

    assert numeric_matrix(frame, "citizens", allocate) is made[0]
    np.testing.assert_array_equal(made[0], expected)
    # A nullable integer column (as pandas reads one with a gap) converts as pandas does.
    frame[columns[0]] = frame[columns[0]].astype("Int64")
    np.testing.assert_array_equal(numeric_matrix(frame, "citizens"), expected)

import numpy as np
import pandas as pd

from segmentation.features import build_features, feature_names, numeric_matrix
from tests.factories import citizen_row


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

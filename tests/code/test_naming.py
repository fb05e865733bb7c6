import numpy as np

from segmentation.naming import name_clusters, profile_loss


def _population(seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Five clusters: three quiet ones (regular), one changing (irregular), one busy."""
    rng = np.random.default_rng(seed)
    sizes = [3000, 2500, 2400, 1100, 1000]
    contacts_mean = [0.3, 0.5, 0.4, 0.9, 6.5]
    minutes_mean = [20.0, 30.0, 28.0, 25.0, 39.0]
    change = [0.05, 0.05, 0.05, 0.95, 0.4]
    benefits = [1.0, 1.0, 1.0, 1.2, 3.0]
    labels = np.repeat(np.arange(5), sizes)
    metrics = {
        "contacts_per_year": rng.poisson(np.repeat(contacts_mean, sizes)).astype(float),
        "handling_minutes": rng.gamma(2.0, np.repeat(minutes_mean, sizes) / 2.0),
        "life_change_rate": (rng.random(labels.size) < np.repeat(change, sizes)).astype(float),
        "concurrent_benefits": np.repeat(benefits, sizes),
    }
    return labels, metrics, np.array([0, 0, 0, 1, 2])


def test_clusters_are_named_by_their_profile_not_their_number() -> None:
    labels, metrics, expected = _population()
    naming = name_clusters("citizens", labels, metrics, 5)
    assert naming.cluster_category.tolist() == expected.tolist()

    # Renumbering the clusters renames them consistently.
    permutation = np.array([4, 2, 0, 3, 1])
    renamed = name_clusters("citizens", permutation[labels], metrics, 5)
    assert renamed.cluster_category[permutation].tolist() == expected.tolist()


def test_merged_profile_is_reported_beside_the_reference() -> None:
    labels, metrics, _ = _population()
    profiles = name_clusters("citizens", labels, metrics, 5).profiles
    assert set(profiles.index) == {"regular", "irregular", "needs_support"}
    assert abs(profiles["share"].sum() - 1.0) < 1e-9
    assert profiles.loc["needs_support", "reference_contacts_per_year"] == 6.5


def test_profile_loss_is_lower_for_the_right_labelling() -> None:
    labels, metrics, expected = _population()
    right = expected[labels]
    swapped = np.array([1, 0, 0, 0, 2])[labels]
    assert profile_loss("citizens", right, metrics) < profile_loss("citizens", swapped, metrics)

"""Naming clusters: by the traits the source documents give, by reviews, or by the champion.

Clusters are found without labels, many more of them than there are categories. Each is
then named on its own, in this order of evidence:

1. case handlers' reviews of its members (``reviews.parquet``), when it has any;
2. otherwise the current champion's categories of its members, so that a re-fit or next
   period's retrain keeps its names (issue 8, "stable names");
3. otherwise the documented traits of seed 004 (``taxonomy.TraitRule``).

The shares that result are whatever the population has: the reference shares are reported
beside them as drift, never used to force a partition (an earlier method matched shares to
the reference and put most individuals of other populations in the wrong category).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation.taxonomy import CATEGORIES, CITIZEN_TRAITS, Population, TraitRule

#: How many reviews a cluster's prior name (traits or champion) counts as.
PRIOR_REVIEWS = 2.0


@dataclass(frozen=True)
class ClusterNames:
    """The category of each cluster, how sure the naming is (0-1), and what named it."""

    category: np.ndarray  # (n_clusters,) category index
    confidence: np.ndarray  # (n_clusters,) in [0, 1]
    source: np.ndarray  # (n_clusters,) "traits", "champion" or "reviews"


def cluster_profiles(
    labels: np.ndarray, metrics: dict[str, np.ndarray], n_clusters: int
) -> pd.DataFrame:
    """Share and mean of each metric per cluster (index: cluster number)."""
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    table = {"share": counts / max(counts.sum(), 1.0), "n": counts}
    for name, values in metrics.items():
        sums = np.bincount(labels, weights=values, minlength=n_clusters)
        table[name] = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return pd.DataFrame(table)


def category_profiles(
    population: Population, labels: np.ndarray, metrics: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Per category: observed share and metrics beside the reference values."""
    categories = CATEGORIES[population]
    observed = cluster_profiles(labels, metrics, len(categories))
    rows = []
    for index, category in enumerate(categories):
        row: dict[str, object] = {
            "category": category.name,
            "share": float(observed["share"].to_numpy()[index]),
            "reference_share": category.share,
        }
        for metric, reference in category.profile.items():
            row[metric] = float(observed[metric].to_numpy()[index])
            row[f"reference_{metric}"] = reference
        rows.append(row)
    return pd.DataFrame(rows).set_index("category")


def _contact_score(contacts_per_year: np.ndarray) -> np.ndarray:
    """Where contacts a year lie on a log scale: 0 at the irregular reference (0.9), 1 at the
    needs-support reference (6.5)."""
    profile = {category.name: category.profile for category in CATEGORIES["citizens"]}
    low = np.log(profile["irregular"]["contacts_per_year"] + 0.1)
    high = np.log(profile["needs_support"]["contacts_per_year"] + 0.1)
    return np.asarray((np.log(contacts_per_year + 0.1) - low) / (high - low))


def name_by_traits(
    profiles: pd.DataFrame, rule: TraitRule = CITIZEN_TRAITS
) -> tuple[np.ndarray, np.ndarray]:
    """Category index (regular 0, irregular 1, needs_support 2) and confidence per cluster,
    from the clusters' mean contacts, long dependency benefits and change rate (the
    contact threshold rising with the change rate: ``TraitRule``)."""
    change = profiles["life_change_rate"].to_numpy() - rule.change_rate
    # The contact threshold: the geometric middle, rising for a group going through changes.
    changing = np.clip(change / (1.0 - rule.change_rate), 0.0, 1.0)
    threshold = 0.5 + rule.change_contact_shift * changing
    contacts = _contact_score(profiles["contacts_per_year"].to_numpy()) - threshold
    benefits = profiles["long_dependency_benefits"].to_numpy() - rule.long_dependency_benefits
    support_evidence = np.maximum(contacts / rule.contact_margin, benefits / rule.benefit_margin)
    needs_support = support_evidence > 0
    irregular = ~needs_support & (change >= 0)
    category = np.where(needs_support, 2, np.where(irregular, 1, 0))
    confidence = np.where(
        needs_support,
        np.abs(support_evidence),
        np.minimum(np.abs(support_evidence), np.abs(change) / rule.change_margin),
    )
    return category.astype(np.int64), np.clip(confidence, 0.0, 1.0)


def name_clusters(
    population: Population,
    labels: np.ndarray,
    metrics: dict[str, np.ndarray],
    n_clusters: int,
    *,
    champion_codes: np.ndarray | None = None,
    reviewed: np.ndarray | None = None,
) -> ClusterNames:
    """Name each of ``n_clusters`` clusters (see the module docstring).

    ``champion_codes``: the champion's category index of each row (stable names).
    ``reviewed``: the reviewed category index of each row, -1 where not reviewed.
    """
    n_categories = len(CATEGORIES[population])
    if champion_codes is not None:
        votes = np.zeros((n_clusters, n_categories))
        np.add.at(votes, (labels, champion_codes), 1.0)
        totals = np.maximum(votes.sum(axis=1), 1.0)
        category = votes.argmax(axis=1)
        # A cluster the champion splits evenly is named with little confidence.
        confidence = np.clip((votes.max(axis=1) / totals - 0.5) / 0.4, 0.0, 1.0)
        source = np.full(n_clusters, "champion", dtype=object)
    else:
        profiles = cluster_profiles(labels, metrics, n_clusters)
        category, confidence = name_by_traits(profiles)
        source = np.full(n_clusters, "traits", dtype=object)
    if reviewed is not None and (reviewed >= 0).any():
        known = reviewed >= 0
        counts = np.zeros((n_clusters, n_categories))
        np.add.at(counts, (labels[known], reviewed[known]), 1.0)
        has_reviews = counts.sum(axis=1) > 0
        prior = np.eye(n_categories)[category] * PRIOR_REVIEWS * confidence[:, None]
        posterior = counts + prior
        share = posterior.max(axis=1) / np.maximum(posterior.sum(axis=1), 1e-9)
        category = np.where(has_reviews, posterior.argmax(axis=1), category)
        confidence = np.where(has_reviews, np.clip((share - 0.5) / 0.4, 0.0, 1.0), confidence)
        source = np.where(has_reviews, "reviews", source)
    return ClusterNames(
        category=np.asarray(category, dtype=np.int64),
        confidence=np.asarray(confidence, dtype=np.float64),
        source=np.asarray(source),
    )

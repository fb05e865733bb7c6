"""Naming clusters: compare each cluster's profile with the reference table of SPEC §1.

Clusters are found without labels, usually more of them than there are categories. Each
cluster is then given the category that makes the merged categories look most like the
reference: every assignment of clusters to categories is scored by how far the resulting
shares and profiles lie from the reference, in units of the tolerance we accept (2 share
points, 15 % of a profile value), and the closest assignment wins.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation.taxonomy import CATEGORIES, DISTINCTIVE_TRAITS, Population

SHARE_TOLERANCE = 0.02
PROFILE_TOLERANCE = 0.15
#: Each cluster must itself look like the category it joins, within this looser tolerance;
#: otherwise a very quiet and a very busy cluster could merge into a fake middle category.
CLUSTER_TOLERANCE = 0.45
MAX_CLUSTERS = 12


@dataclass(frozen=True)
class Naming:
    """Which category each cluster became, and how close the result is to the reference."""

    cluster_category: np.ndarray  # (n_clusters,) category index per cluster
    loss: float
    profiles: pd.DataFrame  # per category: share and metrics beside the reference


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


def _assignment_losses(
    assignments: np.ndarray, profiles: pd.DataFrame, population: Population
) -> np.ndarray:
    categories = CATEGORIES[population]
    shares = profiles["share"].to_numpy()
    losses = np.zeros(len(assignments))
    for index, category in enumerate(categories):
        members = (assignments == index).astype(np.float64)  # (A, K)
        share = members @ shares
        empty = share <= 0
        losses += ((share - category.share) / SHARE_TOLERANCE) ** 2
        for metric, reference in category.profile.items():
            value = np.divide(
                members @ (shares * profiles[metric].to_numpy()),
                share,
                out=np.zeros_like(share),
                where=~empty,
            )
            scale = max(reference, 1.0) * PROFILE_TOLERANCE
            losses += ((value - reference) / scale) ** 2
            cluster_gap = (
                (profiles[metric].to_numpy() - reference)
                / (max(reference, 1.0) * CLUSTER_TOLERANCE)
            ) ** 2
            losses += np.divide(
                members @ (shares * cluster_gap), share, out=np.zeros_like(share), where=~empty
            )
        losses[empty] = np.inf
    losses += _trait_penalties(assignments, profiles, population)
    return losses


def _trait_penalties(
    assignments: np.ndarray, profiles: pd.DataFrame, population: Population
) -> np.ndarray:
    """Penalty when the category a documented trait belongs to does not show it most."""
    names = [category.name for category in CATEGORIES[population]]
    shares = profiles["share"].to_numpy()
    penalty = np.zeros(len(assignments))
    for metric, owner in DISTINCTIVE_TRAITS[population].items():
        if metric not in profiles:
            continue
        values = []
        for index in range(len(names)):
            members = (assignments == index).astype(np.float64)
            share = members @ shares
            values.append(
                np.divide(
                    members @ (shares * profiles[metric].to_numpy()),
                    share,
                    out=np.zeros_like(share),
                    where=share > 0,
                )
            )
        stacked = np.column_stack(values)
        own = stacked[:, names.index(owner)]
        others = np.delete(stacked, names.index(owner), axis=1).max(axis=1)
        # The owner should lead clearly: by at least a tenth of its own value.
        shortfall = np.maximum(others * 1.1 - own, 0.0)
        penalty += (shortfall / (SHARE_TOLERANCE + 0.05 * np.abs(own))) ** 2
    return penalty


def name_clusters(
    population: Population, labels: np.ndarray, metrics: dict[str, np.ndarray], n_clusters: int
) -> Naming:
    """Give each of ``n_clusters`` clusters the category that best matches the reference."""
    if n_clusters > MAX_CLUSTERS:
        raise ValueError(f"at most {MAX_CLUSTERS} clusters can be named, got {n_clusters}")
    n_categories = len(CATEGORIES[population])
    profiles = cluster_profiles(labels, metrics, n_clusters)
    assignments = np.array(
        list(itertools.product(range(n_categories), repeat=n_clusters)), dtype=np.int8
    )
    losses = _assignment_losses(assignments, profiles, population)
    best = int(np.argmin(losses))
    mapping = assignments[best].astype(np.int64)
    return Naming(
        cluster_category=mapping,
        loss=float(losses[best]),
        profiles=category_profiles(population, mapping[labels], metrics),
    )


def profile_loss(
    population: Population, categories: np.ndarray, metrics: dict[str, np.ndarray]
) -> float:
    """How far a labelling's category profiles lie from the reference (naming's units)."""
    n_categories = len(CATEGORIES[population])
    profiles = cluster_profiles(categories, metrics, n_categories)
    identity = np.arange(n_categories, dtype=np.int8)[None, :]
    return float(_assignment_losses(identity, profiles, population)[0])

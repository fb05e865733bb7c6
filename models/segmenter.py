"""The clustering estimator: features -> standardise -> Gaussian mixture -> named categories.

It follows scikit-learn's estimator contract (``__init__`` stores parameters, ``fit`` returns
``self``, learned state ends in ``_``). Prediction does not go through scikit-learn: the
mixture's diagonal Gaussians are folded into two matrices, so scoring is two matrix products
and an argmax in numpy (microseconds for one row; see PERF-NOTES.md). Tests check it equals
the fitted ``GaussianMixture``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted

from segmentation.explain import natural_units
from segmentation.features import build_features, feature_names, raw_profile_metrics
from segmentation.naming import Naming, category_profiles, name_clusters, profile_loss
from segmentation.taxonomy import Population, category_names


class ClusterSegmenter(BaseEstimator):
    """Cluster customers into more groups than categories, then name and merge them.

    ``method``:

    - ``"refined"`` (default): k-means with ``n_clusters`` clusters, named against the
      reference, then refined by classification EM: each category gets a small diagonal
      Gaussian mixture (``components_per_category``), every row moves to the category of
      highest posterior (priors fixed at the named shares), ``refine_rounds`` times. The
      result is one mixture whose components are grouped by category.
    - ``"gmm"``: one diagonal Gaussian mixture with ``n_clusters`` components, named.
    - ``"kmeans"``: k-means with ``n_clusters`` clusters, named (the baseline).
    """

    def __init__(
        self,
        population: Population = "citizens",
        *,
        method: str = "refined",
        n_clusters: int = 8,
        components_per_category: int = 3,
        refine_rounds: int = 3,
        reg_covar: float = 1e-2,
        n_init: int = 2,
        max_fit_rows: int = 300_000,
        random_state: int = 0,
    ) -> None:
        self.population = population
        self.method = method
        self.n_clusters = n_clusters
        self.components_per_category = components_per_category
        self.refine_rounds = refine_rounds
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, raw: np.ndarray, y: None = None) -> ClusterSegmenter:
        """Fit on the numeric contract matrix ``raw`` (rows x contract numeric columns)."""
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim != 2 or len(raw) < self.n_clusters * 10:
            raise ValueError(f"need a 2-d matrix of at least {self.n_clusters * 10} rows")
        rng = np.random.default_rng(self.random_state)
        rows = (
            rng.choice(len(raw), size=self.max_fit_rows, replace=False)
            if len(raw) > self.max_fit_rows
            else np.arange(len(raw))
        )
        sample = raw[rows]
        if not np.isfinite(sample).all():  # the rows the fit uses (validated data has none)
            raise ValueError("raw contains NaN or infinite values; validate the contract first")
        features = build_features(sample, self.population)
        self.feature_mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        self.feature_scale_ = np.where(scale > 1e-9, scale, 1.0)
        scaled = (features - self.feature_mean_) / self.feature_scale_
        if self.method == "gmm":
            mixture = GaussianMixture(
                n_components=self.n_clusters,
                covariance_type="diag",
                reg_covar=self.reg_covar,
                n_init=self.n_init,
                init_params="k-means++",
                random_state=self.random_state,
                max_iter=200,
            ).fit(scaled)
            self.means_ = mixture.means_
            self.variances_ = mixture.covariances_
            self.log_weights_ = np.log(mixture.weights_)
        elif self.method in ("kmeans", "refined"):
            kmeans = KMeans(
                n_clusters=self.n_clusters, n_init=self.n_init, random_state=self.random_state
            ).fit(scaled)
            # k-means is the mixture limit with equal weights and one shared unit variance.
            self.means_ = kmeans.cluster_centers_
            self.variances_ = np.full_like(self.means_, 0.5)
            self.log_weights_ = np.zeros(self.n_clusters)
        else:
            raise ValueError(f"unknown method {self.method!r}")
        self._fold()
        metrics = raw_profile_metrics(sample, self.population)
        labels = self._components(scaled)
        self.naming_: Naming = name_clusters(self.population, labels, metrics, self.n_clusters)
        self.cluster_category_ = self.naming_.cluster_category
        categories = self.cluster_category_[labels]
        if self.method == "refined":
            categories = self._refine(scaled, categories, metrics)
        self.categories_ = np.asarray(category_names(self.population))
        self.feature_names_ = feature_names(self.population)
        self.typical_features_ = _typical_features(features, categories, len(self.categories_))
        self.typical_values_ = _typical_values(
            features, categories, len(self.categories_), self.population
        )
        return self

    def _refine(
        self, scaled: np.ndarray, categories: np.ndarray, metrics: dict[str, np.ndarray]
    ) -> np.ndarray:
        """Classification EM over categories; keeps the round closest to the reference.

        Each round may move the boundaries towards the categories' own densities, but it may
        also drift away from the reference profile; every round (the named k-means partition
        included) is measured against the reference and the best one is kept.
        """
        n_categories = len(category_names(self.population))
        priors = np.bincount(categories, minlength=n_categories) / len(categories)
        best_loss = self.naming_.loss
        best = (self.means_, self.variances_, self.log_weights_, self.cluster_category_)
        best_categories = categories
        for _ in range(self.refine_rounds):
            means, variances, log_weights, owners = [], [], [], []
            for index in range(n_categories):
                members = scaled[categories == index]
                if len(members) < self.components_per_category * 10:
                    continue  # a category the naming left (nearly) empty stays so
                # k-means++ seeding instead of a full k-means per category: the rows are
                # already grouped, and the full k-means made up most of the training time.
                mixture = GaussianMixture(
                    n_components=self.components_per_category,
                    covariance_type="diag",
                    reg_covar=self.reg_covar,
                    init_params="k-means++",
                    random_state=self.random_state,
                    max_iter=100,
                ).fit(members)
                means.append(mixture.means_)
                variances.append(mixture.covariances_)
                log_weights.append(np.log(mixture.weights_) + np.log(priors[index]))
                owners.append(np.full(self.components_per_category, index))
            self.means_ = np.vstack(means)
            self.variances_ = np.vstack(variances)
            self.log_weights_ = np.concatenate(log_weights)
            self.cluster_category_ = np.concatenate(owners)
            self._fold()
            categories = self.cluster_category_[self._components(scaled)]
            loss = profile_loss(self.population, categories, metrics)
            if loss < best_loss:
                best_loss, best_categories = loss, categories
                best = (self.means_, self.variances_, self.log_weights_, self.cluster_category_)
        self.means_, self.variances_, self.log_weights_, self.cluster_category_ = best
        self._fold()
        self.naming_ = Naming(
            cluster_category=self.cluster_category_,
            loss=best_loss,
            profiles=category_profiles(self.population, best_categories, metrics),
        )
        return np.asarray(best_categories)

    def _fold(self) -> None:
        """Fold the standardisation and the diagonal Gaussians into ``x@A + (x*x)@B + c``."""
        precision = 1.0 / self.variances_  # (K, F) on the scaled features
        scale = self.feature_scale_
        # On scaled z = (x - m) / s: log p_k = -0.5 * sum(P_k (z - mu_k)^2) + const_k.
        # With z = x / s - m / s, it is quadratic in x with the coefficients below.
        shifted = self.means_ + self.feature_mean_ / scale  # mu_k + m/s
        self.quadratic_ = (-0.5 * precision / scale**2).T  # (F, K)
        self.linear_ = (precision * shifted / scale).T  # (F, K)
        self.constant_ = (
            -0.5 * (precision * shifted**2).sum(axis=1)
            - 0.5 * np.log(2 * np.pi * self.variances_).sum(axis=1)
            + self.log_weights_
        )

    def _components(self, scaled: np.ndarray) -> np.ndarray:
        log_prob = self._log_joint(scaled * self.feature_scale_ + self.feature_mean_)
        return np.asarray(np.argmax(log_prob, axis=1))

    def _log_joint(self, features: np.ndarray) -> np.ndarray:
        return features**2 @ self.quadratic_ + features @ self.linear_ + self.constant_

    # -- scoring -----------------------------------------------------------------------------
    def predict_proba_features(self, features: np.ndarray) -> np.ndarray:
        """Probability of each category for rows of model features."""
        check_is_fitted(self, "cluster_category_")
        return self.probabilities(features, self.membership_)

    def probabilities(self, features: np.ndarray, membership: np.ndarray) -> np.ndarray:
        """The arithmetic of ``predict_proba_features`` for rows or for one 1-D row, without
        the fitted check: the API's hot path, with ``membership_`` computed once per model."""
        log_joint = self._log_joint(features)
        log_joint -= log_joint.max(axis=-1, keepdims=True)
        responsibility = np.exp(log_joint)
        responsibility /= responsibility.sum(axis=-1, keepdims=True)
        result: np.ndarray = responsibility @ membership
        return result

    @property
    def membership_(self) -> np.ndarray:
        """(components, categories) 0/1 matrix: which category each component belongs to."""
        return np.eye(len(self.categories_))[self.cluster_category_]

    def predict_proba(self, raw: np.ndarray) -> np.ndarray:
        """Probability of each category (columns in ``categories_`` order)."""
        return self.predict_proba_features(build_features(np.asarray(raw, float), self.population))

    def predict_index(self, raw: np.ndarray) -> np.ndarray:
        """Category index of each row: the category of highest probability (the same rule the
        API uses, so a stored category and an online score of the same row agree)."""
        check_is_fitted(self, "cluster_category_")
        features = build_features(np.asarray(raw, dtype=np.float64), self.population)
        return np.asarray(np.argmax(self.predict_proba_features(features), axis=1))

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Category name of each row."""
        return np.asarray(self.categories_[self.predict_index(raw)])

    def cluster_index(self, raw: np.ndarray) -> np.ndarray:
        """The (unnamed) cluster of each row, for stability and diagnostics."""
        check_is_fitted(self, "cluster_category_")
        features = build_features(np.asarray(raw, dtype=np.float64), self.population)
        return np.asarray(np.argmax(self._log_joint(features), axis=1))

    def profile_table(self) -> pd.DataFrame:
        """Per category: share, behaviour and the reference, on the fitting sample."""
        check_is_fitted(self, "cluster_category_")
        return self.naming_.profiles


def _typical_values(
    features: np.ndarray, categories: np.ndarray, n: int, population: Population
) -> np.ndarray:
    """Mean of each feature per category in natural units (what explanations quote)."""
    natural = natural_units(features, population)
    typical = np.zeros((n, features.shape[1]))
    for index in range(n):
        members = natural[categories == index]
        if len(members):
            typical[index] = members.mean(axis=0)
    return typical


def _typical_features(features: np.ndarray, categories: np.ndarray, n: int) -> np.ndarray:
    """Median of each feature per category (rows: category, columns: feature)."""
    typical = np.zeros((n, features.shape[1]))
    for index in range(n):
        members = features[categories == index]
        if len(members):
            typical[index] = np.median(members, axis=0)
    return typical

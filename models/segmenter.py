"""The segmentation estimator: cluster, name the clusters, then learn the categories.

1. **Cluster.** k-means with many clusters (40) on standardised features, weighted towards
   the traits seed 004 names (contacts, life events, benefits that start or stop, how many
   benefits): with equal weights the seven benefit-group columns decided the clusters and
   customers going through a change hid inside quiet clusters. Nine clusterings, each from
   its own start on its own draw of up to 100,000 of the sample's rows, are each named on
   their own and vote on every customer's category: a re-fit with another seed keeps 98 %
   or more of customers on every world of the suite, where one clustering of three starts
   kept 95.3-98.8 % at the same cost (README, "Model quality on unseen worlds").
2. **Name** each cluster on its own (``segmentation.naming``): by case handlers' reviews of
   its members drawn at random inside it (``representative``; a borderline review teaches
   step 3 but does not name), else by the champion's categories (stable names), else by the
   documented traits. Where traits named the clusters, each customer with exactly one change
   in the year (a life event, or a benefit that started or stopped) is then weighed by the
   rest of their behaviour (``models.single_change``): a regular customer who moved once is
   no longer named irregular with the cluster the move put them in. Then each customer
   named regular whose long dependency benefits say needs support but whose contacts do
   not is weighed the same way (``models.benefit_support``): a customer on sickness
   compensation who rarely calls is no longer named regular with the quiet cluster.
   Employers are not clustered: head count is the definition (< 20 staff).
3. **Learn.** A multinomial logistic regression on the features and their squares, fitted on
   the named rows (each weighted by how clearly its cluster met its name) and the reviewed
   rows (with their reviewed category); with reviews, the average of one such regression per
   review weight and re-naming setting (``BLEND_WEIGHTS``, ``BLEND_RELABELS``). It smooths
   the clusters' boundaries, gives probabilities, and is the same quadratic form the API
   scores in numpy:
   ``softmax(x*x @ Q + x @ L + c)`` on the raw features (microseconds for one row; see
   PERF-NOTES.md). Tests check it equals scikit-learn's ``predict_proba``.

The method was chosen by its worst world in a suite of structurally different synthetic
populations (``training.worlds``; README, "Model quality on unseen worlds"), not by the
project's own generator.

It follows scikit-learn's estimator contract (``__init__`` stores parameters, ``fit``
returns ``self``, learned state ends in ``_``) and its semi-supervised convention: ``y``
holds a category index for reviewed rows and -1 for the others.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from data_contracts.schemas import EMPLOYER_NUMERIC_COLUMNS
from models.benefit_support import SUPPORT_EVIDENCE, SUPPORT_LIKENESS, support_likeness
from models.single_change import (
    CHANGE_FEATURES,
    IRREGULAR_LIKENESS,
    irregular_likeness,
    likely_needs_support,
)
from segmentation.explain import natural_units
from segmentation.features import (
    build_features,
    change_counts,
    feature_names,
    raw_profile_metrics,
)
from segmentation.naming import ClusterNames, name_clusters
from segmentation.taxonomy import SMALL_EMPLOYER_LIMIT, Population, category_names

#: Weight of each citizen feature in the clustering space (others: ``OTHER_WEIGHT``).
CLUSTER_WEIGHTS: dict[str, float] = {
    "contacts_per_year": 1.5,
    "life_events": 1.5,
    "changing_benefits": 1.5,
    "benefits": 1.0,
    "personal_contact_share": 0.5,
    "handling_minutes": 0.5,
    "applications": 0.5,
    "assisted_application_share": 0.5,
    "reconsiderations_and_recovery": 0.5,
    "portal_logins": 0.25,
}
OTHER_WEIGHT = 0.25
#: The lowest weight a named row gets in the final fit (a cluster right on a threshold).
MIN_NAMED_WEIGHT = 0.05
#: ``relabel``: a classifier of the reviews alone re-names an unreviewed row it disagrees
#: with at this probability or more, given at least ``RELABEL_MIN_REVIEWS`` reviews.
RELABEL_CONFIDENCE = 0.6
RELABEL_MIN_REVIEWS = 100
#: With reviews, the model is the average of the fits at these review weights (the weight of
#: all reviews against all named rows), each without and with re-naming (``review_blend``):
#: one quadratic model whose coefficients are the settings' mean. Choosing one setting by
#: cross-validation on the reviews was at the mercy of its noise (life_course_86 seed 4: 0.946
#: chosen, 0.954 available); the average was at or above the chosen setting at every world's
#: worst (README, "Model quality on unseen worlds").
BLEND_WEIGHTS = (1.0, 3.0, 10.0)
BLEND_RELABELS = (False, True)
_EMPLOYEES = EMPLOYER_NUMERIC_COLUMNS.index("employees")
#: Rows scored at a time, here and wherever training scores a whole table (its evaluation,
#: the review sample). A temporary up to 32 MB is reused from the heap; a larger one is a
#: fresh mapping that the kernel must fault in and clear page by page: a column of 7.2 M rows
#: (58 MB; measured: half a training's time), and at 262,144 rows a block's 17 feature
#: columns (36 MB) and their squares. At 65,536 rows the widest is 9 MB. Medians, in turn in
#: one process, 262,144 -> 65,536 rows: training's scoring pass over 7.2 M rows 2.96 -> 2.10 s
#: (of 6; system time 1.2 -> 0.4 s), the review sample's strata and margins 8.3 -> 6.4 s (of
#: 4), ten of batch scoring's 250,000-row chunks 1.2 -> 0.87 s (of 4).
BLOCK_ROWS = 65_536


@dataclass(frozen=True)
class _Named:
    """A fit's sample after clustering and naming: what the final regression learns from."""

    rng: np.random.Generator
    features: np.ndarray
    scaled: np.ndarray
    category: np.ndarray
    confidence: np.ndarray
    reviewed: np.ndarray
    #: The reviews' classifier's re-naming of the rows a regression learns from (``_learn``
    #: with ``relabel``), by those rows: every review weight draws the same rows, and the
    #: classifier of the same reviews gives the same answer, so it is asked once.
    relabelled: dict[bytes, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class ClusterSegmenter(BaseEstimator):
    """Cluster customers, name the clusters, learn the categories (module docstring)."""

    #: Models registered before the clusterings voted were one clustering of every sample
    #: row (their pickles lack these attributes; ``get_params`` finds these).
    n_clusterings = 1
    cluster_rows: int | None = None
    relabel = False
    review_blend = False
    weigh_single_changes = False
    weigh_benefit_support = False
    #: The estimated share of single-change customers who lead an irregular life (None where
    #: the step stood aside, and in models registered before it).
    single_change_share_: float | None = None
    #: The estimated share of the customers whose benefits alone say needs support who do
    #: (None where the step stood aside, and in models registered before it).
    benefit_support_share_: float | None = None
    #: The regression on [z, z*z] (None for an average of fits whose categories differ) and
    #: its folded form ``x*x @ quadratic_ + x @ linear_ + constant_``.
    classifier_: LogisticRegression | None
    quadratic_: np.ndarray
    linear_: np.ndarray
    constant_: np.ndarray

    def __init__(
        self,
        population: Population = "citizens",
        *,
        n_clusters: int = 40,
        n_init: int = 1,
        n_clusterings: int = 9,
        cluster_rows: int | None = 100_000,
        max_fit_rows: int = 300_000,
        max_classifier_rows: int = 60_000,
        review_weight: float = 1.0,
        relabel: bool = False,
        review_blend: bool = True,
        regularisation: float = 1.0,
        weigh_single_changes: bool = True,
        weigh_benefit_support: bool = True,
        random_state: int = 0,
    ) -> None:
        self.population = population
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.n_clusterings = n_clusterings
        self.cluster_rows = cluster_rows
        self.max_fit_rows = max_fit_rows
        self.max_classifier_rows = max_classifier_rows
        self.review_weight = review_weight
        self.relabel = relabel
        self.review_blend = review_blend
        self.regularisation = regularisation
        self.weigh_single_changes = weigh_single_changes
        self.weigh_benefit_support = weigh_benefit_support
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------------------------
    def fit(
        self,
        raw: np.ndarray,
        y: np.ndarray | None = None,
        *,
        champion: ClusterSegmenter | None = None,
        representative: np.ndarray | None = None,
    ) -> ClusterSegmenter:
        """Fit on the numeric contract matrix ``raw`` (rows x contract numeric columns).

        ``y``: reviewed category index per row, -1 where the row was not reviewed.
        ``champion``: the model in service; its categories name the clusters that reviews
        do not, so a re-fit keeps its customers' categories.
        ``representative``: which reviewed rows were drawn at random inside their stratum
        (the spread with a design weight); only they name clusters, where a cluster's
        reviewed majority stands for its members. Borderline and uncertainty reviews were
        chosen for being unlike their cluster: they still teach the regression, but they
        would misname a large cluster by its edge. None: every review names.

        With reviews and ``review_blend``, the regression is the average of one per setting
        in ``BLEND_WEIGHTS`` x ``BLEND_RELABELS`` (``review_weight`` and ``relabel`` are then
        not used); without, the one at ``review_weight`` and ``relabel``.
        """
        named = self._cluster_and_name(raw, y, champion, representative)
        if self.review_blend and (named.reviewed >= 0).any():
            self._average(self._fit_settings(named, BLEND_WEIGHTS, BLEND_RELABELS, explain=False))
            self._typical(named)
        else:
            self._learn_named(named)
        return self

    def fit_review_weights(
        self,
        raw: np.ndarray,
        y: np.ndarray,
        *,
        champion: ClusterSegmenter | None = None,
        representative: np.ndarray | None = None,
        weights: Sequence[float],
        relabels: Sequence[bool] = (False,),
        explain: bool = True,
    ) -> list[ClusterSegmenter]:
        """One fit per review weight (for each ``relabel`` setting: the weights of the
        first, then of the next), sharing the clustering and naming (which neither touches),
        each regression started from the previous weight's solution (the first re-naming one
        from the same weight's without): each equals ``fit`` with that ``review_weight`` and
        ``relabel`` (to the solver's tolerance). What choosing them by cross-validation costs
        is then one clustering per fold. The fits do not blend (``review_blend`` is off in
        each); ``blended`` averages them. ``explain=False`` leaves out each fit's typical
        values (what explanations show; cross-validation needs only the categories).
        ``representative`` as in ``fit``."""
        named = self._cluster_and_name(raw, y, champion, representative)
        return self._fit_settings(named, weights, relabels, explain=explain)

    def _fit_settings(
        self,
        named: _Named,
        weights: Sequence[float],
        relabels: Sequence[bool],
        *,
        explain: bool,
    ) -> list[ClusterSegmenter]:
        fitted: list[ClusterSegmenter] = []
        solved: dict[float, LogisticRegression | None] = {}
        for relabel in relabels:
            start: LogisticRegression | None = None
            for weight in weights:
                model = copy.deepcopy(self)
                model.review_weight, model.relabel, model.review_blend = weight, relabel, False
                model._learn_named(
                    replace(named, rng=copy.deepcopy(named.rng)),
                    start if start is not None else solved.get(weight),
                    explain=explain,
                )
                start = model.classifier_
                solved.setdefault(weight, start)
                fitted.append(model)
        return fitted

    @staticmethod
    def blended(fitted: Sequence[ClusterSegmenter]) -> ClusterSegmenter:
        """The average of fits that share their clustering (``fit_review_weights``): what
        ``fit`` with ``review_blend`` gives for those settings, save the typical values that
        explanations show (the first fit's, if it has any; cross-validation needs only the
        categories)."""
        model = copy.deepcopy(fitted[0])
        model.review_blend = True
        model._average(fitted)
        return model

    def _average(self, fitted: Sequence[ClusterSegmenter]) -> None:
        """Coefficients the mean of ``fitted``'s (the same standardisation, so the folded
        ``Q``, ``L``, ``c`` are the mean of theirs too)."""
        classifiers = [model.classifier_ for model in fitted if model.classifier_ is not None]
        first = classifiers[0] if classifiers else None
        if (
            first is not None
            and len(classifiers) == len(fitted)
            and all(np.array_equal(each.classes_, first.classes_) for each in classifiers)
        ):
            average = copy.deepcopy(first)
            average.coef_ = np.mean([each.coef_ for each in classifiers], axis=0)
            average.intercept_ = np.mean([each.intercept_ for each in classifiers], axis=0)
            self.classifier_ = average
            self._fold(average.coef_, average.intercept_, average.classes_)
            return
        # A setting without some category (re-naming took all its rows): each category's
        # logit is the mean over the settings that have it (one no setting has never wins).
        known = np.array([model.constant_ > -1e8 for model in fitted], dtype=np.float64)
        counts = np.maximum(known.sum(axis=0), 1.0)

        def mean(values: list[np.ndarray]) -> np.ndarray:
            return np.asarray(np.einsum("m...k,mk->...k", np.stack(values), known) / counts)

        self.classifier_ = None
        self.quadratic_ = mean([model.quadratic_ for model in fitted])
        self.linear_ = mean([model.linear_ for model in fitted])
        constant = mean(
            [np.where(k > 0, m.constant_, 0.0) for m, k in zip(fitted, known, strict=True)]
        )
        self.constant_ = np.where(known.any(axis=0), constant, -1e9)

    def _cluster_and_name(
        self,
        raw: np.ndarray,
        y: np.ndarray | None,
        champion: ClusterSegmenter | None,
        representative: np.ndarray | None = None,
    ) -> _Named:
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim != 2 or len(raw) < 1_000:
            raise ValueError("need a 2-d matrix of at least 1,000 rows")
        reviewed = np.full(len(raw), -1, np.int64) if y is None else np.asarray(y, np.int64)
        if reviewed.shape != (len(raw),):
            raise ValueError("y must have one entry per row")
        if representative is not None:
            representative = np.asarray(representative, dtype=bool)
            if representative.shape != (len(raw),):
                raise ValueError("representative must have one entry per row")
        rng = np.random.default_rng(self.random_state)
        rows = _sample(rng, len(raw), self.max_fit_rows, always=np.flatnonzero(reviewed >= 0))
        sample, sample_reviewed = raw[rows], reviewed[rows]
        if not np.isfinite(sample).all():  # the rows the fit uses (validated data has none)
            raise ValueError("raw contains NaN or infinite values; validate the contract first")
        self.categories_ = np.asarray(category_names(self.population))
        self.feature_names_ = feature_names(self.population)
        features = build_features(sample, self.population)
        self.feature_mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        self.feature_scale_ = np.where(scale > 1e-9, scale, 1.0)
        scaled = (features - self.feature_mean_) / self.feature_scale_
        naming = (
            sample_reviewed
            if representative is None
            else np.where(representative[rows], sample_reviewed, -1)
        )
        named, confidence = self._name(sample, scaled, sample_reviewed, naming, champion)
        self.named_shares_ = np.bincount(named, minlength=len(self.categories_)) / len(named)
        return _Named(rng, features, scaled, named, confidence, sample_reviewed)

    def _learn_named(
        self, named: _Named, start: LogisticRegression | None = None, *, explain: bool = True
    ) -> None:
        self._learn(
            named.rng,
            named.scaled,
            named.category,
            named.confidence,
            named.reviewed,
            start,
            relabelled=named.relabelled,
        )
        if explain:
            self._typical(named)

    def _typical(self, named: _Named) -> None:
        """Each category's typical features among the sample rows it wins (explanations)."""
        categories = np.argmax(self._log_joint(named.features), axis=1)
        self.typical_features_ = _typical(named.features, categories, len(self.categories_))
        self.typical_values_ = _typical(
            natural_units(named.features, self.population), categories, len(self.categories_)
        )

    def _name(
        self,
        sample: np.ndarray,
        scaled: np.ndarray,
        reviewed: np.ndarray,
        naming: np.ndarray,
        champion: ClusterSegmenter | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The category each sample row is named and how sure that naming is (0-1).
        ``reviewed``: every review (employers: each wins for its row); ``naming``: the
        reviews that name clusters (-1 elsewhere)."""
        if self.population == "employers":
            # Head count is the definition; reviews (if any) still win for their rows.
            self.cluster_weights_ = None
            self.cluster_centres_ = None
            self.cluster_names_ = None
            named = (sample[:, _EMPLOYEES] >= SMALL_EMPLOYER_LIMIT).astype(np.int64)
            return np.where(reviewed >= 0, reviewed, named), np.ones(len(sample))
        weights = np.array([CLUSTER_WEIGHTS.get(n, OTHER_WEIGHT) for n in self.feature_names_])
        self.cluster_weights_ = weights
        champion_codes = (
            None if champion is None else champion.predict_index(sample).astype(np.int64)
        )
        metrics = raw_profile_metrics(sample, self.population)
        rows = np.arange(len(sample))
        votes = np.zeros((len(sample), len(self.categories_)))
        sureness = np.zeros_like(votes)
        space = scaled * weights
        starts = np.random.SeedSequence(self.random_state).generate_state(self.n_clusterings)
        for clustering, start in enumerate(starts.tolist()):
            # Each clustering from its own start on its own draw of the sample's rows (all of
            # them when the sample is small), then every sample row takes its nearest centre.
            drawn = _sample(
                np.random.default_rng(start), len(sample), self.cluster_rows or len(sample)
            )
            kmeans = KMeans(
                n_clusters=self.n_clusters,
                n_init=self.n_init,
                random_state=start,
                algorithm="elkan",  # the same clustering as Lloyd's, a third faster here
            )
            kmeans.fit(space[drawn])
            labels = (
                np.asarray(kmeans.labels_)
                if len(drawn) == len(sample)
                else np.asarray(kmeans.predict(space))
            )
            names: ClusterNames = name_clusters(
                self.population,
                labels,
                metrics,
                self.n_clusters,
                champion_codes=champion_codes,
                reviewed=naming,
            )
            if clustering == 0:  # the review sample's strata
                self.cluster_centres_ = kmeans.cluster_centers_
                self.cluster_names_ = names
            named = names.category[labels]
            if champion_codes is not None:
                # Stable names: where no review speaks for the cluster, each customer keeps
                # the champion's category (a cluster's majority would move its minority).
                named = np.where(names.source[labels] == "champion", champion_codes, named)
            votes[rows, named] += 1.0
            sureness[rows, named] += names.confidence[labels]
        # The clusterings vote: a customer's category is the one most of them name, and how
        # sure the naming is falls where they disagree (a refit with another seed then moves
        # few customers: one clustering's borderline cluster no longer flips them all).
        category = votes.argmax(axis=1)
        confidence = sureness[rows, category] / self.n_clusterings
        self.single_change_share_ = self.benefit_support_share_ = None
        if champion is None and not (naming >= 0).any():
            # Where traits named the clusters: reviews and a champion name such customers
            # themselves.
            category, confidence = self._weigh_by_behaviour(
                scaled, metrics, change_counts(sample), category, confidence
            )
        return category, confidence

    def _weigh_by_behaviour(
        self,
        scaled: np.ndarray,
        metrics: dict[str, np.ndarray],
        changes: np.ndarray,
        category: np.ndarray,
        confidence: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Customers whom one documented sign alone cannot settle, weighed by the rest of
        their behaviour: first each with exactly one change, not named needs support, named
        irregular where ``irregular_likeness`` reaches ``IRREGULAR_LIKENESS``, else regular
        (``models.single_change``); then each named regular whose benefits alone say needs
        support, named so where ``support_likeness`` reaches ``SUPPORT_LIKENESS``
        (``models.benefit_support``). ``changes``: each row's ``change_counts``."""
        names = list(self.categories_)
        regular, irregular, support = (
            names.index(name) for name in ("regular", "irregular", "needs_support")
        )
        if self.weigh_single_changes:
            evidence = scaled[:, [name not in CHANGE_FEATURES for name in self.feature_names_]]
            found = irregular_likeness(changes, likely_needs_support(metrics), evidence)
            if found is not None:
                likeness, self.single_change_share_ = found
                single = (changes == 1) & (category != support)
                weighed = np.where(likeness >= IRREGULAR_LIKENESS, irregular, regular)
                # Each such customer weighs in the final fit as a surely named row. Weighed by
                # their distance from the threshold, the rows near it taught the regression
                # little, its boundary through them was left to the rows far from it, and a
                # re-fit with another seed moved it (latent_need_70 seed 2: 97.8 % kept their
                # category; weighed alike 98.8 %; docs/model-quality.md, "The single-change
                # step, made stable and shipped").
                category = np.where(single, weighed, category)
                confidence = np.where(single, 1.0, confidence)
        if self.weigh_benefit_support:
            evidence = scaled[:, [name in SUPPORT_EVIDENCE for name in self.feature_names_]]
            weighed_support = support_likeness(metrics, changes, category == regular, evidence)
            if weighed_support is not None:
                undecided, likeness, self.benefit_support_share_ = weighed_support
                rows = np.flatnonzero(undecided)[likeness >= SUPPORT_LIKENESS]
                category, confidence = category.copy(), confidence.copy()
                category[rows], confidence[rows] = support, 1.0  # surely named, as above
        return category, confidence

    def _learn(
        self,
        rng: np.random.Generator,
        scaled: np.ndarray,
        named: np.ndarray,
        confidence: np.ndarray,
        reviewed: np.ndarray,
        start: LogisticRegression | None = None,
        *,
        relabelled: dict[bytes, tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """The logistic regression on [z, z*z], folded into raw-feature coefficients;
        ``start``: a solution to start from (the same rows with another review weight);
        ``relabelled``: the re-namings already made, by the rows they were made for (a
        fit's ``_Named.relabelled``; this fills it)."""
        is_reviewed = reviewed >= 0
        pool = np.flatnonzero(~is_reviewed)
        chosen = pool[_sample(rng, len(pool), self.max_classifier_rows)]
        review_rows = np.flatnonzero(is_reviewed)
        chosen_named, chosen_confidence = named[chosen], confidence[chosen]
        if (
            self.relabel
            and len(review_rows) >= RELABEL_MIN_REVIEWS
            and len(np.unique(reviewed[review_rows])) > 1
        ):
            key = chosen.tobytes()
            if key not in relabelled:
                relabelled[key] = _relabelled(
                    scaled[review_rows],
                    reviewed[review_rows],
                    scaled[chosen],
                    chosen_named,
                    chosen_confidence,
                )
            chosen_named, chosen_confidence = relabelled[key]
        weights = np.maximum(chosen_confidence, MIN_NAMED_WEIGHT)
        rows = np.concatenate([chosen, review_rows])
        labels = np.concatenate([chosen_named, reviewed[review_rows]])
        if len(review_rows):
            # All reviews together weigh ``review_weight`` times all named rows together,
            # each category's reviews alike (the measure is macro recall: a category with
            # few reviews must not be traded for a large one).
            review_labels = reviewed[review_rows]
            counts = np.bincount(review_labels, minlength=len(self.categories_))
            present = counts > 0
            per_category = np.zeros(len(self.categories_))
            per_category[present] = 1.0 / (counts[present] * present.sum())
            total = max(float(len(review_rows)), self.review_weight * weights.sum())
            review_weights = per_category[review_labels] * total
            weights = np.concatenate([weights, review_weights])
        z = scaled[rows]
        # Newton with the full Hessian (Cholesky): 2 x 17 features and 3 categories make a
        # 105 x 105 matrix, cheaper to form and solve than newton-cg's conjugate-gradient
        # products (measured: 3 x faster at 60,000 rows, the same categories for 99.99 %).
        # Converged tightly (Newton's last steps are cheap), so that a fit started from
        # another weight's solution and a fresh one reach the same optimum.
        model = LogisticRegression(
            C=self.regularisation, solver="newton-cholesky", max_iter=300, tol=1e-6
        )
        if start is not None and np.array_equal(start.classes_, np.unique(labels)):
            # From another weight's solution (the same rows): a few Newton steps, not all.
            model.set_params(warm_start=True)
            model.coef_, model.intercept_ = start.coef_.copy(), start.intercept_.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(np.hstack([z, z * z]), labels, sample_weight=weights)
        self.classifier_ = model  # kept to check the folded scorer against (tests)
        self._fold(model.coef_, model.intercept_, model.classes_)

    def _fold(self, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray) -> None:
        """Fold the standardisation into ``x*x @ Q + x @ L + c`` on the raw features.

        On z = (x - m) / s the logit of category k is a_k.z + b_k.z^2 + c_k; expanded in x it
        is (b_k/s^2).x^2 + (a_k/s - 2 b_k m/s^2).x + c_k - a_k.m/s + b_k.m^2/s^2."""
        n_features = len(self.feature_mean_)
        if len(classes) == 2 and coef.shape[0] == 1:  # binary: one logit against the other
            coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
            intercept = np.array([0.0, intercept[0]])
        linear_z, quadratic_z = coef[:, :n_features], coef[:, n_features:]
        mean, scale = self.feature_mean_, self.feature_scale_
        n_categories = len(self.categories_)
        quadratic = np.zeros((n_features, n_categories))
        linear = np.zeros((n_features, n_categories))
        # A category that no row was named (or reviewed) never wins.
        constant = np.full(n_categories, -1e9)
        for row, category in enumerate(np.asarray(classes, dtype=np.int64)):
            a, b = linear_z[row], quadratic_z[row]
            quadratic[:, category] = b / scale**2
            linear[:, category] = a / scale - 2 * b * mean / scale**2
            constant[category] = (
                intercept[row] - np.sum(a * mean / scale) + np.sum(b * mean**2 / scale**2)
            )
        self.quadratic_, self.linear_, self.constant_ = quadratic, linear, constant

    def _log_joint(self, features: np.ndarray) -> np.ndarray:
        if features.ndim == 2 and len(features) > BLOCK_ROWS:
            # In blocks: the square of 7.2 M rows would be a gigabyte temporary.
            return np.vstack(
                [
                    self._log_joint(features[start : start + BLOCK_ROWS])
                    for start in range(0, len(features), BLOCK_ROWS)
                ]
            )
        return features**2 @ self.quadratic_ + features @ self.linear_ + self.constant_

    # -- scoring -----------------------------------------------------------------------------
    def predict_proba_features(self, features: np.ndarray) -> np.ndarray:
        """Probability of each category for rows of model features."""
        check_is_fitted(self, "constant_")
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
        """(logits, categories) 0/1 matrix: one logit per category."""
        return np.eye(len(self.categories_))

    def classifier_inputs(self, raw: np.ndarray) -> np.ndarray:
        """The standardised features and their squares: what ``classifier_`` was fitted on."""
        check_is_fitted(self, "classifier_")
        z = (build_features(np.asarray(raw, float), self.population) - self.feature_mean_) / (
            self.feature_scale_
        )
        return np.hstack([z, z * z])

    def predict_proba(self, raw: np.ndarray) -> np.ndarray:
        """Probability of each category (columns in ``categories_`` order)."""
        return self.predict_proba_features(build_features(np.asarray(raw, float), self.population))

    def predict_index(self, raw: np.ndarray) -> np.ndarray:
        """Category index of each row: the category of highest probability (the same rule the
        API uses, so a stored category and an online score of the same row agree)."""
        features = build_features(np.asarray(raw, dtype=np.float64), self.population)
        return self.predict_index_features(features)

    def predict_index_features(self, features: np.ndarray) -> np.ndarray:
        """``predict_index`` for rows of model features (built once, scored by several
        models: at 7.2 M rows building them costs seconds, scoring them a fraction)."""
        check_is_fitted(self, "constant_")
        return np.asarray(np.argmax(self._log_joint(features), axis=1))

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Category name of each row."""
        return np.asarray(self.categories_[self.predict_index(raw)])

    def strata(self, raw: np.ndarray) -> np.ndarray:
        """The group each row is sampled from for review: its cluster (citizens) or its
        category (employers, which are not clustered)."""
        check_is_fitted(self, "constant_")
        if self.cluster_centres_ is None:
            return self.predict_index(raw)
        features = build_features(np.asarray(raw, dtype=np.float64), self.population)
        weighted = (features - self.feature_mean_) / self.feature_scale_ * self.cluster_weights_
        # Squared distances without the (rows, clusters, features) cube: |w|^2 - 2 w.c + |c|^2.
        distances = -2 * weighted @ self.cluster_centres_.T + (self.cluster_centres_**2).sum(axis=1)
        return np.asarray(np.argmin(distances, axis=1))


def _relabelled(
    reviewed_z: np.ndarray,
    reviews: np.ndarray,
    z: np.ndarray,
    named: np.ndarray,
    confidence: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``named`` rows re-named where a classifier of the reviews alone (of two categories or
    more; the same quadratic logistic regression, each category's reviews weighing alike)
    says another category at ``RELABEL_CONFIDENCE`` or more; such a row's confidence is
    that classifier's (pure). Where the clusters blur the categories (a life course), the
    reviews then correct the named rows the model learns from, not only outweigh them."""
    counts = np.bincount(reviews)
    balance = len(reviews) / (np.count_nonzero(counts) * counts[reviews])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        judge = LogisticRegression(max_iter=1_000).fit(
            np.hstack([reviewed_z, reviewed_z * reviewed_z]), reviews, sample_weight=balance
        )
    probabilities = judge.predict_proba(np.hstack([z, z * z]))
    best = np.asarray(judge.classes_)[probabilities.argmax(axis=1)]
    sure = probabilities.max(axis=1)
    flip = (best != named) & (sure >= RELABEL_CONFIDENCE)
    return np.where(flip, best, named), np.where(flip, sure, confidence)


def _sample(
    rng: np.random.Generator, size: int, limit: int, always: np.ndarray | None = None
) -> np.ndarray:
    """Up to ``limit`` row positions drawn without replacement, plus every row in ``always``."""
    if size <= limit:
        return np.arange(size)
    drawn = rng.choice(size, size=limit, replace=False)
    if always is None or not len(always):
        return np.sort(drawn)
    return np.union1d(drawn, always)


def _typical(values: np.ndarray, categories: np.ndarray, n: int) -> np.ndarray:
    """Median of each column per category (rows: category). Explanations quote these, and
    quote the same statistic in model and natural units (a median survives the log)."""
    typical = np.zeros((n, values.shape[1]))
    for index in range(n):
        members = values[categories == index]
        if len(members):
            typical[index] = np.median(members, axis=0)
    return typical

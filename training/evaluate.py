"""Quality measures of a trained segmenter and the gate that guards the `champion` alias."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from models.segmenter import BLEND_RELABELS, BLEND_WEIGHTS, BLOCK_ROWS, ClusterSegmenter
from segmentation.features import build_features
from segmentation.settings import Settings
from segmentation.taxonomy import CATEGORIES, Population, category_names
from segmentation.transitions import confusion_metrics, review_confusion
from training.review import Z_95, drawn_at_random, macro_interval, weighted_recall

#: Threads for independent fits (the stability refits, the cross-validation folds).
CORES = max(1, os.cpu_count() or 1)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def one_native_thread(work: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """``work(*args, **kwargs)`` with OpenMP (k-means) at one thread in the calling thread.

    For the fits that run side by side in a Python thread pool. OpenMP's thread count is
    the calling thread's own (libgomp; threadpoolctl 3.8's README, "Limitations"): a limit
    the main thread sets does not reach a pool's threads, whose k-means each started a
    thread per core, and two such fits oversubscribed the two cores (measured in the
    twentieth session: the three fits of a training with 1,000 reviews, 300,000
    rows, docs/model-quality.md, "One native thread per lane")."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return work(*args, **kwargs)


@dataclass(frozen=True)
class GateThresholds:
    """The quality gate and the drift flags (README, "Model lifecycle"); the values live in
    one place, the settings."""

    min_stability: float
    min_review_macro_recall: float
    min_reviews: int
    min_macro_recall: float
    max_share_gap: float
    max_profile_rel_error: float

    @classmethod
    def from_settings(cls, settings: Settings) -> GateThresholds:
        return cls(
            min_stability=settings.gate_min_stability,
            min_review_macro_recall=settings.gate_min_review_macro_recall,
            min_reviews=settings.gate_min_reviews,
            min_macro_recall=settings.gate_min_macro_recall,
            max_share_gap=settings.drift_max_share_gap,
            max_profile_rel_error=settings.drift_max_profile_rel_error,
        )


@dataclass
class GateResult:
    passed: bool
    reasons: list[str] = field(default_factory=list)


def silhouette(model: ClusterSegmenter, raw: np.ndarray, *, rows: int, seed: int) -> float:
    """Silhouette of the categories on a sample, in the model's standardised feature space."""
    rng = np.random.default_rng(seed)
    sample = raw[rng.choice(len(raw), size=min(rows, len(raw)), replace=False)]
    labels = model.predict_index(sample)
    if len(np.unique(labels)) < 2:
        return float("nan")
    scaled = (build_features(sample, model.population) - model.feature_mean_) / model.feature_scale_
    return float(silhouette_score(scaled, labels, random_state=seed))


def refit_with_seed(
    model: ClusterSegmenter,
    raw: np.ndarray,
    other_seed: int,
    *,
    reviewed: np.ndarray | None = None,
    champion: ClusterSegmenter | None = None,
    representative: np.ndarray | None = None,
) -> ClusterSegmenter:
    """A model of ``model``'s settings fitted again with another seed (the same data,
    reviews, representative reviews and champion): what :func:`stability` compares with.
    Needs only the settings, so it can run beside the fit of ``model`` itself."""
    other = ClusterSegmenter(**{**model.get_params(), "random_state": other_seed})
    return other.fit(raw, reviewed, champion=champion, representative=representative)


def stability(
    model: ClusterSegmenter,
    raw: np.ndarray,
    *,
    refits: Sequence[ClusterSegmenter],
    rows: int,
    seed: int,
) -> dict[str, float]:
    """How much a re-fit with another seed (``refits``: :func:`refit_with_seed`) keeps: the
    share of customers in the same category on a sample of ``rows`` rows (``stability``,
    the issue's measure) and the ARI, the lowest over the refits."""
    rng = np.random.default_rng(seed)
    sample = raw[rng.choice(len(raw), size=min(rows, len(raw)), replace=False)]
    reference = model.predict_index(sample)
    size = len(model.categories_)
    scores = []
    for other in refits:
        predicted = other.predict_index(sample)
        scores.append(
            (
                float(np.mean(predicted == reference)),
                adjusted_rand(contingency(reference, predicted, size)),
            )
        )
    return {
        "stability": float(min(kept for kept, _ in scores)),
        "stability_ari": float(min(ari for _, ari in scores)),
    }


def _agreement(
    population: Population,
    truth: np.ndarray,
    predicted: np.ndarray,
    design: np.ndarray,
) -> dict[str, float]:
    """Cross-validated agreement from the hidden reviews' categories and the model's."""
    usable = drawn_at_random(truth, design)
    names = list(category_names(population))
    per_category = weighted_recall(truth[usable], predicted[usable], design[usable], len(names))
    out: dict[str, float] = {
        "reviews": float(len(truth)),
        "reviews_estimating": float(usable.sum()),
    }
    if not per_category:
        return out
    out.update(
        confusion_metrics(
            review_confusion(truth[usable], predicted[usable], design[usable], len(names)), names
        )
    )
    for index, interval in per_category.items():
        out[f"review_recall_{names[index]}"] = interval.estimate
        out[f"review_recall_{names[index]}_low"] = interval.low
        out[f"review_recall_{names[index]}_high"] = interval.high
    macro = macro_interval(per_category)
    out.update(
        {
            "review_macro_recall": macro.estimate,
            "review_macro_recall_low": macro.low,
            "review_macro_recall_high": macro.high,
        }
    )
    return out


#: The weights of the reviews against the named rows (each without and with the reviews
#: re-naming the rows a classifier of them alone disagrees with, ``ClusterSegmenter.relabel``)
#: that a model with reviews averages (``review_blend``), or that training chooses among by
#: cross-validated agreement when the model does not blend.
REVIEW_WEIGHTS = BLEND_WEIGHTS
RELABEL_OPTIONS = BLEND_RELABELS


def choose_review_weight(
    model: ClusterSegmenter,
    raw: np.ndarray,
    reviewed: np.ndarray,
    weights: np.ndarray,
    *,
    folds: int,
    seed: int,
    champion: ClusterSegmenter | None = None,
    candidates: tuple[float, ...] = REVIEW_WEIGHTS,
    relabels: tuple[bool, ...] = RELABEL_OPTIONS,
    fit_rows: int = 40_000,
    cv_clusterings: int = 3,
    halves: np.ndarray | None = None,
) -> ReviewWeight:
    """The agreement with case handlers' reviews by cross-validation (macro recall, per
    category with intervals) of a model fitted as ``model`` is, and how the reviews weigh
    against the clusters' names. Where the clusters already match the documented categories
    the reviews refine them; where they do not (a population whose life course blurs the
    clusters), the reviews must lead, and may re-name the rows a classifier of them alone
    disagrees with (``relabels``).

    A ``model`` that blends (``review_blend``, the default) is the average of a fit per
    weight in ``candidates`` and setting in ``relabels``: its agreement is the average's,
    each setting's figure beside it. One that does not gets the setting of best agreement
    (a tie to the lighter weight, then to not re-naming), the average's figure beside it.
    Every setting is judged on the same folds, each fold clustered once for all of them (the
    cross-validation fits are lightened to ``fit_rows`` rows and ``cv_clusterings`` voting
    clusterings). Returned: the setting, its agreement and the reviews' out-of-fold
    probabilities at that setting.

    Each fold's reviews are hidden, a model is fitted as ``model`` is (with the other
    folds' reviews), and its categories for the hidden rows are compared with the reviews.
    Only rows with a design weight (1 / inclusion probability; NaN for borderline and other
    reviews) estimate the agreement, so the figure is one for the whole population. Recall
    per category comes with a Wilson 95 % interval on the effective sample size, at Student's
    t for the design's degrees of freedom (``training.review.weighted_recall``). With one
    candidate this is the agreement of a model of that setting.

    ``halves`` (per row; -1 for none) marks reviews of a cross-fitted second round
    (``training.review``, "Rounds"): a first round's spread reviews split in two halves
    (0 and 1), and the borderline reviews each half's model drew. A hidden spread review
    must not be judged by a model taught by the reviews its answer steered to: the folds
    are then two per half, and while a fold of half h is hidden, the borderline reviews of
    half h stay out of the fit (those of the other half were drawn without its answers)."""
    labelled = np.flatnonzero(reviewed >= 0)
    rng = np.random.default_rng(seed)
    half_of = np.full(len(labelled), -1) if halves is None else np.asarray(halves)[labelled]
    crossed = half_of >= 0
    if crossed.any():
        folds = 4
    fold_of = rng.permutation(len(labelled)) % folds
    if crossed.any():
        # Two folds per half: fold 2h or 2h + 1.
        fold_of[crossed] = 2 * half_of[crossed] + rng.integers(0, 2, int(crossed.sum()))
    # Reviews drawn at random inside their stratum (a design weight): only they name clusters.
    representative = drawn_at_random(reviewed, weights)
    steering = crossed & ~representative[labelled]
    params = {
        **model.get_params(),
        "max_fit_rows": min(model.max_fit_rows, fit_rows),
        "max_classifier_rows": min(model.max_classifier_rows, fit_rows // 2),
        "n_clusterings": min(model.n_clusterings, cv_clusterings),
    }
    n_categories = len(category_names(model.population))
    # Candidates in order of preference on a tie: the lighter weight, then without relabelling.
    settings = sorted((weight, relabel) for relabel in relabels for weight in candidates)
    probabilities = {setting: np.zeros((len(labelled), n_categories)) for setting in settings}
    blend_probabilities = np.zeros((len(labelled), n_categories))

    def run(fold: int) -> tuple[int, list[np.ndarray], np.ndarray]:
        hidden = labelled[fold_of == fold]
        training = reviewed.copy()
        training[hidden] = -1
        # The borderline reviews this fold's hidden half steered to (none without halves).
        training[labelled[steering & (half_of == fold // 2)]] = -1
        fitted = ClusterSegmenter(**params).fit_review_weights(
            raw,
            training,
            champion=champion,
            representative=representative,
            weights=candidates,
            relabels=relabels,
            explain=False,
        )
        average = ClusterSegmenter.blended(fitted).predict_proba(raw[hidden])
        return fold, [each.predict_proba(raw[hidden]) for each in fitted], average

    fitted_order = [(weight, relabel) for relabel in relabels for weight in candidates]
    with ThreadPoolExecutor(max_workers=max(1, min(folds, CORES))) as pool:
        ran = pool.map(lambda fold: one_native_thread(run, fold), range(folds))
        for fold, per_setting, average in ran:
            for setting, hidden_probabilities in zip(fitted_order, per_setting, strict=True):
                probabilities[setting][fold_of == fold] = hidden_probabilities
            blend_probabilities[fold_of == fold] = average
    truth, design = reviewed[labelled], weights[labelled]

    def measured(chosen: np.ndarray, rows: np.ndarray | slice = slice(None)) -> dict[str, float]:
        return _agreement(model.population, truth[rows], chosen[rows].argmax(axis=1), design[rows])

    results = {setting: measured(p) for setting, p in probabilities.items()}
    blend = measured(blend_probabilities)
    blends = model.review_blend and len(settings) > 1
    # The best agreement; the first in ``settings`` among equals.
    best = max(
        settings,
        key=lambda setting: (
            results[setting].get("review_macro_recall", -1.0),
            -settings.index(setting),
        ),
    )
    chosen = blend_probabilities if blends else probabilities[best]
    out = with_fold_variance(
        blend if blends else results[best],
        [measured(chosen, fold_of == fold) for fold in range(folds)],
    )
    if len(settings) > 1:
        out["review_blend"] = float(blends)
        if not blends:
            out["review_weight"] = best[0]
            out["review_relabel"] = float(best[1])
        for (weight, relabel), figures in results.items():
            if "review_macro_recall" in figures:
                key = f"review_macro_recall_at_weight_{weight:g}" + ("_relabel" if relabel else "")
                out[key] = figures["review_macro_recall"]
        if "review_macro_recall" in blend:
            out["review_macro_recall_blended"] = blend["review_macro_recall"]
    if blends:
        return ReviewWeight(float("nan"), out, blend_probabilities, blend=True)
    return ReviewWeight(best[0], out, probabilities[best], relabel=best[1])


def with_fold_variance(
    pooled: dict[str, float], per_fold: list[dict[str, float]], z: float = Z_95
) -> dict[str, float]:
    """The pooled agreement with each interval (the macro recall's and each category's
    recall's) widened, where the folds disagree more than the reviews' sampling explains,
    to Nadeau and Bengio's corrected variance of a k-fold estimate, ``(1/k + 1/(k - 1))``
    times the variance of the folds' own figures (pure). Wilson's interval on the pooled
    reviews treats the categories compared as fixed; each fold's come from a model fitted
    without that fold, and that variance is in the folds' spread, not in the pooled count.
    (On the world suite the Wilson interval missed the true macro recall in 5 of 18 runs, 4
    of them by 0.002-0.007. Over 100 fresh draws of 1,000 reviews, each cross-validated and
    trained again, needs-support recall's Wilson interval held the trained model's true
    figure in 91-92 % of draws on two worlds, widened in 97-99 %; ``bench_cv_coverage.py``.)
    At the normal quantile, not Student's t at k - 1 degrees of freedom: the macro interval
    held the truth in 99-100 % of those draws, and t was 21-36 % wider for none more."""
    out = dict(pooled)
    # Every figure with an interval: ``<name>``, ``<name>_low`` and ``<name>_high``.
    names = [key.removesuffix("_low") for key in pooled if key.endswith("_low")]
    for name in names:
        figures = [f[name] for f in per_fold if name in f]
        if name not in pooled or f"{name}_high" not in pooled or len(figures) < 2:
            continue
        k = len(figures)
        spread = float(np.var(figures, ddof=1))
        half = z * float(np.sqrt((1 / k + 1 / (k - 1)) * spread))
        estimate = pooled[name]
        low = min(pooled[f"{name}_low"], estimate - half)
        high = max(pooled[f"{name}_high"], estimate + half)
        out[f"{name}_low"], out[f"{name}_high"] = max(0.0, low), min(1.0, high)
        out[f"{name}_fold_sd"] = float(np.sqrt(spread))
    return out


@dataclass(frozen=True)
class ReviewWeight:
    """The chosen review weight, its cross-validated agreement, and the reviewed rows'
    out-of-fold probabilities at that weight (in the order of ``flatnonzero(reviewed >= 0)``):
    what the probabilities are calibrated on. A model's probabilities for the reviews it was
    fitted on look surer than they are, the more so the more the reviews weigh."""

    weight: float
    agreement: dict[str, float]
    out_of_fold: np.ndarray
    #: Whether the reviews re-name the rows a classifier of them alone disagrees with.
    relabel: bool = False
    #: Whether the model is the settings' average (``weight`` and ``relabel`` then unused).
    blend: bool = False


def blockwise(raw: np.ndarray, compute: Callable[[np.ndarray], Any]) -> Any:
    """``compute`` over blocks of rows, joined: arrays concatenated, dicts of arrays per key.
    The blocks are computed a core each (numpy works on a block outside the GIL), so
    ``compute`` must not change shared state."""
    starts = range(0, len(raw), BLOCK_ROWS)
    with ThreadPoolExecutor(max_workers=max(1, min(len(starts), CORES))) as pool:
        parts = list(pool.map(lambda start: compute(raw[start : start + BLOCK_ROWS]), starts))
    if parts and isinstance(parts[0], dict):
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    return np.concatenate(parts)


def contingency(first: np.ndarray, second: np.ndarray, size: int) -> np.ndarray:
    """(size, size) counts of label pairs; labels are integer codes, -1 (unknown) is dropped."""
    known = (first >= 0) & (second >= 0)
    pairs = first[known].astype(np.int64) * size + second[known]
    return np.bincount(pairs, minlength=size * size).reshape(size, size)


def adjusted_rand(table: np.ndarray) -> float:
    """The adjusted Rand index from a contingency table (Hubert and Arabie, 1985); the same
    number as scikit-learn's ``adjusted_rand_score`` (tested), computed in O(rows) instead
    of sorting every label."""
    table = table.astype(np.float64)
    n = table.sum()

    def pairs(x: np.ndarray | float) -> np.ndarray | float:
        return x * (x - 1) / 2

    index = float(np.sum(pairs(table)))
    rows = float(np.sum(pairs(table.sum(axis=1))))
    columns = float(np.sum(pairs(table.sum(axis=0))))
    expected = rows * columns / float(pairs(n)) if n > 1 else 0.0
    maximum = (rows + columns) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def agreement(predicted: np.ndarray, truth: np.ndarray, population: Population) -> dict[str, float]:
    """Agreement with a truth file: ARI, macro recall and recall per category.

    ``predicted`` and ``truth`` are category names or integer codes in the population's
    category order (codes are much faster at 7.2 M rows: names are hashed first)."""
    labels = [category.name for category in CATEGORIES[population]]
    truth_codes, predicted_codes = (
        np.asarray(x)
        if np.issubdtype(np.asarray(x).dtype, np.integer)
        else pd.Categorical(x, categories=labels).codes
        for x in (truth, predicted)
    )
    table = contingency(truth_codes, predicted_codes, len(labels))
    actual = table.sum(axis=1)
    per_category = np.divide(np.diag(table), actual, out=np.zeros(len(labels)), where=actual > 0)
    out = {
        "truth_ari": adjusted_rand(table),
        "truth_macro_recall": float(np.mean(per_category)),
    }
    out.update(
        {f"truth_recall_{name}": float(v) for name, v in zip(labels, per_category, strict=True)}
    )
    return out


def drift(
    population: Population, profiles: pd.DataFrame, thresholds: GateThresholds
) -> tuple[dict[str, float], list[str]]:
    """Distance of the shares and profile from the reference (SPEC §1): metrics, and the
    ones past the thresholds in words. Reported, never a reason to refuse: the reference is
    the Finnish agency's, and a population that really differs is not forced to fit it."""
    metrics: dict[str, float] = {}
    flags: list[str] = []
    for category in CATEGORIES[population]:
        row = {str(k): float(v) for k, v in profiles.astype(float).T[category.name].items()}
        gap = row["share"] - category.share
        metrics[f"drift_share_{category.name}"] = gap
        if abs(gap) > thresholds.max_share_gap:
            flags.append(
                f"{category.name}: share {row['share']:.3f} against the reference "
                f"{category.share:.2f}"
            )
        for metric, reference in category.profile.items():
            # Relative to the reference, or to 1 where the reference is under 1 (0.4 contacts
            # a year): a small reference is flagged by an absolute gap, not by a few tenths.
            error = (row[metric] - reference) / max(reference, 1.0)
            metrics[f"drift_{category.name}_{metric}"] = error
            if abs(error) > thresholds.max_profile_rel_error:
                # In words, the value's own distance from the reference (0.02 against 0.4 is
                # -95 %), not the flag's measure (-0.38).
                change = row[metric] / reference - 1.0 if reference else float("inf")
                flags.append(
                    f"{category.name}: {metric} {row[metric]:.2f} against the reference "
                    f"{reference} ({change:+.0%})"
                )
    return metrics, flags


def gate(
    population: Population,
    profiles: pd.DataFrame,
    metrics: dict[str, float],
    thresholds: GateThresholds,
) -> GateResult:
    """Check a challenger against the gate; every failed rule is named in ``reasons``.

    Refuses: a category left empty; a model a re-fit with another seed does not reproduce;
    with reviews, agreement with case handlers below the threshold; with a truth file (test
    populations), macro recall below the threshold. Drift from the reference is not here."""
    reasons: list[str] = []
    shares = profiles["share"].astype(float)
    for category in CATEGORIES[population]:
        if shares[category.name] == 0.0:
            reasons.append(f"{category.name}: no customers")
    if not metrics["stability"] >= thresholds.min_stability:
        reasons.append(
            f"a re-fit with another seed keeps {metrics['stability']:.1%} of customers in "
            f"their category (min {thresholds.min_stability:.0%})"
        )
    if (
        metrics.get("reviews_estimating", 0.0) >= thresholds.min_reviews
        and "review_macro_recall" in metrics
        and metrics["review_macro_recall"] < thresholds.min_review_macro_recall
    ):
        reasons.append(
            f"agreement with case handlers' reviews {metrics['review_macro_recall']:.3f} "
            f"(95 % {metrics['review_macro_recall_low']:.3f}-"
            f"{metrics['review_macro_recall_high']:.3f}) below "
            f"{thresholds.min_review_macro_recall}"
        )
    if "truth_macro_recall" in metrics and (
        metrics["truth_macro_recall"] < thresholds.min_macro_recall
    ):
        reasons.append(
            f"macro recall against truth {metrics['truth_macro_recall']:.3f} below "
            f"{thresholds.min_macro_recall}"
        )
    return GateResult(passed=not reasons, reasons=reasons)

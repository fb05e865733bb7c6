"""`segmentation train`: validate, fit, evaluate, gate, register and move `champion`."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from mlflow import MlflowClient
from threadpoolctl import threadpool_limits

from data_contracts.identifiers import as_integers
from data_contracts.reviews import reviewer_key, validate_reviews
from data_contracts.schemas import CONTRACT_VERSION
from data_contracts.validation import ID_COLUMN, unrecorded, validate
from models.bundle import SegmentationBundle
from models.calibration import fit_calibration
from models.registry import (
    MODEL_NAMES,
    agreement_unmeasured,
    champion,
    configure_mlflow,
    load_version,
    log_bundle,
    promote,
)
from models.segmenter import BLEND_RELABELS, BLEND_WEIGHTS, ClusterSegmenter
from segmentation.fairness import fairness_report, sensitive_frame
from segmentation.features import build_features, numeric_matrix, raw_profile_metrics
from segmentation.naming import category_profiles
from segmentation.settings import Settings
from segmentation.taxonomy import (
    CATEGORIES,
    Population,
    channel_for,
    supportive_choice,
)
from training import lanes
from training.evaluate import (
    GateResult,
    GateThresholds,
    ReviewWeight,
    agreement,
    blockwise,
    choose_review_weight,
    drift,
    gate,
    one_native_thread,
    refit_with_seed,
    silhouette,
    stability,
)
from training.files import ReadAhead, population_tables, read_and_fingerprint
from training.review import (
    STEERED,
    design_halves,
    drawn_at_random,
    load_designs,
    settle_opinions,
)

log = logging.getLogger(__name__)

REVIEW_FOLDS = 5
#: Reviews of a population below this count are used to name and refine, but too few to
#: cross-validate.
MIN_REVIEWS_FOR_AGREEMENT = 10
#: The stability refit's seed is the training seed plus this; it is compared on a sample of
#: ``STABILITY_ROWS`` rows.
STABILITY_SEED_OFFSET = 101
STABILITY_ROWS = 200_000


@dataclass
class PopulationReport:
    population: Population
    rows_accepted: int
    rows_rejected: int
    version: str
    promoted: bool
    champion_version: str | None
    gate_reasons: list[str]
    metrics: dict[str, float]
    profiles: pd.DataFrame
    drift: list[str] = field(default_factory=list)
    reviews_used: int = 0
    #: Groups routed to more personal service at under 0.8 of the most favoured group's rate.
    fairness_flags: list[str] = field(default_factory=list)
    #: Count and handling-time columns 0 for every customer: not recorded by the extract?
    unrecorded: list[str] = field(default_factory=list)

    @property
    def unmeasured(self) -> str | None:
        """What an operator must know when nothing measured whether citizens are in the right
        category: no reviews and no truth file (``models.registry.agreement_unmeasured``)."""
        if not agreement_unmeasured(self.population, self.metrics):
            return None
        if self.drift:
            # The documented traits name clusters by contacts at the reference's level: an
            # agency counting every contact three times reads as a third needing support
            # (README, "Model quality on unseen worlds").
            return (
                "agreement with case handlers not measured (no reviews), and the profile "
                "is far from the reference (below): a population unlike the reference's "
                "and one whose contacts are counted otherwise than the reference's look "
                "the same until case handlers review a sample"
            )
        return (
            "agreement with case handlers not measured (no reviews): stability and a "
            "profile near the reference do not tell whether customers are in the right "
            "category"
        )

    @property
    def next_step(self) -> str | None:
        """What an operator can do when the gate left this population without a champion."""
        if self.champion_version is not None:
            return None
        return (
            "no champion yet: review a sample (`segmentation review sample`) and train with "
            f"`--reviews`, or put this version into service with `segmentation promote "
            f"--population {self.population} --version {self.version} --reason TEXT`"
        )


@dataclass(frozen=True)
class Reviewed:
    """Reviews matched to the rows being trained: category index per row (-1: none), the
    design weight per row (1 / inclusion probability; NaN where unknown) and the half of a
    cross-fitted round of review each belongs to (-1: none; ``training.review``); with
    what second opinions say of the reviews (``training.review.settle_opinions``)."""

    codes: np.ndarray
    weights: np.ndarray
    halves: np.ndarray | None = None
    opinions: dict[str, float] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int((self.codes >= 0).sum())

    @property
    def representative(self) -> np.ndarray:
        """The reviews drawn at random inside their stratum (a design weight): the ones
        that name clusters (``ClusterSegmenter.fit``)."""
        return drawn_at_random(self.codes, self.weights)


def match_reviews(
    population: Population,
    reviews: pd.DataFrame | None,
    ids: np.ndarray,
    designs: pd.DataFrame | None = None,
) -> Reviewed:
    """Match validated reviews (``data_contracts.reviews``) to the data's ids (as integers,
    the validated digit strings read as numbers). A customer several case handlers judged
    counts once, by the category most of them give (``settle_opinions``). The design
    weight comes from the review's own ``inclusion_probability`` column, else from the
    sample designs kept by `segmentation review sample`."""
    codes = np.full(len(ids), -1, dtype=np.int64)
    weights = np.full(len(ids), np.nan)
    if reviews is None or not len(reviews):
        return Reviewed(codes, weights)
    mine, opinions = settle_opinions(reviews[reviews["population"] == population])
    if opinions.get("reviews_without_majority"):
        log.warning(
            "%s: %d customers judged by case handlers who split evenly, left out until "
            "another judges them",
            population,
            int(opinions["reviews_without_majority"]),
        )
    labels = [category.name for category in CATEGORIES[population]]
    # Matched as integers, looking the data's ids up among the reviewed ones (a thousand),
    # not the other way round: hashing 7.2 M id strings took 10 s. Both are validated
    # digit strings.
    data_keys = ids
    review_keys = pd.Index(mine["id"].astype("int64").to_numpy())
    which_review = review_keys.get_indexer(pd.Index(data_keys))  # per data row: its review, or -1
    data_rows = np.flatnonzero(which_review >= 0)
    position = np.full(len(mine), -1, dtype=np.int64)
    position[which_review[data_rows]] = data_rows
    found = position >= 0
    rows = position[found]
    codes[rows] = pd.Categorical(mine["category"], categories=labels).codes[found]
    probability = (
        pd.to_numeric(mine["inclusion_probability"], errors="coerce").to_numpy()
        if "inclusion_probability" in mine.columns
        else np.full(len(mine), np.nan)
    )
    halves = np.full(len(ids), -1, dtype=np.int64)
    if designs is not None and len(designs):
        drawn = designs[designs["part"] != STEERED].drop_duplicates("id", keep="last")
        review_ids = mine["id"].astype(str)
        looked_up = drawn.set_index("id")["inclusion_probability"].reindex(review_ids).to_numpy()
        probability = np.where(np.isfinite(probability), probability, looked_up)
        halves[rows] = design_halves(designs, review_ids)[found]
    with np.errstate(divide="ignore"):
        weights[rows] = np.where(probability[found] > 0, 1.0 / probability[found], np.nan)
    if (~found).any():
        log.info("%s: %d reviews name no row of the data", population, int((~found).sum()))
    return Reviewed(codes, weights, halves, opinions)


class _Clock:
    """Step timings for `segmentation -v train` (counts and seconds only): each step's wall
    time and the CPU time this process spent in it (all its threads: more than the wall
    time where they kept both cores busy; the process lanes' workers are not counted)."""

    def __init__(self, population: str) -> None:
        self.population = population
        self.last = time.perf_counter()
        self.last_cpu = time.process_time()

    def lap(self, step: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        log.info(
            "%s: %s in %.1f s (CPU %.1f s)",
            self.population,
            step,
            now - self.last,
            cpu - self.last_cpu,
        )
        self.last, self.last_cpu = now, cpu


def _current_champion(population: Population) -> tuple[ClusterSegmenter | None, str | None]:
    info = champion(population)
    if info is None:
        return None, None
    return load_version(population, info.version).segmenter, info.version


#: ``evaluate_model``'s pass over the rows: the keys of the profile's per-row metrics.
_PROFILE = "profile:"


def evaluate_model(
    model: ClusterSegmenter,
    raw: np.ndarray,
    *,
    reviewed: Reviewed,
    current: ClusterSegmenter | None,
    truth_codes: np.ndarray | None,
    thresholds: GateThresholds,
    seed: int,
    measured_beside: Callable[[], dict[str, float]],
) -> tuple[dict[str, float], pd.DataFrame, list[str], GateResult, dict[str, np.ndarray]]:
    """Everything the gate and the operator look at, from a fitted model (no I/O).
    ``measured_beside``: the measures computed beside the fit (stability, the agreement
    with reviews), waited for once the rows are scored. Also returns each row's outcome as
    the batch gives it (``category`` and ``channel`` codes: a borderline customer gets the
    more supportive channel), for the fairness report: one pass over the rows for both."""
    population = model.population
    categories = list(model.categories_)

    # Block by block: features once per block, scored by both models.
    def score_block(block: np.ndarray) -> dict[str, np.ndarray]:
        features = build_features(block, population)
        probabilities = model.predict_proba_features(features)
        out = {
            "new": probabilities.argmax(axis=1),
            "channel": supportive_choice(population, probabilities, categories)[0],
        }
        if current is not None:
            out["champion"] = current.predict_index_features(features)
        # The profile's per-row behaviour, in the same pass over the rows.
        for name, values in raw_profile_metrics(block, population).items():
            out[_PROFILE + name] = values
        return out

    with ThreadPoolExecutor(1, thread_name_prefix="silhouette") as beside:
        # The silhouette of a sample (one core, its distances) beside the pass over the rows.
        silhouetting = beside.submit(silhouette, model, raw, rows=5_000, seed=seed)
        scored = blockwise(raw, score_block)
        metrics: dict[str, float] = {"silhouette_sample": silhouetting.result()}
    predicted = scored["new"]
    metric_rows = {
        name.removeprefix(_PROFILE): values
        for name, values in scored.items()
        if name.startswith(_PROFILE)
    }
    profiles = category_profiles(population, predicted, metric_rows)
    if current is not None:
        # The share of customers whose category the new model changes (same data).
        metrics["changed_vs_champion"] = float(np.mean(scored["champion"] != predicted))
    if model.single_change_share_ is not None:
        # How the customers with one change were weighed (models.single_change).
        metrics["single_change_irregular_share"] = float(model.single_change_share_)
    if model.benefit_support_share_ is not None:
        # How the customers whose benefits alone say needs support were weighed.
        metrics["benefit_support_share"] = float(model.benefit_support_share_)
    if truth_codes is not None:
        metrics.update(agreement(predicted, truth_codes, population))
    metrics.update(measured_beside())
    for name, row in profiles.iterrows():
        for column, value in row.items():
            if not str(column).startswith("reference_"):
                metrics[f"{name}_{column}"] = float(value)
    drift_metrics, drift_flags = drift(population, profiles, thresholds)
    metrics.update(drift_metrics)
    verdict = gate(population, profiles, metrics, thresholds)
    return (
        metrics,
        profiles,
        drift_flags,
        verdict,
        {"category": predicted, "channel": scored["channel"]},
    )


def _truth_codes(path: Path, ids: np.ndarray, id_column: str, labels: list[str]) -> np.ndarray:
    """The true category of each accepted row (``ids`` as integers) as a code in ``labels``
    order (-1: unknown), matched by id."""
    table = pq.read_table(path, columns=[id_column, "category"])
    codes = pc.fill_null(pc.index_in(table["category"], value_set=pa.array(labels)), -1)
    truth_codes = codes.to_numpy(zero_copy_only=False).astype(np.int64)
    key_values = pc.cast(table[id_column], pa.int64()).to_numpy(zero_copy_only=False)
    if np.array_equal(key_values, ids):  # the truth in the data's order (as generated)
        return truth_codes
    keys = pd.Index(key_values)
    if not keys.is_unique:
        first = ~keys.duplicated()
        keys, truth_codes = keys[first], truth_codes[first]
    position = keys.get_indexer(ids)
    return np.where(position >= 0, truth_codes[position], -1)


@dataclass
class _Prepared:
    """One population's validated table and everything training reads beside it."""

    population: Population
    raw: np.ndarray
    ids: np.ndarray
    rows_accepted: int
    rows_rejected: int
    data_print: str
    reviewed: Reviewed
    current: ClusterSegmenter | None
    current_version: str | None
    truth_codes: np.ndarray | None
    #: The audited group attributes of each row (never features): age band, sex, county.
    groups: pd.DataFrame
    #: Count and handling-time columns 0 on every accepted row (``validation.unrecorded``).
    unrecorded: list[str]
    #: The shared-memory blocks ``raw`` lives in (the process lanes'), or None: threads.
    shared: lanes.SharedArrays | None = None


@dataclass
class _Evaluated:
    """A fitted model, its quality figures, fairness and the gate's verdict (no I/O)."""

    model: ClusterSegmenter
    metrics: dict[str, float]
    profiles: pd.DataFrame
    drift: list[str]
    verdict: GateResult
    fairness: dict[str, Any]
    #: The probabilities' calibration on the reviewed rows (None without enough reviews).
    calibration: tuple[float, ...] | None = None


def _prepare(
    population: Population,
    path: Path,
    data_dir: Path,
    reviews: pd.DataFrame | None,
    designs: pd.DataFrame | None,
    clock: _Clock,
    read: ReadAhead | None = None,
    shared: lanes.SharedArrays | None = None,
) -> _Prepared:
    """Read and validate the table (or take it read, ``read``); match the reviews; load the
    champion and any truth. With ``shared``, the numeric matrix is built in shared memory
    (the process lanes read it there)."""
    frame, data_print = read.take() if read is not None else read_and_fingerprint(path)
    clock.lap("read")
    result = validate(frame, population)
    del frame
    clock.lap("validated")
    if len(result.accepted) < 1_000:
        raise ValueError(f"{population}: only {len(result.accepted)} valid rows; need 1,000")
    accepted = result.accepted
    with ThreadPoolExecutor(1, thread_name_prefix="matrix") as beside:
        # The matrix is copied in beside the rest (numpy copies without the GIL): one core
        # each, where one after the other left a core idle for seconds at 7.2 M rows.
        building = beside.submit(
            numeric_matrix, accepted, population, np.empty if shared is None else shared.empty
        )
        # Validated ids are digit strings: as integers once (7.2 M Python strings cost
        # seconds each time they were hashed or converted).
        ids = as_integers(accepted[ID_COLUMN[population]])
        reviewed = match_reviews(population, reviews, ids, designs)
        current, current_version = _current_champion(population)
        groups = sensitive_frame(population, accepted)
        empty = unrecorded(accepted, population)
        truth_path = data_dir / f"{population}_truth.parquet"
        truth_codes = (
            _truth_codes(
                truth_path, ids, ID_COLUMN[population], [c.name for c in CATEGORIES[population]]
            )
            if truth_path.exists()
            else None
        )
        raw = building.result()
    clock.lap("reviews matched, champion loaded")
    return _Prepared(
        population,
        raw,
        ids,
        len(result.accepted),
        len(result.rejected),
        data_print,
        reviewed,
        current,
        current_version,
        truth_codes,
        groups,
        empty,
        shared,
    )


def _fairness(
    prepared: _Prepared, model: ClusterSegmenter, outcome: dict[str, np.ndarray]
) -> dict[str, Any]:
    """The outcomes of ``model`` on the training rows by group: categories and channels as
    the batch gives them (``evaluate_model``'s ``outcome``)."""
    categories = np.asarray(model.categories_)
    channels = np.asarray([channel_for(prepared.population, name) for name in categories])
    return fairness_report(
        prepared.population,
        pd.Categorical.from_codes(outcome["category"], pd.Index(categories)),
        pd.Categorical.from_codes(outcome["channel"], pd.Index(channels)),
        prepared.groups,
    )


def _in_processes(settings: Settings) -> bool:
    """Whether the work beside the fit runs in process lanes (asked for, and possible)."""
    return settings.fit_lanes == "processes" and lanes.AVAILABLE


@contextmanager
def _lanes(shared: lanes.SharedArrays | None) -> Iterator[Callable[..., Future[Any]]]:
    """Where work beside the fit runs: ``submit(work, *args, **kwargs)`` in two worker
    processes reading the shared arrays (``training.lanes``), or, without ``shared``, in
    two threads of this process; in either, every native thread pool at one thread."""
    if shared is not None:
        with lanes.process_lanes(shared) as processes:
            yield processes.submit
        return
    with ThreadPoolExecutor(2, thread_name_prefix="fit") as threads:

        def submit(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
            return threads.submit(one_native_thread, work, *args, **kwargs)

        yield submit


def _fit_and_evaluate(prepared: _Prepared, settings: Settings, clock: _Clock) -> _Evaluated:
    """Fit the model (named by the reviews, then the champion) and measure it; pure.

    Three pieces of work need only the model's settings, not its fit: the cross-validated
    agreement with the reviews (its folds), the refit with another seed that stability
    compares with, and the fit itself. They run side by side, one native thread each (each
    k-means otherwise starts a thread per core, and fits on two cores spent their time
    switching); then the rows are scored while what is left of them finishes."""
    model = ClusterSegmenter(
        prepared.population, max_fit_rows=settings.train_sample_rows, random_state=settings.seed
    )
    raw, codes = prepared.raw, prepared.reviewed.codes
    representative = prepared.reviewed.representative  # the reviews that name clusters
    with threadpool_limits(limits=1), _lanes(prepared.shared) as beside:
        choosing: Future[ReviewWeight] | None = None
        if prepared.reviewed.count >= MIN_REVIEWS_FOR_AGREEMENT:
            # How much the reviews weigh against the clusters' names: the average of the
            # review settings (the default), or the setting of best agreement.
            choosing = beside(
                choose_review_weight,
                model,
                raw,
                codes,
                prepared.reviewed.weights,
                folds=REVIEW_FOLDS,
                seed=settings.seed,
                champion=prepared.current,
                halves=prepared.reviewed.halves,
            )
            if not model.review_blend:  # the fits need the chosen setting
                chosen = choosing.result()
                model.set_params(review_weight=chosen.weight, relabel=chosen.relabel)
                clock.lap(
                    f"review weight {chosen.weight:g}"
                    f"{' with re-naming' if chosen.relabel else ''} chosen"
                )
        refitting = beside(
            refit_with_seed,
            model,
            raw,
            settings.seed + STABILITY_SEED_OFFSET,
            reviewed=codes,
            champion=prepared.current,
            representative=representative,
        )
        model.fit(raw, codes, champion=prepared.current, representative=representative)
        clock.lap("fitted (the agreement and the stability refit beside it)")

        def measured_beside() -> dict[str, float]:
            out = stability(
                model, raw, refits=[refitting.result()], rows=STABILITY_ROWS, seed=settings.seed
            )
            if choosing is not None:
                out.update(choosing.result().agreement)
            out.update(prepared.reviewed.opinions)  # what second opinions say of the reviews
            return out

        metrics, profiles, drift_flags, verdict, outcome = evaluate_model(
            model,
            raw,
            reviewed=prepared.reviewed,
            current=prepared.current,
            truth_codes=prepared.truth_codes,
            thresholds=GateThresholds.from_settings(settings),
            seed=settings.seed,
            measured_beside=measured_beside,
        )
    fairness = _fairness(prepared, model, outcome)
    reviewed = np.flatnonzero(codes >= 0)
    # Calibrated on the reviews' out-of-fold probabilities (the cross-validation's): the
    # model's own probabilities for the reviews it learnt from look surer than they are.
    out_of_fold = None if choosing is None else choosing.result().out_of_fold
    calibration = fit_calibration(
        out_of_fold if out_of_fold is not None else model.predict_proba(raw[reviewed]),
        codes[reviewed],
    )
    if calibration is not None:
        metrics["calibration_temperature"] = calibration[0]
    clock.lap("evaluated")
    return _Evaluated(model, metrics, profiles, drift_flags, verdict, fairness, calibration)


def _model_params(model: ClusterSegmenter, *, blended: bool) -> dict[str, object]:
    """The model's parameters as MLflow params. A model fitted with reviews as the average
    of the review settings used every weight and both re-naming settings, not the one
    ``review_weight`` and ``relabel`` it carries: the params say so."""
    params: dict[str, object] = {
        f"model_{k}": v for k, v in model.get_params().items() if k != "population"
    }
    if blended and model.review_blend:
        params["model_review_weight"] = "average of " + ", ".join(f"{w:g}" for w in BLEND_WEIGHTS)
        params["model_relabel"] = "average of " + ", ".join(str(r) for r in BLEND_RELABELS)
    return params


def _record(
    prepared: _Prepared, evaluated: _Evaluated, settings: Settings
) -> tuple[str, str | None]:
    """Log the run to MLflow, register the model, and move the alias if the gate passed.
    Returns the new version and the champion's version afterwards."""
    population, metrics = prepared.population, evaluated.metrics
    finite = {k: v for k, v in metrics.items() if np.isfinite(v)}
    mlflow.log_params(
        {
            "population": population,
            "seed": settings.seed,
            "contract_version": CONTRACT_VERSION,
            "data_fingerprint": prepared.data_print,
            "rows_accepted": prepared.rows_accepted,
            "rows_rejected": prepared.rows_rejected,
            "sample_rows": settings.train_sample_rows,
            "reviews_used": prepared.reviewed.count,
            "named_by_champion": prepared.current_version or "",
        }
    )
    mlflow.log_params(_model_params(evaluated.model, blended=prepared.reviewed.count > 0))
    mlflow.log_metrics(finite)
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "profile_vs_reference.csv"
        evaluated.profiles.to_csv(table)
        mlflow.log_artifact(str(table))
    bundle = SegmentationBundle(
        population=population,
        segmenter=evaluated.model,
        data_fingerprint=prepared.data_print,
        metrics=finite,
        calibration=evaluated.calibration,
    )
    version = log_bundle(bundle)
    verdict = evaluated.verdict
    fairness = evaluated.fairness
    mlflow.log_dict(fairness, "fairness.json")
    mlflow.log_metrics({k: v for k, v in fairness.items() if k.startswith("min_ratio_")})
    fairness_tag = "; ".join(fairness["flags"]) or "none"
    mlflow.set_tags(
        {
            "gate": "passed" if verdict.passed else "failed",
            "gate_reasons": "; ".join(verdict.reasons),
            "drift": "; ".join(evaluated.drift) or "none",
            "unrecorded": ", ".join(prepared.unrecorded) or "none",
            "fairness": fairness_tag,
        }
    )
    MlflowClient().set_model_version_tag(MODEL_NAMES[population], version, "fairness", fairness_tag)
    mlflow.log_metric("promoted", float(verdict.passed))
    if verdict.passed:
        promote(population, version)
        return version, version
    log.warning(
        "%s: gate failed, champion stays at %s: %s",
        population,
        prepared.current_version,
        "; ".join(verdict.reasons),
    )
    return version, prepared.current_version


def train_population(
    population: Population,
    data_dir: Path,
    settings: Settings,
    reviews: pd.DataFrame | None = None,
    designs: pd.DataFrame | None = None,
    read: ReadAhead | None = None,
) -> PopulationReport | None:
    """Train, evaluate, register and (if the gate passes) promote one population's model.
    ``read``: the table being read, converted and fingerprinted in the background
    (``training.files.prefetch_tables``)."""
    path = data_dir / f"{population}.parquet"
    if not path.exists():
        log.info("%s: no %s, skipped", population, path.name)
        return None
    clock = _Clock(population)
    with ExitStack() as stack:
        shared = None
        if _in_processes(settings):
            shared = lanes.SharedArrays()
            stack.callback(shared.close)  # the blocks go, whatever happens
        prepared = _prepare(population, path, data_dir, reviews, designs, clock, read, shared)
        with mlflow.start_run(run_name=f"{population}-{time.strftime('%Y%m%dT%H%M%S')}"):
            evaluated = _fit_and_evaluate(prepared, settings, clock)
            version, champion_version = _record(prepared, evaluated, settings)
    clock.lap("registered")
    return PopulationReport(
        population=population,
        rows_accepted=prepared.rows_accepted,
        rows_rejected=prepared.rows_rejected,
        version=version,
        promoted=evaluated.verdict.passed,
        champion_version=champion_version,
        gate_reasons=evaluated.verdict.reasons,
        metrics=evaluated.metrics,
        profiles=evaluated.profiles,
        drift=evaluated.drift,
        reviews_used=prepared.reviewed.count,
        fairness_flags=evaluated.fairness["flags"],
        unrecorded=prepared.unrecorded,
    )


def load_reviews(paths: Path | Sequence[Path]) -> tuple[pd.DataFrame, int]:
    """The accepted reviews of one or more `reviews.parquet` files (rounds of review) and
    how many rows were set aside. Each file is validated on its own. A case handler's
    judgement of a customer in a later file replaces their own in an earlier one; the
    judgements of several case handlers of one customer, in one file or several, are
    opinions that training settles by majority (``training.review.settle_opinions``)."""
    accepted, rejected = [], 0
    for path in [paths] if isinstance(paths, Path) else paths:
        result = validate_reviews(pq.read_table(path).to_pandas())
        if len(result.rejected):
            log.warning(
                "reviews: %d rows set aside (%s): %s",
                len(result.rejected),
                path.name,
                result.reasons(),
            )
        accepted.append(result.accepted)
        rejected += len(result.rejected)
    if not accepted:
        raise ValueError("no reviews file given")
    if len(accepted) == 1:
        return accepted[0], rejected
    joined = pd.concat(accepted, ignore_index=True)
    judges = joined.assign(_judge=reviewer_key(joined["reviewer"]))
    latest = ~judges.duplicated(["population", "id", "_judge"], keep="last")
    return joined[latest.to_numpy()].reset_index(drop=True), rejected


def train(
    data_dir: Path, settings: Settings, reviews_path: Path | Sequence[Path] | None = None
) -> list[PopulationReport]:
    """Train every population whose table is in ``data_dir`` (with reviews, if given: a
    file, or one per round of review)."""
    reviews = load_reviews(reviews_path)[0] if reviews_path is not None else None
    return train_reviewed(data_dir, settings, reviews)


def train_reviewed(
    data_dir: Path,
    settings: Settings,
    reviews: pd.DataFrame | None,
    reads: Mapping[str, ReadAhead] | None = None,
) -> list[PopulationReport]:
    """Train every population whose table is in ``data_dir`` with reviews already loaded
    by :func:`load_reviews` (``None``: the unsupervised path alone); ``reads``: the tables
    being read in the background (``training.files.prefetch_tables``), each taken once."""
    present = population_tables(data_dir)  # a folder without tables: said before any start-up
    if _in_processes(settings):
        lanes.start()  # the workers' server imports while the tables are validated
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    designs = load_designs(settings.home) if reviews is not None else None
    reports = []
    for population in present:
        read = (reads or {}).get(population)
        report = train_population(population, data_dir, settings, reviews, designs, read)
        if report is not None:
            reports.append(report)
    return reports

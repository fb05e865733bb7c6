"""`segmentation train`: validate, fit, evaluate, gate, register and move `champion`."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_contracts.schemas import CONTRACT_VERSION
from data_contracts.validation import ID_COLUMN, validate
from models.bundle import SegmentationBundle
from models.registry import champion, configure_mlflow, log_bundle, promote
from models.segmenter import ClusterSegmenter
from segmentation.features import numeric_matrix, raw_profile_metrics
from segmentation.naming import category_profiles
from segmentation.settings import Settings
from segmentation.taxonomy import CATEGORIES, POPULATIONS, Population
from training.evaluate import CORES, GateThresholds, agreement, gate, silhouette, stability
from training.files import fingerprint

log = logging.getLogger(__name__)

#: The candidates whose reference fit decides the method (see README, "Model lifecycle").
CANDIDATES: dict[Population, list[dict[str, int]]] = {
    "citizens": [{"n_clusters": k, "random_state": s} for k in (8, 10) for s in (0, 1)],
    "employers": [
        {"n_clusters": k, "random_state": s, "components_per_category": 2}
        for k in (4, 6)
        for s in (0, 1)
    ],
}


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
    candidates: list[dict[str, float]] = field(default_factory=list)


def _fit_candidates(
    population: Population, raw: np.ndarray, base_seed: int, sample_rows: int
) -> tuple[ClusterSegmenter, list[dict[str, float]]]:
    """Fit every candidate; the one whose categories lie closest to the reference wins.

    Candidates are fitted in threads, one per core: most of a fit is numpy and
    scikit-learn work that releases the GIL (measured on 2 cores: 12.6 s -> 8.3 s for the
    four citizen candidates, the same models)."""

    def fit(params: dict[str, int]) -> tuple[ClusterSegmenter, float]:
        started = time.perf_counter()
        model = ClusterSegmenter(
            population,
            max_fit_rows=sample_rows,
            **{**params, "random_state": base_seed + params["random_state"]},  # type: ignore[arg-type]
        ).fit(raw)
        return model, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=min(len(CANDIDATES[population]), CORES)) as pool:
        fitted = list(pool.map(fit, CANDIDATES[population]))
    results = [
        {
            "n_clusters": float(model.n_clusters),
            "random_state": float(model.random_state),
            "reference_loss": model.naming_.loss,
            "seconds": seconds,
        }
        for model, seconds in fitted
    ]
    best = min((model for model, _ in fitted), key=lambda model: model.naming_.loss)
    return best, results


def _truth_codes(path: Path, ids: np.ndarray, id_column: str, labels: list[str]) -> np.ndarray:
    """The true category of each accepted row as a code in ``labels`` order (-1: unknown),
    matched by id. Ids are joined as integers where they are all digits (7.2 M strings
    took seconds to hash)."""
    table = pq.read_table(path, columns=[id_column, "category"])
    codes = pc.fill_null(pc.index_in(table["category"], value_set=pa.array(labels)), -1)
    truth_codes = codes.to_numpy(zero_copy_only=False).astype(np.int64)
    data_ids = pa.array(ids, pa.string())
    try:
        keys = pd.Index(pc.cast(table[id_column], pa.int64()).to_numpy(zero_copy_only=False))
        wanted = pc.cast(data_ids, pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        keys = pd.Index(table[id_column].to_numpy(zero_copy_only=False))
        wanted = data_ids.to_numpy(zero_copy_only=False)
    if not keys.is_unique:
        first = ~keys.duplicated()
        keys, truth_codes = keys[first], truth_codes[first]
    position = keys.get_indexer(wanted)
    return np.where(position >= 0, truth_codes[position], -1)


def train_population(
    population: Population, data_dir: Path, settings: Settings
) -> PopulationReport | None:
    """Train, evaluate, register and (if the gate passes) promote one population's model."""
    path = data_dir / f"{population}.parquet"
    if not path.exists():
        log.info("%s: no %s, skipped", population, path.name)
        return None
    frame = pq.read_table(path).to_pandas()
    result = validate(frame, population)
    del frame
    if len(result.accepted) < 1_000:
        raise ValueError(f"{population}: only {len(result.accepted)} valid rows; need 1,000")
    raw = numeric_matrix(result.accepted, population)
    ids = result.accepted[ID_COLUMN[population]].to_numpy()
    data_print = fingerprint(path)
    seed = settings.seed
    thresholds = GateThresholds(
        max_share_gap=settings.gate_max_share_gap,
        max_profile_rel_error=settings.gate_max_profile_rel_error,
        min_stability_ari=settings.gate_min_stability_ari,
        min_macro_recall=settings.gate_min_macro_recall,
    )
    with mlflow.start_run(run_name=f"{population}-{time.strftime('%Y%m%dT%H%M%S')}"):
        mlflow.log_params(
            {
                "population": population,
                "seed": seed,
                "contract_version": CONTRACT_VERSION,
                "data_fingerprint": data_print,
                "rows_accepted": len(result.accepted),
                "rows_rejected": len(result.rejected),
                "sample_rows": settings.train_sample_rows,
                "candidates": json.dumps(CANDIDATES[population]),
            }
        )
        model, candidates = _fit_candidates(population, raw, seed, settings.train_sample_rows)
        for index, candidate in enumerate(candidates):
            mlflow.log_metrics({f"candidate_{index}_{k}": v for k, v in candidate.items()})
        mlflow.log_params(
            {f"model_{k}": v for k, v in model.get_params().items() if k != "population"}
        )
        predicted = model.predict_index(raw)
        profiles = category_profiles(population, predicted, raw_profile_metrics(raw, population))
        metrics: dict[str, float] = {
            "reference_loss": model.naming_.loss,
            "silhouette_sample": silhouette(model, raw, rows=5_000, seed=seed),
            "stability_ari": stability(
                model, raw, seeds=[seed + 101, seed + 202], rows=50_000, seed=seed
            ),
        }
        for name, row in profiles.iterrows():
            for column, value in row.items():
                if not str(column).startswith("reference_"):
                    metrics[f"{name}_{column}"] = float(value)
        truth_path = data_dir / f"{population}_truth.parquet"
        truth_metrics = None
        if truth_path.exists():
            labels = [category.name for category in CATEGORIES[population]]
            truth_codes = _truth_codes(truth_path, ids, ID_COLUMN[population], labels)
            in_label_order = np.array([labels.index(name) for name in model.categories_])
            truth_metrics = agreement(in_label_order[predicted], truth_codes, population)
            metrics.update(truth_metrics)
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as tmp:
            table = Path(tmp) / "profile_vs_reference.csv"
            profiles.to_csv(table)
            mlflow.log_artifact(str(table))
        verdict = gate(population, profiles, metrics["stability_ari"], truth_metrics, thresholds)
        bundle = SegmentationBundle(
            population=population,
            segmenter=model,
            data_fingerprint=data_print,
            metrics={k: v for k, v in metrics.items() if np.isfinite(v)},
        )
        version = log_bundle(bundle)
        previous = champion(population)
        mlflow.set_tags(
            {
                "gate": "passed" if verdict.passed else "failed",
                "gate_reasons": "; ".join(verdict.reasons),
            }
        )
        if verdict.passed:
            promote(population, version)
            champion_version: str | None = version
        else:
            champion_version = previous.version if previous else None
            log.warning(
                "%s: gate failed, champion stays at %s: %s",
                population,
                champion_version,
                "; ".join(verdict.reasons),
            )
        mlflow.log_metric("promoted", float(verdict.passed))
    return PopulationReport(
        population=population,
        rows_accepted=len(result.accepted),
        rows_rejected=len(result.rejected),
        version=version,
        promoted=verdict.passed,
        champion_version=champion_version,
        gate_reasons=verdict.reasons,
        metrics=metrics,
        profiles=profiles,
        candidates=candidates,
    )


def train(data_dir: Path, settings: Settings) -> list[PopulationReport]:
    """Train every population whose table is in ``data_dir``."""
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    reports = []
    for population in POPULATIONS:
        report = train_population(population, data_dir, settings)
        if report is not None:
            reports.append(report)
    if not reports:
        raise FileNotFoundError(f"no citizens.parquet or employers.parquet in {data_dir}")
    return reports

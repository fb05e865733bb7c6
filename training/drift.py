"""Drift of each scoring run: the new period against the previous one and the reference,
kept in the store (planners read it), logged to MLflow, and a flag on the model version
when it calls for retraining."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient

from models.registry import MODEL_NAMES, ensure_experiment
from segmentation.drift import band, drift_flags, input_psi, share_changes
from segmentation.features import NUMERIC_COLUMNS
from segmentation.store import Period, SegmentStore
from segmentation.taxonomy import CATEGORIES, Population

log = logging.getLogger(__name__)
SAMPLE_ROWS = 200_000
EXPERIMENT = "segmentation-drift"


def drift_report(
    store: SegmentStore, population: Population, latest: Period | None = None
) -> dict[str, Any] | None:
    """A period (the latest listed, without ``latest``) against the period before it (if
    any) and against the reference. ``latest`` may be a run's table still being indexed
    (``SegmentStore.written_period``): its rows are sampled by row id."""
    periods = store.periods(population, fresh=True)
    if latest is None:
        if not periods:
            return None
        latest = periods[0]
    previous = next((p for p in periods if p.period_end < latest.period_end), None)
    shares = store.category_shares(latest)
    reference = {c.name: c.share for c in CATEGORIES[population]}
    report: dict[str, Any] = {
        "population": population,
        "period_end": latest.period_end.isoformat(),
        "model_version": latest.model_version,
        "customers": latest.rows,
        "shares": shares,
        "share_vs_reference": share_changes(shares, reference),
        "previous_period_end": previous.period_end.isoformat() if previous else None,
        "share_vs_previous": None,
        "input_psi": {},
        "flags": [],
    }
    if previous is not None:
        before = store.category_shares(previous)
        changes = share_changes(shares, before)
        earlier, _ = store.period_sample(previous, SAMPLE_ROWS)
        later, _ = store.period_sample(latest, SAMPLE_ROWS)
        psis = input_psi(earlier, later, NUMERIC_COLUMNS[population])
        report["share_vs_previous"] = changes
        report["input_psi"] = {
            name: {"psi": round(value, 4), "band": band(value)} for name, value in psis.items()
        }
        report["flags"] = drift_flags(psis, changes)
    report["retrain"] = bool(report["flags"])
    return report


def record_drift(
    store: SegmentStore,
    population: Population,
    report: dict[str, Any] | None = None,
    *,
    artifact_root: Path,
) -> dict[str, Any] | None:
    """Keep a period's drift (``report``, or the latest period's, computed here) in the
    store, log it to MLflow and flag the model version for retraining when it drifted past
    the thresholds. The drift runs' artifacts go under ``artifact_root`` (``drift/``),
    beside the models'."""
    report = report or drift_report(store, population)
    if report is None:
        return None
    period = store.period(population, dt.date.fromisoformat(report["period_end"]))
    if period is None:
        return None
    store.save_drift(period, json.dumps(report))
    try:
        client = MlflowClient()
        experiment_id = ensure_experiment(EXPERIMENT, artifact_root / "drift")
        run_name = f"{population}-{report['period_end']}"
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name):
            mlflow.set_tags(
                {
                    "population": population,
                    "period_end": report["period_end"],
                    "model_version": report["model_version"],
                    "retrain": str(report["retrain"]).lower(),
                }
            )
            metrics = {f"share_{k}": v for k, v in report["shares"].items()}
            metrics.update({f"psi_{k}": v["psi"] for k, v in report["input_psi"].items()})
            mlflow.log_metrics(metrics)
            mlflow.log_dict(report, "drift.json")
        client.set_model_version_tag(
            MODEL_NAMES[population],
            report["model_version"],
            "drift",
            "; ".join(report["flags"]) if report["flags"] else "none",
        )
    except Exception as error:  # the period is scored; drift is reported, never a failure
        log.warning("%s: drift not logged to MLflow (%s)", population, type(error).__name__)
    return report

"""MLflow: the pyfunc wrapper, logging a bundle, the `champion` alias, loading by alias."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Container
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel
from mlflow.utils.logging_utils import disable_logging

from models.bundle import SegmentationBundle, load_bundle, save_bundle
from models.errors import RegistryError
from segmentation.features import NUMERIC_COLUMNS
from segmentation.locks import file_lock
from segmentation.store.schema import sqlite_file
from segmentation.taxonomy import Population

log = logging.getLogger(__name__)

CHAMPION = "champion"
MODEL_NAMES: dict[Population, str] = {
    "citizens": "citizen-segmentation",
    "employers": "employer-segmentation",
}
EXPERIMENT = "segmentation"
#: The metrics that measure whether customers are in the right category: the agreement
#: with case handlers' reviews (cross-validated) or, on synthetic data, with a truth file.
AGREEMENT_METRICS = ("review_macro_recall", "truth_macro_recall")


def agreement_unmeasured(population: Population, metrics: Container[str]) -> bool:
    """Whether a version's ``metrics`` (their names, or a mapping by name) leave unmeasured if
    its citizens are in the right category. Stability and a profile near the reference do
    not tell it: on ``life_stage``, a world written apart where ordinary lives look busy,
    the shares came out near the reference (76/14/10) while the macro recall was 0.69
    (README, "Model quality on unseen worlds"). Employers are defined by head count."""
    return population == "citizens" and not any(key in metrics for key in AGREEMENT_METRICS)


class SegmentationPyfunc(PythonModel):  # type: ignore[misc]
    """``mlflow.pyfunc.load_model(...).predict(rows)`` returns category names for contract rows."""

    def load_context(self, context: Any) -> None:
        self.bundle = load_bundle(Path(context.artifacts["bundle"]))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.Series:
        # ``pd.DataFrame`` exactly: MLflow builds no validation from it (the input example
        # gives the signature; the contract columns are checked here), and it ends the
        # warning MLflow gives on every import for a ``predict`` without hints.
        frame = pd.DataFrame(model_input)
        columns = list(NUMERIC_COLUMNS[self.bundle.population])
        missing = [name for name in columns if name not in frame.columns]
        if missing:
            raise MlflowException(f"missing contract column(s): {', '.join(missing)}")
        raw = frame[columns].astype(np.float64).to_numpy()
        if not np.isfinite(raw).all() or (raw < 0).any():
            raise MlflowException("contract columns must be finite and non-negative")
        names = np.asarray(self.bundle.categories)[self.bundle.predict_index(raw)]
        return pd.Series(names, name="category", index=frame.index)


#: The environment variables MLflow's URI setters write (``configure_mlflow``).
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def configure_mlflow(tracking_uri: str, artifact_root: Path) -> str:
    """Point MLflow's tracking and registry at ``tracking_uri``; return the experiment id.

    MLflow's setters also write ``MLFLOW_TRACKING_URI`` and ``MLFLOW_REGISTRY_URI`` into the
    environment, where the settings read an operator's override: a later ``Settings`` with
    another home (a second training in one process, every test after the first) then
    trained into the first home's registry and found its champion. The environment is put
    back as it was; MLflow keeps the URIs it was given."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if os.environ.get("MLFLOW_LOGGING_LEVEL", "").upper() in ("ERROR", "CRITICAL"):
        # Quiet (a command without -v): MLflow prints some events straight to its stream
        # whatever the level ("Successfully registered model ...", "Created version ...").
        disable_logging()
    before = {name: os.environ.get(name) for name in _URI_VARIABLES}
    try:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        with _first_use_lock(tracking_uri):
            experiment_id = ensure_experiment(EXPERIMENT, artifact_root)
    except MlflowException as error:
        raise RegistryError(f"the model registry could not be read: {error}") from error
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def _first_use_lock(tracking_uri: str) -> AbstractContextManager[None]:
    """For a registry in a SQLite file, this machine's processes one at a time through its
    first use: MLflow makes the tables and migrates them then, and the experiment is made.
    Two commands started together on a fresh home (two trainings, say) otherwise ran the
    migrations at once, and one died with a traceback (``CircularDependencyError``)."""
    database = sqlite_file(tracking_uri)
    if database is None:
        return nullcontext()
    return file_lock(database.with_name(f"{database.name}-first-use.lock"), wait=True)


def ensure_experiment(name: str, artifact_location: Path) -> str:
    """The id of the experiment ``name``, created with its artifacts under
    ``artifact_location`` where it does not exist yet (an existing one keeps its own place;
    MLflow's default would be ``./mlruns`` in whatever folder the command started in)."""
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    artifact_location.mkdir(parents=True, exist_ok=True)
    return str(mlflow.create_experiment(name, artifact_location=artifact_location.as_uri()))


def log_bundle(bundle: SegmentationBundle) -> str:
    """Log the bundle as a pyfunc model in the active run and register it; return the version."""
    name = MODEL_NAMES[bundle.population]
    example = _input_example(bundle.population)
    with tempfile.TemporaryDirectory() as tmp:
        path = save_bundle(bundle, Path(tmp))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=SegmentationPyfunc(),
            artifacts={"bundle": str(path)},
            registered_model_name=name,
            input_example=example,
            pip_requirements=[
                f"mlflow=={mlflow.__version__}",
                "scikit-learn",
                "pandas",
                "numpy",
                "joblib",
            ],
            code_paths=_code_paths(),
        )
    version = str(info.registered_model_version)
    log.info("registered %s version %s", name, version)
    return version


def _input_example(population: Population) -> pd.DataFrame:
    """One row of the contract's numeric columns with the contract's dtypes (the signature)."""
    columns: dict[str, object] = {}
    for name in NUMERIC_COLUMNS[population]:
        if name == "handling_minutes":
            columns[name] = pd.Series([0.0], dtype="float64")
        elif name == "payroll_integration":
            columns[name] = pd.Series([False], dtype="bool")
        else:
            columns[name] = pd.Series([0], dtype="int64")
    return pd.DataFrame(columns)


def _code_paths() -> list[str]:
    """The project packages a pyfunc needs to unpickle the bundle in a fresh environment."""
    root = Path(__file__).resolve().parent.parent
    return [str(root / package) for package in ("models", "segmentation", "data_contracts")]


@dataclass(frozen=True)
class ChampionInfo:
    name: str
    version: str
    run_id: str | None


def _no_such_alias(error: MlflowException) -> bool:
    """MLflow's answer when the model or its alias does not exist (checked with 3.17)."""
    if error.error_code == "RESOURCE_DOES_NOT_EXIST":
        return True
    return error.error_code == "INVALID_PARAMETER_VALUE" and "alias" in str(error).lower()


def champion(population: Population) -> ChampionInfo | None:
    """The registered version behind alias ``champion``, or ``None`` if there is none yet.
    Raises :class:`RegistryError` when the registry itself cannot be read."""
    name = MODEL_NAMES[population]
    try:
        version = MlflowClient().get_model_version_by_alias(name, CHAMPION)
    except MlflowException as error:
        if _no_such_alias(error):
            return None
        raise RegistryError(f"the model registry could not be read: {error}") from error
    return ChampionInfo(name=name, version=str(version.version), run_id=version.run_id)


def promote(population: Population, version: str) -> None:
    """Move alias ``champion`` to ``version``."""
    MlflowClient().set_registered_model_alias(MODEL_NAMES[population], CHAMPION, version)


def record_promotion(
    population: Population, version: str, *, reason: str, operator: str
) -> str | None:
    """An operator puts ``version`` into service, gate or not: the alias moves and the
    version's tags say who, when and why. Returns the previous champion's version."""
    client = MlflowClient()
    name = MODEL_NAMES[population]
    try:
        client.get_model_version(name, version)
    except MlflowException as error:
        raise LookupError(f"{name} has no version {version}") from error
    previous = champion(population)
    import datetime as dt

    tags = {
        "promoted_by": operator,
        "promotion_reason": reason,
        "promoted_at": dt.datetime.now(dt.UTC).isoformat(),
        "promoted_over": previous.version if previous else "",
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    promote(population, version)
    return previous.version if previous else None


def load_champion(population: Population) -> tuple[SegmentationBundle, str]:
    """The champion's bundle (read directly, not through pyfunc) and its version."""
    info = champion(population)
    if info is None:
        raise LookupError(f"no {CHAMPION} for {MODEL_NAMES[population]}; run `segmentation train`")
    return load_version(population, info.version), info.version


def load_version(population: Population, version: str) -> SegmentationBundle:
    """A registered version's bundle. Raises :class:`RegistryError` where the registry
    records the version but its files are not where it says (a home folder moved or
    restored in part): MLflow then downloads nothing, and says so only in a warning."""
    name = MODEL_NAMES[population]
    uri = f"models:/{name}/{version}"
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
        try:
            return load_bundle(Path(local))
        except FileNotFoundError as error:
            source = MlflowClient().get_model_version_download_uri(name, version)
            raise RegistryError(
                f"{population}: model version {version}'s files are missing from {source}, "
                "where the model registry says they are: restore them there, or put another "
                f"version into service (`segmentation promote --population {population} "
                "--version N --reason TEXT`)"
            ) from error

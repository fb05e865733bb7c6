import os

import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from models.registry import champion, configure_mlflow
from tests.conftest import make_settings
from tests.factories import citizen_row, employer_row, needs_support_row
from training.train import train


def test_plain_pyfunc_load_scores_contract_rows(trained_home) -> None:
    settings = make_settings(trained_home)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    model = mlflow.pyfunc.load_model("models:/citizen-segmentation@champion")
    rows = pd.DataFrame([citizen_row(), needs_support_row()])
    assert list(model.predict(rows)) == ["regular", "needs_support"]
    employers = mlflow.pyfunc.load_model("models:/employer-segmentation@champion")
    small = employer_row(employees=4)
    large = employer_row(employees=400, payroll_integration=True, applications_electronic=40)
    assert list(employers.predict(pd.DataFrame([small, large]))) == ["small", "medium_large"]


def test_training_logs_the_quality_and_the_data(trained_home) -> None:
    settings = make_settings(trained_home)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    info = champion("citizens")
    assert info is not None and info.run_id
    run = mlflow.get_run(info.run_id)
    for key in ("seed", "contract_version", "data_fingerprint", "model_n_clusters"):
        assert key in run.data.params
    for key in (
        "stability",
        "stability_ari",
        "silhouette_sample",
        "drift_share_regular",
        "truth_ari",
        "truth_macro_recall",
        "regular_share",
        "needs_support_contacts_per_year",
        "single_change_irregular_share",
        "benefit_support_share",
    ):
        assert key in run.data.metrics
    assert 0.0 < run.data.metrics["single_change_irregular_share"] < 1.0
    assert 0.0 < run.data.metrics["benefit_support_share"] < 1.0
    assert run.data.params["model_weigh_single_changes"] == "True"
    assert run.data.params["model_weigh_benefit_support"] == "True"
    assert run.data.metrics["truth_macro_recall"] >= 0.9
    assert run.data.tags["gate"] == "passed"


@pytest.mark.parametrize("population", ["citizens", "employers"])
def test_every_registered_version_has_a_fairness_report(trained_home, population) -> None:
    from mlflow import MlflowClient

    from models.registry import MODEL_NAMES

    settings = make_settings(trained_home)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    client = MlflowClient()
    # Every version `segmentation train` registered (tests also register bundles directly).
    versions = [
        v
        for v in client.search_model_versions(f"name='{MODEL_NAMES[population]}'")
        if "gate" in client.get_run(v.run_id).data.tags
    ]
    assert versions
    for version in versions:
        assert "fairness" in version.tags  # "none" or the flagged groups
        report = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/fairness.json")
        attributes = {"age_band", "legal_sex", "county"} if population == "citizens" else {"county"}
        assert set(report["by"]) == attributes
        for groups in report["by"].values():
            ratios = [g["ratio_to_most_favoured"] for g in groups.values()]
            assert max(ratios) == pytest.approx(1.0) and min(ratios) >= 0
            assert sum(g["customers"] for g in groups.values()) > 1_000


def _reviews(ids: pd.Series, categories: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "category": categories,
            "reviewer": "anna.svensson",
            "reviewed_at": pd.Timestamp("2026-11-01", tz="UTC"),
            "inclusion_probability": 0.01,
        }
    )


def test_failed_gate_keeps_the_old_champion(trained_home, population_dir, tmp_path) -> None:
    settings = make_settings(trained_home, train_sample_rows=20_000)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    before = champion("citizens")
    assert before is not None
    # Case handlers' reviews that no model can agree with (categories at random): the
    # cross-validated agreement is far below the gate's.
    citizens = pq.read_table(population_dir / "citizens.parquet").to_pandas().head(20_000)
    (tmp_path / "data").mkdir()
    citizens.to_parquet(tmp_path / "data" / "citizens.parquet", index=False)
    rng = np.random.default_rng(0)
    names = np.array(["regular", "irregular", "needs_support"])
    reviews = _reviews(citizens["customer_id"].head(300), names[rng.integers(0, 3, 300)])
    reviews.to_parquet(tmp_path / "reviews.parquet", index=False)

    reports = train(tmp_path / "data", settings, tmp_path / "reviews.parquet")

    assert [r.population for r in reports] == ["citizens"]
    report = reports[0]
    assert not report.promoted
    assert any("agreement with case handlers" in reason for reason in report.gate_reasons)
    assert report.metrics["review_macro_recall"] < 0.6
    after = champion("citizens")
    assert after is not None and after.version == before.version
    assert report.version != before.version  # registered, but not promoted


def test_a_population_unlike_the_reference_is_drift_not_a_refusal(population_dir, tmp_path) -> None:
    """Half the population needs support: the reference says 10 %. The model is promoted
    (a first deployment gets a champion) and the distance is reported as drift."""
    settings = make_settings(tmp_path / "home", train_sample_rows=20_000)
    citizens = pq.read_table(population_dir / "citizens.parquet").to_pandas()
    truth = pd.read_parquet(population_dir / "citizens_truth.parquet")["category"].to_numpy()
    keep = (truth == "needs_support") | (np.cumsum(truth != "needs_support") < 6_000)
    (tmp_path / "data").mkdir()
    citizens[keep].to_parquet(tmp_path / "data" / "citizens.parquet", index=False)

    (report,) = train(tmp_path / "data", settings)

    assert report.promoted, report.gate_reasons
    assert report.champion_version == report.version and report.next_step is None
    assert report.profiles.loc["needs_support", "share"] > 0.3
    assert any(flag.startswith("needs_support: share") for flag in report.drift)
    assert report.metrics["drift_share_needs_support"] > 0.2


def test_no_alias_is_none_and_a_broken_registry_is_an_error(tmp_path, monkeypatch) -> None:
    from models.registry import RegistryError

    try:
        mlflow.set_registry_uri(f"sqlite:///{tmp_path / 'empty.db'}")
        assert champion("citizens") is None  # no model registered: no champion
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
        mlflow.set_registry_uri("http://127.0.0.1:9")
        with pytest.raises(RegistryError, match="could not be read"):
            champion("citizens")
    finally:
        mlflow.set_registry_uri(None)


def test_a_version_whose_files_are_gone_is_an_error_that_says_where(
    champion_bundles, tmp_path, monkeypatch
) -> None:
    """A registry whose model files were moved away (a home folder restored in part): the
    version's load names where the files should be, and the way forward."""
    import shutil

    from models.registry import RegistryError, load_version, log_bundle

    # MLflow's setters export the URIs: the environment is put back (or the variables
    # removed) after the test, or a later test's settings would read the registry set back
    # below as an operator's override (and train against its champion).
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    try:
        configure_mlflow(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
        with mlflow.start_run():
            version = log_bundle(champion_bundles["citizens"][0])
        assert load_version("citizens", version).population == "citizens"
        shutil.rmtree(tmp_path / "artifacts")
        with pytest.raises(RegistryError, match=f"version {version}'s files are missing from"):
            load_version("citizens", version)
    finally:
        mlflow.set_tracking_uri(before[0])
        mlflow.set_registry_uri(before[1])


def _citizens_with_reviews(population_dir, out) -> tuple:
    """20,000 citizens in ``out / "data"`` and 300 truthful reviews of them."""
    citizens = pq.read_table(population_dir / "citizens.parquet").to_pandas().head(20_000)
    (out / "data").mkdir()
    citizens.to_parquet(out / "data" / "citizens.parquet", index=False)
    truth = pd.read_parquet(population_dir / "citizens_truth.parquet")
    reviewed = citizens["customer_id"].head(300)
    categories = truth.set_index("customer_id")["category"].reindex(reviewed).to_numpy()
    _reviews(reviewed, categories).to_parquet(out / "reviews.parquet", index=False)
    return out / "data", out / "reviews.parquet"


def test_every_k_means_of_a_training_runs_on_one_native_thread(
    population_dir, tmp_path, monkeypatch
) -> None:
    """Training with reviews fits three things side by side (the model, the refit that
    stability compares with, the cross-validation's folds); in threads (``fit_lanes``
    "threads"), a Python thread each. OpenMP's thread count belongs to the calling thread:
    every k-means, in whichever thread, must run on one, or two cores run twice their
    number of OpenMP threads. (The process lanes: tests/code/test_lanes.py.)"""
    import threading

    from sklearn.cluster import KMeans
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    seen: list[tuple[str, int]] = []
    fit = KMeans.fit

    def recorded(self, *args, **kwargs):
        seen.append((threading.current_thread().name, _openmp_effective_n_threads()))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(KMeans, "fit", recorded)
    settings = make_settings(tmp_path / "home", train_sample_rows=20_000, fit_lanes="threads")
    data, reviews = _citizens_with_reviews(population_dir, tmp_path)

    (report,) = train(data, settings, reviews)

    assert report.reviews_used == 300
    threads = {name for name, _ in seen}
    assert len(threads) >= 3, threads  # the fit, the refit's lane and the folds' threads
    assert {count for _, count in seen} == {1}, seen


def test_process_lanes_train_the_same_model_as_threads_and_leave_no_shared_memory(
    population_dir, tmp_path, monkeypatch
) -> None:
    """The refit and the cross-validation in worker processes (the default) give the model
    and every figure the threads give, to the bit; the shared-memory blocks they read
    are gone after training, as they are after a training that fails."""
    from multiprocessing import shared_memory

    from models.registry import load_champion
    from segmentation.features import numeric_matrix
    from training.lanes import SharedArrays

    data, reviews = _citizens_with_reviews(population_dir, tmp_path)
    made: list[str] = []
    empty = SharedArrays.empty

    def recorded(self, *args, **kwargs):
        array = empty(self, *args, **kwargs)
        made.append(self._shared[id(array)][1].name)
        return array

    monkeypatch.setattr(SharedArrays, "empty", recorded)
    reports, predicted = {}, {}
    rows = numeric_matrix(pd.read_parquet(data / "citizens.parquet"), "citizens")
    for lanes in ("threads", "processes"):
        settings = make_settings(
            tmp_path / lanes, train_sample_rows=20_000, fit_lanes=lanes, seed=3
        )
        (reports[lanes],) = train(data, settings, reviews)
        configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
        bundle, _ = load_champion("citizens")
        predicted[lanes] = bundle.predict_proba(rows)

    assert made  # the matrix and the reviews' arrays went through shared memory
    assert reports["processes"].metrics == reports["threads"].metrics
    # Both first deployments: the second home did not find the first's champion.
    assert all("changed_vs_champion" not in r.metrics for r in reports.values())
    assert "review_macro_recall" in reports["processes"].metrics
    np.testing.assert_array_equal(predicted["processes"], predicted["threads"])
    for name in made:
        with pytest.raises(FileNotFoundError):
            shared_memory.SharedMemory(name=name)

    made.clear()
    broken = make_settings(tmp_path / "broken", train_sample_rows=20_000, seed=3)

    def fails(*args, **kwargs):
        raise RuntimeError("the fit stopped halfway")

    monkeypatch.setattr("training.train._fit_and_evaluate", fails)
    with pytest.raises(RuntimeError, match="halfway"):
        train(data, broken, reviews)
    assert made
    for name in made:
        with pytest.raises(FileNotFoundError):
            shared_memory.SharedMemory(name=name)

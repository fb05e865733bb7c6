import mlflow
import pandas as pd
import pyarrow.parquet as pq

from models.registry import champion, configure_mlflow
from tests.conftest import make_settings
from tests.factories import citizen_row, needs_support_row
from training.train import train


def test_plain_pyfunc_load_scores_contract_rows(trained_home) -> None:
    settings = make_settings(trained_home)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    model = mlflow.pyfunc.load_model("models:/citizen-segmentation@champion")
    rows = pd.DataFrame([citizen_row(), needs_support_row()])
    assert list(model.predict(rows)) == ["regular", "needs_support"]
    employers = mlflow.pyfunc.load_model("models:/employer-segmentation@champion")
    assert employers.metadata is not None


def test_training_logs_the_quality_and_the_data(trained_home) -> None:
    settings = make_settings(trained_home)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    info = champion("citizens")
    assert info is not None and info.run_id
    run = mlflow.get_run(info.run_id)
    for key in ("seed", "contract_version", "data_fingerprint", "model_n_clusters"):
        assert key in run.data.params
    for key in (
        "stability_ari",
        "silhouette_sample",
        "truth_ari",
        "truth_macro_recall",
        "regular_share",
        "needs_support_contacts_per_year",
    ):
        assert key in run.data.metrics
    assert run.data.metrics["truth_macro_recall"] >= 0.9
    assert run.data.tags["gate"] == "passed"


def test_failed_gate_keeps_the_old_champion(trained_home, population_dir, tmp_path) -> None:
    settings = make_settings(trained_home, train_sample_rows=20_000)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    before = champion("citizens")
    assert before is not None
    # A population without anyone who needs support: no model can match the reference shares.
    citizens = pq.read_table(population_dir / "citizens.parquet").to_pandas()
    truth = pd.read_parquet(population_dir / "citizens_truth.parquet")
    regular_only = citizens[truth["category"].to_numpy() == "regular"]
    (tmp_path / "data").mkdir()
    regular_only.to_parquet(tmp_path / "data" / "citizens.parquet", index=False)

    reports = train(tmp_path / "data", settings)

    assert [r.population for r in reports] == ["citizens"]
    report = reports[0]
    assert not report.promoted
    assert report.gate_reasons
    after = champion("citizens")
    assert after is not None and after.version == before.version
    assert report.version != before.version  # registered, but not promoted

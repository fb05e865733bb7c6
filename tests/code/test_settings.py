"""Settings refuse a missing or placeholder signing secret outside development."""

import pytest
from pydantic import ValidationError

from segmentation.settings import Settings


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize("secret", [None, "", "changethis", "  Secret  "])
def test_outside_development_a_real_secret_is_required(
    environment: str, secret: str | None
) -> None:
    with pytest.raises(ValidationError, match="SEGMENTATION_JWT_SECRET"):
        Settings(environment=environment, jwt_secret=secret)  # type: ignore[arg-type]


def test_development_may_generate_its_own_and_others_accept_a_real_one() -> None:
    assert Settings(environment="development", jwt_secret=None).jwt_secret is None
    real = "k" * 48
    assert Settings(environment="production", jwt_secret=real).jwt_secret == real


def test_configuring_mlflow_leaves_the_next_settings_their_own_home(tmp_path, monkeypatch) -> None:
    """MLflow's URI setters export MLFLOW_TRACKING_URI, the variable through which an
    operator overrides the registry: a second home configured in the same process went to
    the first home's registry (and found its champion). The environment stays as it was,
    an operator's own value included."""
    import os

    import mlflow

    from models.registry import configure_mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    first = Settings(home=tmp_path / "first")
    configure_mlflow(first.resolved_tracking_uri, first.artifact_root)
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert mlflow.get_tracking_uri() == first.resolved_tracking_uri
    second = Settings(home=tmp_path / "second")
    assert second.resolved_tracking_uri.endswith("/second/mlflow.db")
    configure_mlflow(second.resolved_tracking_uri, second.artifact_root)
    assert mlflow.get_registry_uri() == second.resolved_tracking_uri

    operator = f"sqlite:///{tmp_path / 'operator.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", operator)
    configure_mlflow(Settings(home=tmp_path).resolved_tracking_uri, tmp_path / "artifacts")
    assert os.environ["MLFLOW_TRACKING_URI"] == operator
    assert "MLFLOW_REGISTRY_URI" not in os.environ

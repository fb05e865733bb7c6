"""Shared fixtures: a small synthetic population and a trained champion, once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

POSTGRES_URL = os.environ.get(
    "SEGMENTATION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def make_settings(home: Path, **overrides: object):
    from segmentation.settings import Settings

    return Settings(home=home, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def population_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.generate import write_population

    out = tmp_path_factory.mktemp("population")
    write_population(out, citizens=60_000, employers=8_000, seed=7)
    return out


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory, population_dir: Path) -> Path:
    """A SEGMENTATION_HOME with both models trained and promoted to champion."""
    from training.train import train

    home = tmp_path_factory.mktemp("home")
    settings = make_settings(home, train_sample_rows=40_000)
    reports = train(population_dir, settings)
    assert all(report.promoted for report in reports), [r.gate_reasons for r in reports]
    return home


@pytest.fixture(scope="session")
def champion_bundles(trained_home: Path):
    from models.registry import configure_mlflow, load_champion

    settings = make_settings(trained_home)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    return {p: load_champion(p) for p in ("citizens", "employers")}


@pytest.fixture()
def citizen_rows(population_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(population_dir / "citizens.parquet").head(200)


def reset_postgres(url: str) -> None:
    """An empty test database: the store's tables, its period tables (not in the metadata)
    and the audit log all go."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A clean PostgreSQL store (the real server on 127.0.0.1:5432)."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:  # pragma: no cover - depends on the machine
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    engine.dispose()
    reset_postgres(POSTGRES_URL)
    yield POSTGRES_URL
    reset_postgres(POSTGRES_URL)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers from what a test uses, so they cannot go stale: a test that needs trained
    models is ``slow``; one that talks to PostgreSQL (the ``postgres`` parameter of a store
    fixture, or ``postgres_url``) is ``integration``, so ``-m "not integration"`` runs
    without a server."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"trained_home", "champion_bundles", "api"}:
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and "postgres" in callspec.id.split("-")
        if on_postgres or "postgres_url" in fixtures:
            item.add_marker(pytest.mark.integration)

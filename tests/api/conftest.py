"""API fixtures: the app on a scored store, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.conftest import POSTGRES_URL, make_settings, reset_postgres


@dataclass
class Api:
    client: TestClient
    settings: object
    citizen_id: str
    employer_id: str
    unknown_citizen_id: str
    #: A stored citizen no other test writes about (a review sample's customer).
    sampled_citizen_id: str = ""

    def token(
        self, role: str, *, subject: str = "tester", minutes: int = 5, citizen: str | None = None
    ) -> str:
        """A token for ``role``; a portal token names the signed-in ``citizen`` (by default
        the stored ``citizen_id``)."""
        from segmentation.security import mint_token

        if role == "portal" and citizen is None:
            citizen = self.citizen_id
        return mint_token(
            secret=self.settings.resolved_jwt_secret(),  # type: ignore[attr-defined]
            algorithm="HS256",
            role=role,  # type: ignore[arg-type]
            subject=subject,
            minutes=minutes,
            citizen=citizen,
        )

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role)}", **extra}

    def expired_token(self, role: str) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "sub": "tester",
            "role": role,
            "iss": "segmentation",
            "iat": now - dt.timedelta(hours=2),
            "exp": now - dt.timedelta(hours=1),
        }
        return jwt.encode(claims, self.settings.resolved_jwt_secret(), algorithm="HS256")  # type: ignore[attr-defined]

    def forged_token(self, role: str) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "sub": "mallory",
            "role": role,
            "iss": "segmentation",
            "iat": now,
            "exp": now + dt.timedelta(minutes=5),
        }
        return jwt.encode(claims, "not-the-secret-" * 4, algorithm="HS256")


@pytest.fixture(scope="session")
def small_population(population_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("api-data")
    pq.write_table(
        pq.read_table(population_dir / "citizens.parquet").slice(0, 3_000), out / "citizens.parquet"
    )
    pq.write_table(
        pq.read_table(population_dir / "employers.parquet").slice(0, 1_000),
        out / "employers.parquet",
    )
    return out


def _scored_store(url: str, trained_home: Path, data: Path) -> None:
    from models.registry import configure_mlflow, load_champion
    from segmentation.store import SegmentStore
    from training.score import score_folder

    settings = make_settings(trained_home)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    champions = {p: load_champion(p) for p in ("citizens", "employers")}
    store = SegmentStore(url)
    score_folder(data, store, champions, chunk_rows=1_000)
    store.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def api(
    request: pytest.FixtureRequest,
    trained_home: Path,
    small_population: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    from api.app import create_app

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api-store') / 'segments.db'}"
    else:
        url = POSTGRES_URL
        reset_postgres(url)
    _scored_store(url, trained_home, small_population)
    settings = make_settings(trained_home, store_url=url, model_poll_seconds=0.2)
    citizens = pd.read_parquet(small_population / "citizens.parquet")
    employers = pd.read_parquet(small_population / "employers.parquet")
    app = create_app(settings)
    with TestClient(app) as client:
        yield Api(
            client=client,
            settings=settings,
            citizen_id=str(citizens["customer_id"].iloc[0]),
            employer_id=str(employers["org_number"].iloc[0]),
            unknown_citizen_id="198112189876",
            sampled_citizen_id=str(citizens["customer_id"].iloc[1]),
        )
    if request.param == "postgres":
        reset_postgres(url)

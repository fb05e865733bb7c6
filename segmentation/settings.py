"""The one settings object of the project (pydantic-settings, prefix ``SEGMENTATION_``).

Read it through :func:`get_settings`; nothing is read at import time.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "secret", "placeholder"})


class Settings(BaseSettings):
    """Settings from the environment with embedded defaults that need no server."""

    model_config = SettingsConfigDict(env_prefix="SEGMENTATION_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    home: Path = Path("./.segmentation")
    store_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the segment store; default a SQLite file under home",
    )
    audit_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the audit log; default: a SQLite file beside a SQLite store"
            " (segments-audit.db), the store's own database for a server"
        ),
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias="MLFLOW_TRACKING_URI",
        description="MLflow tracking/registry URI; default SQLite under home",
    )
    jwt_secret: str | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    token_minutes: int = Field(default=60, ge=1, le=24 * 60)

    seed: int = 20261121
    # 250,000 rows a chunk: a chunk's temporaries stay in memory the process reuses (a chunk
    # of 1 M rows maps fresh pages the kernel faults in one by one), and the writer starts
    # sooner and waits less at the end. 7.2 M rows into SQLite, interleaved runs on one VM
    # (2026-11-30): 64.9-69.2 s at 1 M, 53.5-56.6 s at 500 k, 48.4-52.5 s at 250 k, 51.1-52.0 s
    # at 125 k. (The id index is built once, when the period is complete.)
    chunk_rows: int = Field(default=250_000, ge=1)
    #: Where `segmentation score --engine spark` runs its tasks: ``local[N]`` on this machine
    #: (N cores), or a cluster's master URL (``spark://host:7077``, ``yarn``, ...).
    spark_master: str = Field(default="local[2]", min_length=1)
    # The world suite measured the method with clusters fitted on 100,000 rows; 150,000 keeps
    # a margin and halves the refits the quality measures make (7.2 M: bench/HISTORY.md).
    train_sample_rows: int = Field(default=150_000, ge=1_000)
    # Where training's refit and cross-validation run beside its fit: worker processes (the
    # default; both cores busy) or threads of the training process (where shared memory or
    # a forkserver is not available). The models are the same either way.
    fit_lanes: Literal["processes", "threads"] = "processes"
    model_poll_seconds: float = Field(default=5.0, gt=0)

    # Mina sidor routing: the channel for a citizen the store does not know (new, or not
    # scored yet), so an answer never tells whether someone is a customer; and how many
    # routing answers one signed-in citizen may ask for a minute.
    routing_default_channel: Literal[
        "digital_self_service", "guided_digital", "personal_handler"
    ] = "guided_digital"
    routing_per_citizen_per_minute: int = Field(default=30, ge=1)
    # Early warning (issue 9): the work list holds customers who do not yet need support,
    # at or above this risk, and at most this share of the period's customers.
    warning_min_risk: float = Field(default=0.3, ge=0.2, le=1)  # the index holds risk >= 0.2
    warning_list_share: float = Field(default=0.05, gt=0, le=1)
    # Web pages: the session ends after this long without a page; an account is locked for
    # web_lock_minutes after web_max_failures failed sign-ins in a row.
    web_idle_minutes: int = Field(default=15, ge=1, le=480)
    web_max_failures: int = Field(default=5, ge=1, le=100)
    web_lock_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # The agency's time zone: the pages show dates and times in it, and an override "valid
    # through" a day ends at that day's end there (Kela/FPA: Europe/Helsinki).
    timezone: str = "Europe/Stockholm"
    # Single sign-on (OpenID Connect, authorization code flow) beside local accounts: set the
    # issuer (its /.well-known/openid-configuration is read) and the client; the role is the
    # first of the claim's values that is a role of the pages (case_handler, planner,
    # operator), so the agency's identity provider decides who may do what.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_role_claim: str = "roles"
    # /metrics: open (the default, for a scraper inside the agency's network) or behind
    # a bearer token of the operator role.
    metrics_require_token: bool = False

    # Quality gate for moving the `champion` alias (see README, "Model lifecycle"): it
    # refuses what says a model is wrong, never a population that differs from the reference.
    gate_min_stability: float = Field(default=0.95, ge=0, le=1)
    gate_min_review_macro_recall: float = Field(default=0.85, ge=0, le=1)
    gate_min_reviews: int = Field(default=30, ge=1)
    gate_min_macro_recall: float = Field(default=0.85, ge=0, le=1)
    # Drift from the reference figures: reported and flagged, never a reason to refuse.
    drift_max_share_gap: float = Field(default=0.05, ge=0)
    drift_max_profile_rel_error: float = Field(default=0.35, ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{value!r} is not a time zone, e.g. Europe/Stockholm") from error
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        """Outside ``development`` the signing secret must be set and real (a generated
        file under ``home`` is a development convenience only)."""
        if self.environment == "development":
            return self
        if self.jwt_secret is None:
            raise ValueError("SEGMENTATION_JWT_SECRET must be set outside development")
        if self.jwt_secret.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("SEGMENTATION_JWT_SECRET is a placeholder; set a real secret")
        return self

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{(self.home / 'segments.db').resolve()}"

    @property
    def resolved_tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> Path:
        return (self.home / "mlartifacts").resolve()

    def resolved_jwt_secret(self) -> str:
        """The signing secret: configured, or generated once into ``home`` for development."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.home / "secrets" / "jwt_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            os.chmod(tmp, 0o600)
            tmp.replace(path)
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    return Settings()

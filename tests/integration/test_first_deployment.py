"""A first deployment the gate refuses still has a path forward, as a new user meets it: one
line per table without a champion (no traceback), then `promote` with a reason (MLflow tags
and audit log), then the review loop through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _fresh_env() -> dict[str, str]:
    """This process's environment without its MLflow location: mlflow.set_tracking_uri
    exports it, and a first deployment must start from its own empty registry."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    }


def _generated(tmp_path: Path, world: str, seed: int, employers: int, **env: str) -> dict[str, str]:
    """A fresh home under ``tmp_path`` with 20,000 citizens of ``world`` in ``tmp_path /
    "data"``: the environment that uses them (with ``env``)."""
    environment = _fresh_env()
    environment.update(
        SEGMENTATION_HOME=str(tmp_path / "home"), MLFLOW_DISABLE_TELEMETRY="true", **env
    )
    made = _cli(
        environment, "generate", "--out", str(tmp_path / "data"), "--citizens", "20000",
        "--employers", str(employers), "--world", world, "--seed", str(seed),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return environment


def test_refused_first_deployment_promote_and_review_loop(tmp_path: Path) -> None:
    env = _generated(
        tmp_path, "life_course", 5, 3_000, SEGMENTATION_TRAIN_SAMPLE_ROWS="20000", COLUMNS="200"
    )
    data = tmp_path / "data"
    # A truth-file gate no model reaches: the citizens' model is registered, not promoted.
    refused = _cli(
        {**env, "SEGMENTATION_GATE_MIN_MACRO_RECALL": "0.999"}, "train", "--data", str(data)
    )
    assert refused.returncode == 0, refused.stderr
    assert "gate failed" in refused.stdout and "segmentation promote" in refused.stdout
    # MLflow's INFO and WARNING lines, and the events it prints, only with -v.
    assert "mlflow" not in refused.stderr and "registered model" not in refused.stderr

    scored = _cli(env, "score", "--data", str(data))
    assert scored.returncode == 0, scored.stderr
    assert "Traceback" not in scored.stdout + scored.stderr
    assert "citizens: not scored: no champion" in scored.stdout
    assert "employers: period 2025-12-31: accepted 3,000" in " ".join(scored.stdout.split())
    assert "citizens: period" not in scored.stdout

    promoted = _cli(
        env, "promote", "--population", "citizens", "--version", "1",
        "--reason", "first deployment, reviewed by the unit", "--operator", "ops.anna",
    )  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    assert "champion none -> version 1" in promoted.stdout
    missing = _cli(env, "promote", "--population", "citizens", "--version", "9", "--reason", "x")
    assert missing.returncode == 2 and "no version 9" in missing.stdout

    audit = _cli(env, "audit", "--subject", "v1")
    records = [json.loads(line) for line in audit.stdout.splitlines()]
    assert records[-1]["actor"] == "ops.anna" and records[-1]["action"] == "promote_citizens_model"

    assert _cli(env, "score", "--data", str(data)).returncode == 0

    # The review loop: a sample, answered from the truth with the design columns dropped
    # (as a spreadsheet might), then training with the reviews.
    sample_path = tmp_path / "sample.parquet"
    sampled = _cli(
        env, "review", "sample", "--n", "200", "--out", str(sample_path), "--data", str(data)
    )
    assert sampled.returncode == 0, sampled.stderr
    sample = pd.read_parquet(sample_path)
    assert len(sample) == 200 and sample["category"].isna().all()
    # The same sample waits on the case handlers' review page, in the file's order.
    assert "queued for case handlers on the review page /granskning (200, sample" in " ".join(
        sampled.stdout.split()
    )
    # One sample of both parts is the short path: the command says how rounds would go.
    assert "teach more in rounds: `--n 80 --part spread` first" in " ".join(sampled.stdout.split())
    from segmentation.store import SegmentStore

    store = SegmentStore(f"sqlite:///{tmp_path / 'home' / 'segments.db'}")
    queue = store.review_queue("citizens", page_size=500)
    by_priority = sample.sort_values("priority")["customer_id"].tolist()
    assert [c["customer_id"] for c in queue["customers"]] == by_priority
    assert (queue["queued"], queue["open"]) == (200, 200)
    store.dispose()
    assert list(sample.columns[:5]) == [
        "customer_id",
        "category",
        "reviewer",
        "reviewed_at",
        "note",
    ]
    truth = pd.read_parquet(data / "citizens_truth.parquet").set_index("customer_id")["category"]
    sample["category"] = truth.reindex(sample["customer_id"]).to_numpy()
    sample["reviewer"] = "anna.svensson"
    sample["reviewed_at"] = pd.Timestamp("2026-11-20", tz="UTC")
    # A second case handler judged twenty of them, and differed on four: those are split
    # evenly and wait for a third; the other sixteen count once.
    second_opinions = sample.head(20).assign(reviewer="bo.berg")
    other = {"regular": "irregular", "irregular": "needs_support", "needs_support": "regular"}
    second_opinions.loc[second_opinions.index[:4], "category"] = (
        second_opinions["category"].head(4).map(other)
    )
    reviews = tmp_path / "reviews.parquet"
    pd.concat([sample, second_opinions])[
        ["customer_id", "category", "reviewer", "reviewed_at", "note"]
    ].to_parquet(reviews)
    # Second opinions in files: the spread customers anna judged otherwise than the champion
    # (its categories are in the store since `score`); the twenty borderline ones bo judged
    # too get none (they teach, they measure nothing).
    asked_path = tmp_path / "opinions.parquet"
    asked = _cli(
        env, "review", "opinions", "--reviews", str(reviews), "--out", str(asked_path),
        "--data", str(data),
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    opinions = pd.read_parquet(asked_path)
    store = SegmentStore(f"sqlite:///{tmp_path / 'home' / 'segments.db'}")
    spread = sample.loc[sample["part"] == "spread", "customer_id"]
    served = {c: (store.current("citizens", c) or {}).get("category") for c in spread}
    differing = {c for c in spread if truth[c] != served[c]}
    store.dispose()
    assert set(opinions["customer_id"]) == differing and len(differing) >= 3
    assert (opinions["judged_by"] == "anna.svensson").all() and opinions["category"].isna().all()
    assert (opinions["part"] == "spread").all()
    assert f"{len(differing)} citizens for another case handler" in asked.stdout
    # Answered in the file, the first round leaves the review page now: no case handler
    # judges them there while their second opinions are asked in a file.
    assert "review page: 200 customers answered in the files taken off it" in " ".join(
        asked.stdout.split()
    )
    store = SegmentStore(f"sqlite:///{tmp_path / 'home' / 'segments.db'}")
    assert store.review_queue("citizens")["open"] == 0
    store.dispose()
    # cia answers them, and differs from anna on two: those wait for a third judgement.
    opinions["category"] = truth.reindex(opinions["customer_id"]).to_numpy()
    opinions.loc[opinions.index[:2], "category"] = opinions["category"].head(2).map(other)
    opinions["reviewer"] = "cia.carlsson"
    opinions["reviewed_at"] = pd.Timestamp("2026-11-21", tz="UTC")
    given_again = tmp_path / "opinions-answered.parquet"
    opinions.to_parquet(given_again)
    third_path = tmp_path / "third.parquet"
    third = _cli(
        env, "review", "opinions", "--reviews", str(reviews), "--reviews", str(given_again),
        "--out", str(third_path), "--data", str(data),
    )  # fmt: skip
    assert third.returncode == 0, third.stderr
    thirds = pd.read_parquet(third_path)
    assert set(thirds["customer_id"]) == set(opinions["customer_id"].head(2))
    assert (thirds["judged_by"] == "anna.svensson, cia.carlsson").all()
    assert "0 judged once otherwise than the champion, 2 split" in " ".join(third.stdout.split())
    nobody = _cli(
        env, "review", "opinions", "--reviews", str(reviews), "--out", str(third_path),
        "--data", str(data), "--population", "employers",
    )  # fmt: skip
    assert nobody.returncode == 0, nobody.stderr
    assert "no employers need another case handler (from 0 reviews" in " ".join(
        nobody.stdout.split()
    )
    assert pd.read_parquet(third_path).empty
    trained = _cli(
        env, "train", "--data", str(data), "--reviews", str(reviews), "--reviews", str(given_again)
    )
    assert trained.returncode == 0, trained.stderr
    assert "reviews used 194" in trained.stdout
    assert "agreement with reviews (cross-validated, 95 %)" in trained.stdout
    several = 20 + len(differing)
    assert (
        f"second opinions: {several} customers judged by several case handlers; "
        f"{(several - 6) / several:.0%} of their pairs of judgements agree"
    ) in " ".join(trained.stdout.split())
    assert "6 split evenly, left out until another judges them" in " ".join(trained.stdout.split())
    # Taken off the page by `review opinions` already.
    assert "review page: no customer answered in the files was waiting on it" in " ".join(
        trained.stdout.split()
    )
    store = SegmentStore(f"sqlite:///{tmp_path / 'home' / 'segments.db'}")
    assert store.review_queue("citizens")["open"] == 0
    assert [(x["queued"], x["open"]) for x in store.review_samples()] == [(200, 0)]
    store.dispose()

    # A second round: never a customer reviewed already, all borderline, drawn by two models
    # each taught by half of the first round's spread reviews; then training with both.
    second_path = tmp_path / "second.parquet"
    second_round = _cli(
        env, "review", "sample", "--n", "150", "--out", str(second_path), "--data", str(data),
        "--reviews", str(reviews),
    )  # fmt: skip
    assert second_round.returncode == 0, second_round.stderr
    assert "two models, each taught by half of 100 spread reviews" in " ".join(
        second_round.stdout.split()
    )
    assert "teach more in rounds" not in " ".join(second_round.stdout.split())
    second = pd.read_parquet(second_path)
    assert len(second) == 150 and set(second["part"]) == {"borderline"}
    assert not set(second["customer_id"]) & set(sample["customer_id"])
    designs = sorted((tmp_path / "home" / "reviews").glob("design-citizens-*.parquet"))
    design = pd.read_parquet(designs[-1])
    drawn = design[design["part"] == "borderline"]
    assert sorted(drawn["half"].value_counts().tolist()) == [75, 75]
    steered = design[design["part"] == "steered"]
    spread_ids = set(sample.loc[sample["part"] == "spread", "customer_id"])
    assert set(steered["id"]) == spread_ids and set(steered["half"]) == {0, 1}
    # The second round answered on the review page (the store, as the page writes it), then
    # exported: the design kept by `review sample` still weighs them.
    store = SegmentStore(f"sqlite:///{tmp_path / 'home' / 'segments.db'}")
    for customer in second["customer_id"]:
        store.add_review(
            "citizens", customer, category=truth[customer], reviewer="bo.berg", note=None
        )
    # Both rounds answered: nothing waits on the page.
    assert store.review_queue("citizens")["open"] == 0
    store.dispose()
    answered = tmp_path / "reviews-2.parquet"
    exported = _cli(env, "review", "export", "--out", str(answered))
    assert exported.returncode == 0, exported.stderr
    assert len(pd.read_parquet(answered)) == 150
    # The operator's view of the queue: both rounds, drawn and answered (the first in its
    # file, the second on the page); then the second withdrawn.
    listed = _cli(env, "review", "queue")
    assert listed.returncode == 0, listed.stderr
    first_row, row = [line for line in listed.stdout.splitlines() if "citizens" in line]
    assert [first_row.split("│")[i].strip() for i in (4, 5)] == ["200", "0"]
    stamp = row.split("│")[2].strip()
    assert [row.split("│")[i].strip() for i in (4, 5)] == ["150", "0"]
    no_reason = _cli(env, "review", "queue", "--withdraw", stamp)
    assert no_reason.returncode == 2 and "a reason is required" in no_reason.stderr
    withdrawn = _cli(
        env, "review", "queue", "--withdraw", stamp, "--reason", "drawn twice", "--operator", "ops"
    )
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert f"sample {stamp} withdrawn: it held 150 customers, 0 of them still" in (
        " ".join(withdrawn.stdout.split())
    )
    left = [line for line in _cli(env, "review", "queue").stdout.splitlines() if "citizens" in line]
    assert left == [first_row]
    audit = _cli(env, "audit", "--subject", stamp)
    (record,) = [json.loads(line) for line in audit.stdout.splitlines()]
    assert (record["action"], record["actor"], record["purpose"]) == (
        "review_sample_withdrawn",
        "ops",
        "drawn twice",
    )
    both = _cli(
        env, "train", "--data", str(data), "--reviews", str(reviews), "--reviews", str(answered)
    )
    assert both.returncode == 0, both.stderr
    assert "reviews used 346" in both.stdout
    assert "agreement with reviews (cross-validated, 95 %)" in both.stdout


def test_second_opinions_before_any_champion_ask_against_the_fit_that_drew_the_sample(
    tmp_path: Path,
) -> None:
    """A first round reviewed in files before anything was trained: `review opinions` fits
    again the model that drew the sample (the same seed, the same table) and asks another
    case handler where a spread judgement differs from it."""
    import numpy as np
    import pyarrow.parquet as pq

    from data_contracts.validation import validate
    from models.segmenter import ClusterSegmenter
    from segmentation.features import numeric_matrix
    from segmentation.settings import Settings

    env = _generated(tmp_path, "life_course", 6, 300, SEGMENTATION_TRAIN_SAMPLE_ROWS="20000")
    data = tmp_path / "data"
    sample_path = tmp_path / "sample.parquet"
    sampled = _cli(
        env, "review", "sample", "--n", "120", "--part", "spread", "--out", str(sample_path),
        "--data", str(data), "--no-queue",
    )  # fmt: skip
    assert sampled.returncode == 0, sampled.stderr
    sample = pd.read_parquet(sample_path)
    truth = pd.read_parquet(data / "citizens_truth.parquet").set_index("customer_id")["category"]
    sample["category"] = truth.reindex(sample["customer_id"]).to_numpy()
    sample["reviewer"] = "anna.svensson"
    sample["reviewed_at"] = pd.Timestamp("2026-11-20", tz="UTC")
    reviews = tmp_path / "reviews.parquet"
    sample.to_parquet(reviews)
    asked = _cli(
        env, "review", "opinions", "--reviews", str(reviews), "--out", str(tmp_path / "o.parquet"),
        "--data", str(data),
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    assert "the fit that drew the sample (no champion yet)" in " ".join(asked.stdout.split())
    table = validate(pq.read_table(data / "citizens.parquet").to_pandas(), "citizens").accepted
    drew = ClusterSegmenter("citizens", max_fit_rows=20_000, random_state=Settings().seed)
    drew.fit(numeric_matrix(table, "citizens"))
    model = pd.Series(drew.predict(numeric_matrix(table, "citizens")), index=table["customer_id"])
    differing = sample.loc[
        sample["category"].to_numpy() != model.reindex(sample["customer_id"]).to_numpy(),
        "customer_id",
    ]
    assert 0 < len(differing) < len(sample)
    asked_for = pd.read_parquet(tmp_path / "o.parquet")["customer_id"]
    np.testing.assert_array_equal(np.sort(asked_for), np.sort(differing))


def test_an_unreadable_registry_is_reported_as_such(tmp_path: Path) -> None:
    env = _fresh_env()
    env.update(
        SEGMENTATION_HOME=str(tmp_path / "home"),
        MLFLOW_TRACKING_URI="http://127.0.0.1:9",  # nothing listens on the discard port
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="2",
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "citizens.parquet").write_bytes(b"")
    result = _cli(env, "score", "--data", str(tmp_path / "data"))
    assert result.returncode == 3
    assert "the model registry could not be read" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "segmentation train" not in result.stdout


def test_a_first_deployment_without_reviews_is_told_its_categories_are_unmeasured(
    tmp_path: Path,
) -> None:
    """Real data has no truth file: a gate that passes without reviews has not measured
    whether customers are in the right category, and `train` says so with the command that
    starts a review (on `life_stage` the shares come out near the reference while most
    errors go unseen: README, "First deployment")."""
    env = _generated(tmp_path, "life_stage", 2, 1_000, COLUMNS="400")
    data = tmp_path / "data"
    for truth in data.glob("*_truth.parquet"):
        truth.unlink()
    trained = _cli(env, "train", "--data", str(data))
    assert trained.returncode == 0, trained.stderr
    out = " ".join(trained.stdout.split())
    assert "citizens: agreement with case handlers not measured (no reviews)" in out
    assert f"segmentation review sample --n 400 --part spread --data {data}" in out
    assert "employers: agreement" not in out  # head count defines them
    assert out.count("gate passed") == 2


def test_a_column_the_extract_left_empty_is_named(tmp_path: Path) -> None:
    """An agency's extract without life events (a register that does not link them) is
    within the contract, and the model learns nothing from the column: `train` names it,
    and the run carries it as a tag. Columns that were recorded are not named."""
    env = _generated(tmp_path, "life_course", 3, 1_000)
    data = tmp_path / "data"
    citizens = pd.read_parquet(data / "citizens.parquet")
    citizens.assign(life_events=0).to_parquet(data / "citizens.parquet", index=False)
    trained = _cli({**env, "COLUMNS": "400"}, "train", "--data", str(data))
    assert trained.returncode == 0, trained.stderr
    out = " ".join(trained.stdout.split())
    assert "citizens: 0 for every customer, not recorded by the extract? life_events " in out
    assert "employers: 0 for every customer" not in out
    from mlflow import MlflowClient

    from segmentation.settings import Settings

    client = MlflowClient(Settings(home=tmp_path / "home").resolved_tracking_uri)
    experiment = client.get_experiment_by_name("segmentation")
    assert experiment is not None
    tags = {
        run.data.params["population"]: run.data.tags["unrecorded"]
        for run in client.search_runs([experiment.experiment_id])
    }
    assert tags == {"citizens": "life_events", "employers": "none"}

"""API load benchmark: requests/s and p50/p99 for lookup and scoring, at 1 and 16 clients,
with auth and audit on, beside `mlflow models serve` of the same champion (same run).

The server runs in its own process on 127.0.0.1; the load comes from wrk (a second process,
bounded by --duration). Runs are interleaved and repeated; the table shows medians.

    .venv/bin/python bench/bench_api.py --home /tmp/bench72/home --duration 10 --repeat 3

The home must hold trained champions and a scored store (run bench_pipeline.py first).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.factories import needs_support_row  # noqa: E402

#: GET one path per id in turn, with one header (a bearer token or a session cookie).
LUA_GET = """
wrk.headers["%(header)s"] = "%(value)s"
ids = {%(ids)s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "%(prefix)s" .. ids[(counter %% #ids) + 1])
end
"""
LUA_POST = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(auth)s
wrk.body = '%(body)s'
"""


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"{url} not ready")


def parse_latency(text: str, label: str) -> float:
    match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", text, re.MULTILINE)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(url: str, script: Path, clients: int, duration: int) -> dict[str, float]:
    result = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    )
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": parse_latency(out, "50"),
        "p99_ms": parse_latency(out, "99"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", default="1,16")
    parser.add_argument(
        "--store", type=Path, default=None, help="the SQLite store (default: HOME/segments.db)"
    )
    parser.add_argument(
        "--audit-load",
        type=int,
        default=60,
        help="seconds of lookups at 16 clients while the audit log's files are measured (0: skip)",
    )
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    store = args.store or args.home / "segments.db"
    args.audit_file = store.with_name(f"{store.stem}-audit{store.suffix}")
    env = dict(
        os.environ,
        SEGMENTATION_HOME=str(args.home),
        SEGMENTATION_STORE_URL=f"sqlite:///{store.resolve()}",
        MLFLOW_DISABLE_TELEMETRY="true",
        MLFLOW_TRACKING_URI=f"sqlite:///{(args.home / 'mlflow.db').resolve()}",
        # `mlflow models serve` starts `uvicorn` by name: the venv's bin must be on PATH.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    work = Path(tempfile.mkdtemp(prefix="segapi-"))
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "training.cli",
            "token",
            "--role",
            "case_handler",
            "--subject",
            "bench",
            "--minutes",
            "600",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    with sqlite3.connect(store) as connection:
        table = connection.execute(  # the latest citizens' period
            "SELECT table_name FROM segment_periods WHERE population = 'citizens'"
            " AND state = 'current' ORDER BY period_end DESC"
        ).fetchone()[0]
        stored = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        ids = [
            str(r[0]).zfill(12)
            for r in connection.execute(
                f"SELECT subject_id FROM {table} ORDER BY random() LIMIT 20000"
            )
        ]
    body = needs_support_row()
    body.pop("customer_id")
    mlflow_body = {"dataframe_records": [body]}
    (work / "lookup.lua").write_text(
        LUA_GET
        % {
            "header": "Authorization",
            "value": f"Bearer {token}",
            "ids": ",".join(f'"{i}"' for i in ids),
            "prefix": "/v1/citizens/",
        }
    )
    (work / "score.lua").write_text(
        LUA_POST
        % {"auth": f'wrk.headers["Authorization"] = "Bearer {token}"', "body": json.dumps(body)}
    )
    (work / "mlflow.lua").write_text(LUA_POST % {"auth": "", "body": json.dumps(mlflow_body)})

    servers = {
        "segmentation": (
            [sys.executable, "-m", "training.cli", "serve", "--port", "8765"],
            "http://127.0.0.1:8765/ready",
        ),
        "mlflow": (
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                "models:/citizen-segmentation@champion",
                "--env-manager",
                "local",
                "-p",
                "8766",
                "-w",
                "1",
            ],
            "http://127.0.0.1:8766/ping",
        ),
    }
    targets = {
        "lookup": ("segmentation", "http://127.0.0.1:8765/v1/citizens/x", "lookup.lua"),
        "score": ("segmentation", "http://127.0.0.1:8765/v1/citizens/score", "score.lua"),
        "mlflow_serve_score": ("mlflow", "http://127.0.0.1:8766/invocations", "mlflow.lua"),
    }
    processes = {}
    try:
        for name, (command, ready) in servers.items():
            log_file = (work / f"{name}.log").open("w")
            processes[name] = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                wait_ready(ready)
            except RuntimeError:
                print((work / f"{name}.log").read_text()[-3000:])
                raise
        results: dict[tuple[str, int], list[dict[str, float]]] = {}
        for _ in range(args.repeat):
            for target, (_, url, script) in targets.items():
                for count in clients:
                    measured = run_wrk(url, work / script, count, args.duration)
                    results.setdefault((target, count), []).append(measured)
                    print(target, count, measured, flush=True)
        audit = measure_audit_files(args, targets["lookup"][1], work / "lookup.lua")
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    summary = []
    for (target, count), runs in results.items():
        summary.append(
            {
                "target": target,
                "clients": count,
                "runs": len(runs),
                "rps": statistics.median(r["rps"] for r in runs),
                "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                "non_2xx": sum(r["non_2xx"] for r in runs),
            }
        )
    mlflow_rps = {
        row["clients"]: row["rps"] for row in summary if row["target"] == "mlflow_serve_score"
    }
    print(
        f"\nstore: {stored:,} citizens; medians of {args.repeat} interleaved runs of "
        f"{args.duration} s\n"
    )
    print("| target | clients | req/s | p50 ms | p99 ms | non-2xx | vs mlflow serve |")
    print("|---|---|---|---|---|---|---|")
    for row in summary:
        ratio = row["rps"] / mlflow_rps[row["clients"]] if row["clients"] in mlflow_rps else 0
        print(
            f"| {row['target']} | {row['clients']} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row['non_2xx']:.0f} | {ratio:.1f}x |"
        )
    if audit:
        print(
            f"\naudit log under {args.audit_load} s of lookups at 16 clients "
            f"({audit['rps']:,.0f} req/s, p99 {audit['p99_ms']:.2f} ms): write-ahead file at most "
            f"{audit['max_wal_mb']:.1f} MB (median {audit['median_wal_mb']:.1f} MB); the audit "
            f"database grew {audit['db_growth_mb']:.1f} MB for {audit['records']:,} records"
        )
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / "api.json").write_text(json.dumps({"runs": summary, "audit": audit}, indent=2))


def measure_audit_files(args: argparse.Namespace, url: str, script: Path) -> dict[str, float]:
    """A long lookup load at 16 clients, sampling the audit log's files every 0.25 s."""
    if args.audit_load <= 0:
        return {}
    database = args.audit_file
    wal = database.with_name(database.name + "-wal")

    def records() -> int:
        with sqlite3.connect(database) as connection:
            return int(connection.execute("SELECT count(*) FROM audit_log").fetchone()[0])

    before_db, before_records = database.stat().st_size, records()
    sizes: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            sizes.append(wal.stat().st_size if wal.exists() else 0)
            done.wait(0.25)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        measured = run_wrk(url, script, 16, args.audit_load)
    finally:
        done.set()
        sampler.join()
    return {
        **measured,
        "seconds": args.audit_load,
        "max_wal_mb": max(sizes) / 1e6,
        "median_wal_mb": statistics.median(sizes) / 1e6,
        "db_growth_mb": (database.stat().st_size - before_db) / 1e6,
        "records": records() - before_records,
    }


if __name__ == "__main__":
    main()

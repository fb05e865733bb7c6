"""The customer card page (issue 10): requests/s, p50 and p99 of a signed-in case handler
opening random customers' cards on the full store, at 1 and 16 clients, beside the API's
lookup of the same customers in the same run (the page does the lookup, audits it, and
renders the card in Swedish).

    .venv/bin/python bench/bench_web.py --home /tmp/bench72/home --store /tmp/bench72/p.db

The home must hold trained champions; the store a scored period (bench_pipeline.py, then
`segmentation score` into --store).
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
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_api import LUA_GET as LUA  # noqa: E402
from bench.bench_api import run_wrk, wait_ready  # noqa: E402

PASSWORD = "bench-lösenord-2026"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = dict(
        os.environ,
        SEGMENTATION_HOME=str(args.home),
        SEGMENTATION_STORE_URL=f"sqlite:///{args.store.resolve()}",
        MLFLOW_DISABLE_TELEMETRY="true",
        MLFLOW_TRACKING_URI=f"sqlite:///{(args.home / 'mlflow.db').resolve()}",
    )
    cli = [sys.executable, "-m", "training.cli"]
    subprocess.run(
        [*cli, "user", "add", "bench.handler", "--role", "case_handler", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    token = subprocess.run(
        [*cli, "token", "--role", "case_handler", "--subject", "bench", "--minutes", "600"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with sqlite3.connect(args.store) as connection:
        table = connection.execute(
            "SELECT table_name FROM segment_periods WHERE population='citizens'"
            " AND state='current' ORDER BY period_end DESC"
        ).fetchone()[0]
        ids = [
            str(row[0]).zfill(12)
            for row in connection.execute(
                f"SELECT subject_id FROM {table} ORDER BY random() LIMIT 20000"
            )
        ]
    server = subprocess.Popen(
        [*cli, "serve", "--port", "8767"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    work = Path(tempfile.mkdtemp(prefix="segweb-"))
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    try:
        wait_ready("http://127.0.0.1:8767/ready")
        cookie = _sign_in("http://127.0.0.1:8767")
        quoted = ",".join(f'"{i}"' for i in ids)
        (work / "page.lua").write_text(
            LUA % {"header": "Cookie", "value": cookie, "ids": quoted, "prefix": "/kund/"}
        )
        (work / "api.lua").write_text(
            LUA
            % {
                "header": "Authorization",
                "value": f"Bearer {token}",
                "ids": quoted,
                "prefix": "/v1/citizens/",
            }
        )
        for _ in range(args.repeat):
            for name, script in (("card page", "page.lua"), ("API lookup", "api.lua")):
                for clients in (1, 16):
                    measured = run_wrk(
                        "http://127.0.0.1:8767/", work / script, clients, args.duration
                    )
                    results.setdefault((name, clients), []).append(measured)
                    print(name, clients, measured, flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(f"\nstore {args.store}: medians of {args.repeat} interleaved runs of {args.duration} s\n")
    print("| target | clients | req/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|---|")
    summary = []
    for (name, clients), runs in results.items():
        row = {
            "target": name,
            "clients": clients,
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "non_2xx": sum(r["non_2xx"] for r in runs),
        }
        summary.append(row)
        print(
            f"| {name} | {clients} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row['non_2xx']:.0f} |"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "web.json").write_text(json.dumps(summary, indent=2))


def _sign_in(url: str) -> str:
    """A signed-in case handler's session cookie, with a purpose given."""
    with httpx.Client(base_url=url, follow_redirects=False) as client:
        page = client.get("/logga-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        signed = client.post(
            "/logga-in",
            data={"anvandare": "bench.handler", "losenord": PASSWORD, "csrf": csrf, "nasta": ""},
        )
        assert signed.status_code == 303, signed.text
        form = client.get("/syfte")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        given = client.post("/syfte", data={"syfte": "benchmark", "csrf": csrf, "nasta": "/kund"})
        assert given.status_code == 303, given.text
        value = client.cookies.get("segmentering_session")
        assert value
        time.sleep(0.1)
        return f"segmentering_session={value}"


if __name__ == "__main__":
    main()

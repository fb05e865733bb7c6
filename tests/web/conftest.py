"""The web pages in a real browser: the app served by uvicorn in a thread on a free port,
on a scored SQLite store, driven by Playwright through Debian's Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.api.conftest import small_population as small_population  # the same small store
from tests.conftest import make_settings

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "rätt-lösenord-2026"
USERS = {"anna": "case_handler", "per": "planner", "olle": "operator"}


@dataclass
class Site:
    url: str
    app: Any
    store: Any
    citizen_id: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port: its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the app did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def add_users(store: Any) -> None:
    from segmentation.security import hash_password

    hashed = hash_password(PASSWORD)
    for name, role in USERS.items():
        store.add_user(name, role, hashed)
    store.add_user("mina-sidor", "portal", hashed)  # a system role: no account may sign in


@pytest.fixture(scope="session")
def site(
    trained_home: Path, small_population: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    from api.app import create_app
    from segmentation.store import SegmentStore
    from tests.api.conftest import _scored_store

    url = f"sqlite:///{tmp_path_factory.mktemp('web-store') / 'segments.db'}"
    _scored_store(url, trained_home, small_population)
    store = SegmentStore(url)
    store.create()
    add_users(store)
    settings = make_settings(trained_home, store_url=url, model_poll_seconds=0.5)
    app = create_app(settings)
    citizens = pd.read_parquet(small_population / "citizens.parquet")
    try:
        with serve(app) as base:
            yield Site(base, app, store, str(citizens["customer_id"].iloc[0]))
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (the README's set-up)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Any, site: Site, user: str, password: str = PASSWORD) -> None:
    page.goto(f"{site.url}/logga-in")
    page.get_by_label("Användarnamn").fill(user)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()

"""A planner reads on Förändringar that the population drifted, in Swedish, in Chromium
(issue 9: drift shown to planners), on a store of two periods where the second was built
to drift: the phone habits changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import make_settings
from tests.web.conftest import Site, add_users, serve, sign_in
from tests.web.test_pages import SHOTS, _serious

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def drifted_site(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from api.app import create_app
    from models.registry import configure_mlflow, load_champion
    from segmentation.store import SegmentStore
    from training.drift import record_drift
    from training.periods import consecutive_periods
    from training.score import score_folder

    folder = tmp_path_factory.mktemp("drifted")
    url = f"sqlite:///{folder / 'segments.db'}"
    settings = make_settings(trained_home, store_url=url, model_poll_seconds=0.5)
    configure_mlflow(settings.resolved_tracking_uri, settings.artifact_root)
    champions = {"citizens": load_champion("citizens")}
    store = SegmentStore(url)
    first, second = consecutive_periods(5_000, seed=11, periods=2)
    drifted = second.citizens.copy()
    drifted["contacts_phone"] = drifted["contacts_phone"] * 3 + 2  # a new phone habit
    for period, frame in ((first.period_end, first.citizens), (second.period_end, drifted)):
        (folder / period.isoformat()).mkdir()
        frame.to_parquet(folder / period.isoformat() / "citizens.parquet", index=False)
        score_folder(folder / period.isoformat(), store, champions, chunk_rows=5_000)
        record_drift(store, "citizens", artifact_root=settings.artifact_root)
    add_users(store)
    try:
        with serve(create_app(settings)) as base:
            yield Site(base, None, store, str(first.citizens["customer_id"].iloc[0]))
    finally:
        store.dispose()


def test_a_planner_reads_the_drift_in_swedish(page: Any, drifted_site: Site) -> None:
    sign_in(page, drifted_site, "per")
    page.goto(f"{drifted_site.url}/forandringar")
    heading = page.get_by_role("heading", name="omträning rekommenderas")
    expect(heading).to_be_visible()
    reasons = page.locator("h3:has-text('omträning rekommenderas') + p")
    expect(reasons).to_contain_text("kontakter per telefon: PSI")
    expect(reasons).to_contain_text("(stor förändring)")
    table = page.get_by_role("table").filter(has_text="Populationsstabilitetsindex")
    row = table.get_by_role("row").filter(has_text="kontakter per telefon")
    expect(row).to_contain_text("stor")
    assert "benefit_months_" not in page.content() and "contacts_phone" not in page.content()
    assert _serious(page) == []
    page.evaluate("document.querySelector('h3 strong').scrollIntoView()")
    page.screenshot(path=str(SHOTS / "forandringar.png"), full_page=False)

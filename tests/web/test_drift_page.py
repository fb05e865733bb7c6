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


def test_a_planner_chooses_the_periods_and_downloads_the_movement(
    page: Any, drifted_site: Site, tmp_path: Path
) -> None:
    import io

    import openpyxl

    sign_in(page, drifted_site, "per")
    page.goto(f"{drifted_site.url}/forandringar")
    earlier = page.get_by_label("Från perioden till och med")
    later = page.get_by_label("Till perioden till och med")
    first, second = sorted(earlier.locator("option").all_inner_texts())
    expect(earlier).to_have_value(first)  # the latest two periods by default
    expect(later).to_have_value(second)
    # The wrong way round: said beside the form, the choice kept.
    earlier.select_option(second)
    later.select_option(first)
    page.get_by_role("button", name="Visa").click()
    expect(page.get_by_role("alert")).to_contain_text("före till-perioden")
    expect(earlier).to_have_value(second)
    assert _serious(page) == []
    page.screenshot(path=str(tmp_path / "forandringar-fel.png"), full_page=False)
    earlier.select_option(first)
    later.select_option(second)
    page.get_by_role("button", name="Visa").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(
        page.get_by_text(f"till och med {first} till perioden till och med {second}")
    ).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner Excel").click()
    assert download.value.suggested_filename == f"forandringar-{first}-{second}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert book.sheetnames == ["Matris", "Bevakat flöde", "Per län"]
    assert book["Matris"]["A1"].value == f"Medborgare: från {first} till {second}"
    page.screenshot(path=str(tmp_path / "forandringar-val.png"), full_page=False)
    # A period that was never scored, typed into the address: a page in Swedish, no file.
    answer = page.request.get(f"{drifted_site.url}/forandringar.xlsx?fran=2001-12-31")
    assert answer.status == 422 and "Välj två perioder som har bedömts" in answer.text()

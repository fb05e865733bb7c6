"""A planner reads the month's result indicators per segment on Resultatindikatorer, in
Swedish, in Chromium: chooses a month, reads the whole's figures as the kept report gives
them, and downloads the workbook; a month never computed is said in Swedish."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.factories import keep_indicator_month
from tests.web.conftest import Site, sign_in
from tests.web.test_pages import SHOTS, _serious

pytestmark = pytest.mark.integration


def test_a_planner_reads_the_months_indicators_and_downloads_them(
    page: Any, site: Site, population_dir: Path, small_population: Path, tmp_path: Path
) -> None:
    sign_in(page, site, "per")
    page.get_by_role("link", name="Resultatindikatorer").click()
    expect(page.get_by_role("heading", name="Resultatindikatorer per segment")).to_be_visible()
    if not site.store.indicator_months():
        expect(page.get_by_text("Inga resultatindikatorer har tagits fram ännu")).to_be_visible()
        assert _serious(page) == []
    keep_indicator_month(site.store, population_dir, small_population, tmp_path, "2026-04", 9)
    report = keep_indicator_month(
        site.store, population_dir, small_population, tmp_path, "2026-05", 9
    )
    page.reload()
    month = page.get_by_label("Månad")
    expect(month).to_have_value("2026-05")  # the newest by default
    expect(month.locator("option")).to_have_text(["maj 2026", "april 2026"])
    whole = next(r for r in report["segments"] if r["category"] == "all")
    cases = page.get_by_role("table").filter(has_text="Ärenden under månaden")
    total = cases.get_by_role("row").filter(has_text="Alla")
    expect(total.locator("td").first).to_have_text(
        f"{whole['cases_received']:,}".replace(",", "\u00a0")
    )
    expect(cases).to_contain_text("Regelbunden vardag")
    expect(cases).to_contain_text("Liten arbetsgivare")
    by_type = page.get_by_role("table").filter(has_text="som myndigheten redovisar per förmån")
    expect(by_type).to_contain_text("Tillfällig föräldrapenning")
    calls = page.get_by_role("table").filter(has_text="Samtal under månaden")
    expect(calls).to_contain_text("Uppringare som inte identifierats")
    expect(page.get_by_role("table").filter(has_text="Enkätsvar")).to_contain_text("NPS")
    text = page.locator("main").inner_text()
    for english in ("needs_support", "cases_received", "unscored", "foraldrapenning", "None"):
        assert english not in text, english
    assert _serious(page) == []
    page.screenshot(path=str(SHOTS / "resultatindikatorer.png"), full_page=True)

    month.select_option("2026-04")
    page.get_by_role("button", name="Visa").click()
    expect(page.get_by_text("April 2026.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner Excel").click()
    assert download.value.suggested_filename == "indikatorer-2026-04.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert book.sheetnames[0] == "Inkomna ärenden" and book.sheetnames[-1] == "Om rapporten"

    with page.expect_download() as download:
        page.get_by_role("link", name="Alla månader i Excel").click()
    assert download.value.suggested_filename == "indikatorer-2026-04-2026-05.xlsx"
    series = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    sheet = series["Inkomna ärenden"]
    assert [sheet.cell(3, j).value for j in (2, 3)] == ["2026-04", "2026-05"]
    assert sheet.cell(sheet.max_row, 3).value == whole["cases_received"]

    page.goto(f"{site.url}/indikatorer?manad=2019-01")
    expect(page.get_by_role("alert")).to_contain_text("Välj en av månaderna som har tagits fram")
    answer = page.request.get(f"{site.url}/indikatorer.xlsx?manad=2019-01")
    assert answer.status == 422 and "Månaden finns inte" in answer.text()


def test_the_indicators_page_reflows_and_is_for_planners(browser: Any, site: Site) -> None:
    context = browser.new_context(locale="sv-SE", viewport={"width": 640, "height": 450})
    zoomed = context.new_page()
    try:
        sign_in(zoomed, site, "per")
        zoomed.goto(f"{site.url}/indikatorer")
        wide = zoomed.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, wide
        sign_in(zoomed, site, "anna")
        assert zoomed.request.get(f"{site.url}/indikatorer").status == 403
    finally:
        context.close()

"""Swedish words for what the pages show: categories, channels, features, life situations,
history entries. One place, so the pages and their tests say the same."""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from markupsafe import Markup, escape

from segmentation.drift import SHARE_CHANGE
from segmentation.drift import read_flag as read_drift_flag
from segmentation.fairness import read_flag as read_fairness_flag
from segmentation.features import FEATURES
from segmentation.taxonomy import CATEGORY_SV as CATEGORY_SV
from segmentation.taxonomy import POPULATION_SV as POPULATION_SV

_Flag = TypeVar("_Flag")

#: What each category means, as the source documents give it (seed 004): what a case handler
#: judges a customer by on the review page.
CATEGORY_HINT_SV: dict[str, str] = {
    "regular": "Vardagen rullar på: få kontakter, förmåner som löper utan avbrott.",
    "irregular": "Vardagen förändras: sjukdom, arbetslöshet, separation, flytt eller barn; "
    "förmåner som börjar eller upphör under året.",
    "needs_support": "Flera förmåner samtidigt, ekonomiskt beroende, långa perioder och "
    "många kontakter.",
    "small": "Färre än 20 anställda.",
    "medium_large": "20 anställda eller fler.",
}
#: Why a customer is in the review sample (``training.review``: the sample's parts).
PART_SV: dict[str, str] = {
    "spread": "slumpvis ur alla grupper",
    "borderline": "gränsfall för modellen",
    # Offered again: one case handler's judgement was not enough (segmentation.opinions).
    "second_opinion": "andra bedömning",
}
CHANNEL_SV: dict[str, str] = {
    "digital_self_service": "Digital självservice",
    "guided_digital": "Digital service med vägledning",
    "personal_handler": "Personlig handläggare",
    "guided_multichannel": "Vägledning i flera kanaler",
    "e_service_integration": "E-tjänster och lönesystem",
}
FEATURE_SV: dict[str, str] = {
    "contacts_per_year": "kontakter per år",
    "personal_contact_share": "andel kontakter per telefon eller på kontor",
    "handling_minutes": "minuter aktiv handläggning",
    "applications": "ansökningar under året",
    "assisted_application_share": "andel ansökningar på papper, muntligt eller via ombud",
    "portal_logins": "inloggningar på Mina sidor",
    "life_events": "registrerade livshändelser (flytt, barn, sjukdom …)",
    "reconsiderations_and_recovery": "omprövningar och återkrav",
    "benefits": "förmåner under året",
    "changing_benefits": "förmåner som började eller upphörde under året",
    "family_benefit_years": "år med familjeförmåner",
    "sickness_benefit_years": "år med sjukpenning",
    "long_term_disability_benefit_years": "år med sjuk- eller aktivitetsersättning",
    "disability_support_benefit_years": "år med stöd vid funktionsnedsättning",
    "labour_market_benefit_years": "år med aktivitetsstöd",
    "housing_benefit_years": "år med bostadsbidrag",
    "dental_benefit_years": "år med tandvårdsstöd",
    "employees": "anställda",
    "cases": "ärenden under året",
    "contacts_per_case": "kontakter per ärende",
    "electronic_application_share": "andel elektroniska ansökningar",
    "payroll_integration": "rapporterar via lönesystem",
    "handling_minutes_per_case": "minuter handläggning per ärende",
}
#: The contract's input columns (``data_contracts.schemas``), as the drift table names them.
INPUT_SV: dict[str, str] = {
    "contacts_phone": "kontakter per telefon",
    "contacts_office": "besök på kontor",
    "contacts_digital": "digitala kontakter",
    "contacts_letter": "kontakter per brev",
    "contacts_email": "kontakter per e-post",
    "applications_online": "ansökningar på webben",
    "applications_paper": "ansökningar på papper",
    "applications_oral": "muntliga ansökningar",
    "applications_by_proxy": "ansökningar via ombud",
    "applications_electronic": "elektroniska ansökningar",
    "portal_logins": "inloggningar på Mina sidor",
    "life_events": "registrerade livshändelser",
    "reconsiderations": "omprövningar",
    "recovery_claims": "återkrav",
    "handling_minutes": "minuter aktiv handläggning",
    "employees": "anställda",
    "cases": "ärenden",
    "payroll_integration": "rapporterar via lönesystem",
    "benefit_months_aktivitetsersattning": "månader med aktivitetsersättning",
    "benefit_months_aktivitetsstod": "månader med aktivitetsstöd",
    "benefit_months_assistansersattning": "månader med assistansersättning",
    "benefit_months_barnbidrag": "månader med barnbidrag",
    "benefit_months_bostadsbidrag": "månader med bostadsbidrag",
    "benefit_months_foraldrapenning": "månader med föräldrapenning",
    "benefit_months_merkostnadsersattning": "månader med merkostnadsersättning",
    "benefit_months_omvardnadsbidrag": "månader med omvårdnadsbidrag",
    "benefit_months_sjukersattning": "månader med sjukersättning",
    "benefit_months_sjukpenning": "månader med sjukpenning",
    "benefit_months_tandvardsstod": "månader med tandvårdsstöd",
    "benefit_months_tillfallig_foraldrapenning": "månader med tillfällig föräldrapenning (VAB)",
    "benefit_months_underhallsstod": "månader med underhållsstöd",
}
TAG_SV: dict[str, str] = {
    "parental_leave": "Föräldraledighet",
    "sick_child_care": "Vård av sjukt barn (VAB)",
    "sick_soon_well": "Sjuk men snart frisk",
    "long_term_illness": "Långvarig sjukdom",
    "between_jobs": "Mellan jobb",
    "single_parent": "Ensamstående förälder",
    "caring_for_someone": "Vårdar någon",
    "housing_support": "Bostadsbidrag",
    "life_change": "Förändring i livet",
    "multi_benefit": "Flera förmåner samtidigt",
    "payroll_integrated": "Rapporterar via lönesystem",
    "paper_applications": "Ansöker på papper",
    "many_contacts_per_case": "Många kontakter per ärende",
}
SOURCE_SV: dict[str, str] = {
    "model": "Modellen",
    "override": "Handläggarens beslut",
    "override_removed": "Handläggarens beslut borttaget",
}
ROLE_SV: dict[str, str] = {
    "case_handler": "Handläggare",
    "planner": "Planerare",
    "operator": "Driftansvarig",
    "portal": "Mina sidor (system)",
}


def category(name: str | None) -> str:
    return CATEGORY_SV.get(name or "", name or "–")


def channel(name: str | None) -> str:
    return CHANNEL_SV.get(name or "", name or "–")


def number(value: float, unit: str = "") -> str:
    """A number the Swedish way: decimal comma, space between thousands."""
    if unit == "probability":  # the model is never sure: 0.997 is not "100 %"
        if 0.995 <= value < 1:
            return "över 99\u00a0%"
        if 0 < value < 0.005:
            return "under 1\u00a0%"
        unit = "share"
    if unit == "share":  # a no-break space: "62 %" never breaks before its sign
        return f"{value:.0%}".replace("%", "\u00a0%")
    if unit == "index":  # a small index read against bands (PSI: 0,1 and 0,25)
        return f"{value:.3f}".replace(".", ",")
    if unit == "ratio":  # a ratio read against a floor (the four-fifths rule: 0,8)
        return f"{value:.2f}".replace(".", ",")
    if unit == "change":  # a difference: signed, and a small one never shown as "-0"
        if value == 0:
            return "0"
        size = abs(value)
        # Two significant digits below 0,05 (0,041), never in exponent form.
        places = 1 - math.floor(math.log10(size))
        text = number(size) if size >= 0.05 else f"{size:.{places}f}".replace(".", ",")
        return ("+" if value > 0 else "\u2212") + text
    if abs(value) >= 10:
        return f"{value:,.0f}".replace(",", "\u00a0")
    if 0 < abs(value) < 0.05:  # 0,038 FTE is not "0": two significant digits
        places = 1 - math.floor(math.log10(abs(value)))
        return f"{value:.{places}f}".replace(".", ",")
    text = f"{value:.1f}".replace(".", ",")
    return text[:-2] if text.endswith(",0") else text


#: How each feature is read (``segmentation.features``: a share, a yes-or-no flag, a count).
FEATURE_UNITS: dict[str, str] = {
    spec.name: spec.unit for specs in FEATURES.values() for spec in specs
}


def feature_value(name: str, value: float) -> str:
    """A feature's value on the card as the case handler reads it: a share in per cent, a
    yes-or-no feature in words, a count or a time as a number."""
    unit = FEATURE_UNITS.get(name)
    if unit == "share":
        return number(value, "share")
    if unit == "flag":
        return "ja" if value >= 0.5 else "nej"
    return number(value)


def local_time(moment: dt.datetime, zone: str, form: str = "%Y-%m-%d %H:%M") -> Markup:
    """``moment`` (UTC; a naive one is UTC, as the store keeps it) as the agency's staff read
    it, in the agency's time zone, in a ``<time>`` element (its UTC moment for machines).
    Not kept on one line: the models page's nine columns need the date's break at 1280 px."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    here = aware.astimezone(zoneinfo.ZoneInfo(zone))
    return Markup('<time datetime="{}">{}</time>').format(aware.isoformat(), here.strftime(form))


def breakable(text: str) -> Markup:
    """``text`` escaped, with a line-break opportunity after each underscore and equals
    sign: a long name from training's tags (``contacts_phone``, ``county=Gotlands län``)
    breaks between its words in a narrow column, not inside one."""
    return Markup(re.sub(r"([_=])", r"\1<wbr>", str(escape(text))))


def input_name(name: str) -> str:
    """A contract input column in Swedish (the column name itself if unknown)."""
    return INPUT_SV.get(name, name)


def _large_psi(name: str, value: float) -> str:
    return f"{input_name(name)}: PSI {number(value, 'index')} (stor förändring)"


def _share_moved(name: str, change: float) -> str:
    points = number(abs(change) * 100)
    direction = "ökade" if change > 0 else "minskade"
    return f"{category(name)}: andelen {direction} med {points} procentenheter"


def drift_flags(report: Mapping[str, Any]) -> list[str]:
    """Why a period's drift report recommends retraining, in Swedish, from its figures (the
    report's own ``flags`` are English, for logs and MLflow): inputs in the large PSI band
    and category shares that moved more than ``SHARE_CHANGE`` since the previous period."""
    out = [
        _large_psi(name, value["psi"])
        for name, value in (report.get("input_psi") or {}).items()
        if value.get("band") == "large"
    ]
    out += [
        _share_moved(name, change)
        for name, change in (report.get("share_vs_previous") or {}).items()
        if abs(change) > SHARE_CHANGE
    ]
    return out


#: The fairness report's groups (``segmentation.fairness``) in Swedish; a county is named
#: in Swedish already.
GROUP_SV: dict[str, str] = {
    "under 30": "under 30 år",
    "30-49": "30–49 år",
    "50-64": "50–64 år",
    "65 and over": "65 år och äldre",
    "unknown": "okänd ålder",
    "woman": "kvinnor",
    "man": "män",
}


def _said(tag: str, read: Callable[[str], _Flag | None], say: Callable[[_Flag], str]) -> list[str]:
    """A model version's tag (English, for MLflow), one line a flag: each flag ``read`` back
    and said in Swedish; a flag of another shape as it is."""
    return [flag if (found := read(flag)) is None else say(found) for flag in tag.split("; ")]


def drift_tag(tag: str) -> list[str]:
    """A model version's ``drift`` tag (``segmentation.drift.drift_flags``) in Swedish,
    worded as on Förändringar."""
    return _said(
        tag,
        read_drift_flag,
        lambda flag: (_large_psi if flag[0] == "psi" else _share_moved)(flag[1], flag[2]),
    )


def fairness_tag(tag: str) -> list[str]:
    """A model version's ``fairness`` tag in Swedish, one line a flagged group: its rate of a
    more personal channel as a share of the most favoured group's."""
    return _said(
        tag,
        read_fairness_flag,
        lambda flag: f"{GROUP_SV.get(flag[1], flag[1])}: kvot {number(flag[2], 'ratio')}",
    )


def input_names(listed: str) -> str:
    """Contract input columns listed with commas (training's ``unrecorded`` tag) in Swedish."""
    return ", ".join(input_name(name) for name in listed.split(", "))

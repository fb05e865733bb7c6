"""A synthetic insured population calibrated to SPEC §1, for demos, tests and benchmarks.

The agency's data is personal and not available here. Each citizen gets a true category by
the reference shares, then an everyday life within it (a settled parent, someone between
jobs, a carer, ...) that decides the benefit mix, life events and how they apply. Contact
counts are over-dispersed (negative binomial), so the categories overlap as real ones do.
Everything is vectorised and deterministic by seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from data_contracts.identifiers import luhn_check_digit
from data_contracts.schemas import BENEFIT_CODES
from segmentation.taxonomy import CITIZEN_CATEGORIES, EMPLOYER_CATEGORIES, SMALL_EMPLOYER_LIMIT

PERIOD_END = dt.date(2025, 12, 31)

#: County codes and rough population weights (SCB, per mille).
COUNTIES: dict[str, float] = {
    "01": 240,
    "03": 38,
    "04": 29,
    "05": 45,
    "06": 35,
    "07": 19,
    "08": 23,
    "09": 6,
    "10": 15,
    "12": 135,
    "13": 33,
    "14": 170,
    "17": 27,
    "18": 30,
    "19": 27,
    "20": 28,
    "21": 28,
    "22": 24,
    "23": 13,
    "24": 26,
    "25": 24,
}


@dataclass(frozen=True)
class Archetype:
    """An everyday life inside a category."""

    weight: float
    #: benefit code -> (probability of receiving it, (min months, max months))
    benefits: dict[str, tuple[float, tuple[int, int]]]
    life_events_mean: float
    birth_years: tuple[int, int]


@dataclass(frozen=True)
class Behaviour:
    """How a category's customers contact the agency and apply."""

    contacts_mean: float
    contacts_dispersion: float  # negative-binomial shape: smaller means a longer tail
    contact_channels: tuple[float, float, float, float]  # phone, office, digital, letter
    applications_mean: float
    application_ways: tuple[float, float, float, float]  # online, paper, oral, proxy
    handling_minutes_mean: float
    portal_logins_mean: float
    reconsiderations_mean: float
    recovery_claims_mean: float


FULL = (12, 12)
CITIZEN_ARCHETYPES: dict[str, list[Archetype]] = {
    "regular": [
        Archetype(
            0.30,
            {
                "barnbidrag": (1.0, FULL),
                "tillfallig_foraldrapenning": (0.35, (1, 2)),
                "tandvardsstod": (0.3, FULL),
            },
            0.10,
            (1975, 1998),
        ),
        Archetype(0.38, {"tandvardsstod": (0.55, FULL)}, 0.06, (1960, 2000)),
        Archetype(
            0.22, {"tandvardsstod": (0.75, FULL), "bostadsbidrag": (0.08, FULL)}, 0.04, (1935, 1960)
        ),
        Archetype(
            0.10, {"bostadsbidrag": (0.3, FULL), "tandvardsstod": (0.2, FULL)}, 0.12, (1998, 2006)
        ),
    ],
    "irregular": [
        Archetype(
            0.30,
            {"sjukpenning": (1.0, (1, 8)), "tandvardsstod": (0.4, FULL), "barnbidrag": (0.3, FULL)},
            1.2,
            (1960, 2000),
        ),
        Archetype(
            0.25,
            {"aktivitetsstod": (1.0, (2, 10)), "bostadsbidrag": (0.25, (2, 10))},
            1.1,
            (1970, 2004),
        ),
        Archetype(
            0.25,
            {
                "foraldrapenning": (1.0, (2, 10)),
                "barnbidrag": (1.0, (1, 11)),
                "tillfallig_foraldrapenning": (0.3, (1, 2)),
            },
            1.3,
            (1985, 2000),
        ),
        Archetype(
            0.20,
            {
                "underhallsstod": (0.8, (1, 11)),
                "bostadsbidrag": (0.6, (1, 11)),
                "barnbidrag": (0.7, FULL),
            },
            1.5,
            (1970, 1998),
        ),
    ],
    "needs_support": [
        Archetype(
            0.35,
            {
                "sjukersattning": (0.7, FULL),
                "aktivitetsersattning": (0.3, FULL),
                "merkostnadsersattning": (0.4, FULL),
                "bostadsbidrag": (0.5, FULL),
                "assistansersattning": (0.15, FULL),
            },
            0.6,
            (1950, 2003),
        ),
        Archetype(
            0.25,
            {
                "omvardnadsbidrag": (1.0, FULL),
                "barnbidrag": (1.0, FULL),
                "merkostnadsersattning": (0.5, FULL),
                "underhallsstod": (0.4, FULL),
                "bostadsbidrag": (0.6, FULL),
            },
            0.8,
            (1970, 1995),
        ),
        Archetype(
            0.40,
            {
                "aktivitetsstod": (0.6, (8, 12)),
                "sjukpenning": (0.5, (6, 12)),
                "bostadsbidrag": (0.8, FULL),
                "underhallsstod": (0.3, FULL),
                "barnbidrag": (0.3, FULL),
            },
            1.0,
            (1965, 2002),
        ),
    ],
}
CITIZEN_BEHAVIOUR: dict[str, Behaviour] = {
    "regular": Behaviour(
        0.4, 0.6, (0.35, 0.05, 0.55, 0.05), 0.6, (0.86, 0.08, 0.03, 0.03), 26.0, 5.0, 0.004, 0.004
    ),
    "irregular": Behaviour(
        0.9, 1.0, (0.42, 0.10, 0.43, 0.05), 1.6, (0.72, 0.14, 0.08, 0.06), 25.0, 12.0, 0.05, 0.05
    ),
    "needs_support": Behaviour(
        6.5, 2.0, (0.45, 0.25, 0.15, 0.15), 3.0, (0.35, 0.30, 0.15, 0.20), 39.0, 3.0, 0.35, 0.25
    ),
}


def negative_binomial(
    rng: np.random.Generator, mean: float | np.ndarray, shape: float, size: int
) -> np.ndarray:
    """Over-dispersed counts with the given mean(s): a gamma-mixed Poisson (smaller
    ``shape``, longer tail)."""
    return rng.poisson(rng.gamma(shape, np.asarray(mean) / shape, size=size))


def draw_regions(rng: np.random.Generator, size: int) -> np.ndarray:
    """County codes drawn by population weight."""
    counties = list(COUNTIES)
    weights = np.array(list(COUNTIES.values()), dtype=np.float64)
    return np.asarray(counties)[rng.choice(len(counties), size=size, p=weights / weights.sum())]


def _life_events(rng: np.random.Generator, category: str, mean: float, size: int) -> np.ndarray:
    """Registered life events. An irregular everyday life *is* one going through a change
    (seed 004), so nine in ten of them have at least one registered; the rest are changes
    the agency has not yet heard of."""
    if category != "irregular":
        return rng.poisson(mean, size=size)
    registered = rng.random(size) < 0.9
    return np.where(registered, 1 + rng.poisson(max(mean - 1.0, 0.1), size=size), 0)


def _ensure_several_benefits(
    rng: np.random.Generator, columns: dict[str, np.ndarray], rows: np.ndarray
) -> None:
    """Needs-support customers live on several benefits at once (seed 004): top up those the
    draw left with fewer than two with a year of housing or maintenance support."""
    months = np.column_stack([columns[f"benefit_months_{code}"][rows] for code in BENEFIT_CODES])
    few = rows[(months > 0).sum(axis=1) < 2]
    for code in ("bostadsbidrag", "merkostnadsersattning"):
        column = columns[f"benefit_months_{code}"]
        empty = few[column[few] == 0]
        column[empty] = np.where(rng.random(len(empty)) < 0.85, 12, column[empty])
        months_now = np.column_stack([columns[f"benefit_months_{c}"][few] for c in BENEFIT_CODES])
        few = few[(months_now > 0).sum(axis=1) < 2]


def _categories(rng: np.random.Generator, shares: list[float], size: int) -> np.ndarray:
    return rng.choice(len(shares), size=size, p=np.asarray(shares) / np.sum(shares))


def personal_numbers(rng: np.random.Generator, birth_years: np.ndarray) -> np.ndarray:
    """Unique valid personal identity numbers (1 % co-ordination numbers) for these birth years."""
    size = len(birth_years)
    day_of_year = rng.integers(0, 365, size=size)
    dates = pd.to_datetime(birth_years.astype(str), format="%Y") + pd.to_timedelta(
        day_of_year, unit="D"
    )
    year = dates.year.to_numpy().astype(np.int64)
    month = dates.month.to_numpy().astype(np.int64)
    day = dates.day.to_numpy().astype(np.int64)
    day = np.where(rng.random(size) < 0.01, day + 60, day)
    date_key = year * 10_000 + month * 100 + day
    # Serial numbers unique within each birth date: rank within the date, spread over 0-999.
    order = np.argsort(date_key, kind="stable")
    sorted_keys = date_key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_keys)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, size]))
    rank = np.empty(size, dtype=np.int64)
    rank[order] = np.arange(size) - group_start
    if rank.max() >= 1000:
        raise ValueError("too many people for one birth date; spread the birth years")
    # Spread the serials over 000-999 (7 is coprime to 1000, so they stay unique per date).
    serial = (rank * 7 + date_key * 37) % 1000
    body = (year % 100) * 10_000_000 + month * 100_000 + day * 1_000 + serial  # YYMMDDNNN
    digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = luhn_check_digit(digits)
    number = date_key * 10_000 + serial * 10 + check
    return number


def _digits_to_strings(numbers: np.ndarray) -> pa.Array:
    return pa.array(numbers, type=pa.int64()).cast(pa.string())


def generate_citizens(size: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``size`` citizens (contract rows) and their true categories."""
    rng = np.random.default_rng([seed, 1])
    truth = _categories(rng, [c.share for c in CITIZEN_CATEGORIES], size)
    return citizens_in(rng, truth)


def citizens_in(
    rng: np.random.Generator, truth: np.ndarray, period_end: dt.date = PERIOD_END
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contract rows for citizens of the given true categories (indices into
    ``CITIZEN_CATEGORIES``), with new ids, and the truth table."""
    size = len(truth)
    names = [c.name for c in CITIZEN_CATEGORIES]
    columns: dict[str, np.ndarray] = {
        f"benefit_months_{code}": np.zeros(size, dtype=np.int64) for code in BENEFIT_CODES
    }
    for name in (
        "contacts_phone",
        "contacts_office",
        "contacts_digital",
        "contacts_letter",
        "applications_online",
        "applications_paper",
        "applications_oral",
        "applications_by_proxy",
        "portal_logins",
        "life_events",
        "reconsiderations",
        "recovery_claims",
        "birth_year",
    ):
        columns[name] = np.zeros(size, dtype=np.int64)
    minutes = np.zeros(size)
    for index, name in enumerate(names):
        members = np.flatnonzero(truth == index)
        n = len(members)
        archetypes = CITIZEN_ARCHETYPES[name]
        which = _categories(rng, [a.weight for a in archetypes], n)
        for a_index, archetype in enumerate(archetypes):
            rows = members[which == a_index]
            m = len(rows)
            for code, (probability, (low, high)) in archetype.benefits.items():
                gets = rng.random(m) < probability
                months = rng.integers(low, high + 1, size=m)
                columns[f"benefit_months_{code}"][rows] = np.where(gets, months, 0)
            columns["life_events"][rows] = _life_events(rng, name, archetype.life_events_mean, m)
            columns["birth_year"][rows] = rng.integers(
                archetype.birth_years[0], archetype.birth_years[1] + 1, size=m
            )
        if name == "needs_support":
            _ensure_several_benefits(rng, columns, members)
        behaviour = CITIZEN_BEHAVIOUR[name]
        contacts = negative_binomial(rng, behaviour.contacts_mean, behaviour.contacts_dispersion, n)
        split = rng.multinomial(contacts, behaviour.contact_channels)
        for k, channel in enumerate(("phone", "office", "digital", "letter")):
            columns[f"contacts_{channel}"][members] = split[:, k]
        applications = negative_binomial(rng, behaviour.applications_mean, 1.5, n)
        ways = rng.multinomial(applications, behaviour.application_ways)
        for k, way in enumerate(("online", "paper", "oral", "by_proxy")):
            columns[f"applications_{way}"][members] = ways[:, k]
        # Handling time follows the applications; its mean per customer is the reference.
        per_application = behaviour.handling_minutes_mean / behaviour.applications_mean
        minutes[members] = np.round(
            rng.gamma(2.0, per_application / 2.0, size=n) * applications
            + rng.gamma(2.0, 1.0, size=n) * (applications > 0),
            1,
        )
        columns["portal_logins"][members] = negative_binomial(
            rng, behaviour.portal_logins_mean, 1.0, n
        )
        columns["reconsiderations"][members] = rng.poisson(behaviour.reconsiderations_mean, n)
        columns["recovery_claims"][members] = rng.poisson(behaviour.recovery_claims_mean, n)
    region = draw_regions(rng, size)
    ids = personal_numbers(rng, columns["birth_year"])
    frame = pd.DataFrame(
        {
            "customer_id": pd.array(_digits_to_strings(ids).to_pylist(), dtype="string"),
            "period_end": pd.Timestamp(period_end),
            "birth_year": columns.pop("birth_year"),
            "region": region,
            **{
                k: columns[k]
                for k in (
                    "contacts_phone",
                    "contacts_office",
                    "contacts_digital",
                    "contacts_letter",
                    "applications_online",
                    "applications_paper",
                    "applications_oral",
                    "applications_by_proxy",
                )
            },
            "handling_minutes": minutes,
            **{
                k: columns[k]
                for k in ("portal_logins", "life_events", "reconsiderations", "recovery_claims")
            },
            **{
                f"benefit_months_{code}": columns[f"benefit_months_{code}"]
                for code in BENEFIT_CODES
            },
        }
    )
    truth_frame = pd.DataFrame(
        {"customer_id": frame["customer_id"], "category": np.asarray(names)[truth]}
    )
    return frame, truth_frame


def organisation_numbers(rng: np.random.Generator, size: int) -> np.ndarray:
    """Unique valid organisation numbers (``55`` + third digit 6-9, as aktiebolag have)."""
    pool = 4_000_000
    if size > pool:
        raise ValueError(f"at most {pool} employers")
    drawn = rng.choice(pool, size=size, replace=False)
    third, middle = 6 + drawn // 1_000_000, drawn % 1_000_000
    body = 550_000_000 + third * 1_000_000 + middle  # 9 digits: 5 5 T MMMMMM
    digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    return body * 10 + luhn_check_digit(digits)


def generate_employers(size: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``size`` employers (contract rows) and their true size categories."""
    rng = np.random.default_rng([seed, 2])
    small_share = EMPLOYER_CATEGORIES[0].share
    small = rng.random(size) < small_share
    employees = np.where(
        small,
        np.minimum(np.round(rng.lognormal(1.3, 0.8, size)), 19),
        np.maximum(20, np.round(rng.lognormal(4.3, 1.2, size))),
    ).astype(np.int64)
    cases = np.where(small, rng.poisson(1.2, size), rng.poisson(2 + 0.06 * employees)).astype(
        np.int64
    )
    contacts_per_case = np.where(small, rng.gamma(2.0, 1.6, size), rng.gamma(2.0, 0.4, size))
    contacts = rng.poisson(cases * contacts_per_case + np.where(small, 0.6, 0.3))
    channel_p = np.where(small[:, None], [0.45, 0.30, 0.25], [0.35, 0.60, 0.05])
    phone = rng.binomial(contacts, channel_p[:, 0])
    email = rng.binomial(contacts - phone, channel_p[:, 1] / (1 - channel_p[:, 0]))
    letter = contacts - phone - email
    electronic_p = np.where(small, rng.beta(2, 3, size), rng.beta(8, 1.5, size))
    electronic = rng.binomial(cases, electronic_p)
    payroll = rng.random(size) < np.where(small, 0.25, 0.85)
    minutes = np.round(cases * np.where(small, rng.gamma(3, 30, size), rng.gamma(3, 14, size)), 1)
    region = draw_regions(rng, size)
    numbers = organisation_numbers(rng, size)
    return employer_frame(
        numbers=numbers,
        region=region,
        employees=employees,
        cases=cases,
        phone=phone,
        email=email,
        letter=letter,
        electronic=electronic,
        minutes=minutes,
        payroll=payroll,
    )


def employer_frame(
    *,
    numbers: np.ndarray,
    region: np.ndarray,
    employees: np.ndarray,
    cases: np.ndarray,
    phone: np.ndarray,
    email: np.ndarray,
    letter: np.ndarray,
    electronic: np.ndarray,
    minutes: np.ndarray,
    payroll: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contract rows of employers and their true categories (head count is the definition)."""
    org = pd.array(_digits_to_strings(numbers).to_pylist(), dtype="string")
    frame = pd.DataFrame(
        {
            "org_number": org,
            "period_end": pd.Timestamp(PERIOD_END),
            "region": region,
            "employees": employees,
            "cases": cases,
            "contacts_phone": phone,
            "contacts_email": email,
            "contacts_letter": letter,
            "applications_electronic": electronic,
            "applications_paper": cases - electronic,
            "handling_minutes": minutes,
            "payroll_integration": payroll,
        }
    )
    small = employees < SMALL_EMPLOYER_LIMIT
    truth = pd.DataFrame({"org_number": org, "category": np.where(small, "small", "medium_large")})
    return frame, truth

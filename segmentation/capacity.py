"""Capacity arithmetic for planners: workload, full-time equivalents, phone agents (Erlang C)
and what-if scenarios. Pure functions over per-segment aggregates; no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from segmentation.taxonomy import CATEGORY_SV, POPULATIONS, known_categories, segment_order

#: The agency's hours for one full-time equivalent a year (seed 002, reporting to the ministry).
HOURS_PER_FTE = 1_556.0

CITIZEN_CHANNELS = ("phone", "office", "digital", "letter")
EMPLOYER_CHANNELS = ("phone", "email", "letter")
#: The channels each population's contacts are counted on (the contract's columns).
CHANNELS: dict[str, tuple[str, ...]] = {
    "citizens": CITIZEN_CHANNELS,
    "employers": EMPLOYER_CHANNELS,
}
#: The contact channels as a planner reads them ("kontakterna via telefon").
CHANNEL_SV = {
    "phone": "telefon",
    "office": "kontor",
    "digital": "digitala kanaler",
    "letter": "brev",
    "email": "e-post",
}


# -- Erlang C ---------------------------------------------------------------------------------
def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a call waits, with ``traffic`` Erlangs offered to ``agents`` agents."""
    if agents <= traffic:
        return 1.0
    blocking = 1.0  # Erlang B by the stable recursion B(n) = A B(n-1) / (n + A B(n-1))
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def service_level(
    traffic: float, agents: int, handle_seconds: float, answer_within: float
) -> float:
    """Share of calls answered within ``answer_within`` seconds."""
    if agents <= traffic:
        return 0.0
    waiting = erlang_c(traffic, agents)
    return 1.0 - waiting * math.exp(-(agents - traffic) * answer_within / handle_seconds)


#: Beyond this many Erlangs the assumptions are surely wrong (and the search would be long).
MAX_TRAFFIC_ERLANGS = 100_000.0


def agents_needed(
    *,
    calls: float,
    interval_seconds: float,
    handle_seconds: float,
    target: float,
    answer_within: float,
) -> int:
    """The fewest agents on the phones that meet the service level (before shrinkage).

    Walks n = 1, 2, ... once, carrying Erlang B forward, so the search is O(agents).
    """
    if calls <= 0:
        return 0
    traffic = calls * handle_seconds / interval_seconds
    if traffic > MAX_TRAFFIC_ERLANGS:
        raise ValueError(
            f"{traffic:,.0f} Erlangs of phone traffic: check the opening hours and handling time"
        )
    blocking = 1.0
    agents = 0
    while True:
        agents += 1
        blocking = traffic * blocking / (agents + traffic * blocking)
        if agents <= traffic:
            continue
        waiting = agents * blocking / (agents - traffic * (1.0 - blocking))
        level = 1.0 - waiting * math.exp(-(agents - traffic) * answer_within / handle_seconds)
        if level >= target:
            return agents


def rostered(agents: int, shrinkage: float) -> int:
    """Agents to roster so that ``agents`` are on the phones after shrinkage."""
    return math.ceil(agents / (1.0 - shrinkage) - 1e-9) if agents else 0


# -- assumptions and aggregates -----------------------------------------------------------------
#: What a planner may set, and the range that makes sense for each: the one place the
#: command line, the API and the planner's page take their limits from.
ASSUMPTION_BOUNDS: dict[str, tuple[float, float]] = {
    "service_level": (0.5, 0.99),
    "answer_within_seconds": (1.0, 3_600.0),
    "opening_hours_per_day": (1.0, 24.0),
    "opening_days_per_year": (50.0, 366.0),
    "phone_handle_seconds": (10.0, 3_600.0),
    "shrinkage": (0.0, 0.8),
    "hours_per_fte": (1_000.0, 2_500.0),
}


#: How a scenario's changes are written (command line, API and page).
SHIFT_HELP = "CATEGORY:CHANNEL:SHARE to self-service, e.g. irregular:phone:0.2"
MOVE_HELP = "FROM:TO:SHARE of customers, e.g. needs_support:irregular:0.1"


@dataclass(frozen=True)
class Assumptions:
    """Everything the figures depend on; each can be set by the planner."""

    service_level: float = 0.80
    answer_within_seconds: float = 60.0
    opening_hours_per_day: float = 8.0
    opening_days_per_year: float = 250.0
    phone_handle_seconds: float = 360.0
    shrinkage: float = 0.30
    hours_per_fte: float = HOURS_PER_FTE
    #: Staff minutes per contact by channel; self-service takes none.
    minutes_per_contact: dict[str, float] = field(
        default_factory=lambda: {
            "phone": 6.0,
            "office": 20.0,
            "digital": 4.0,
            "letter": 10.0,
            "email": 8.0,
        }
    )

    def __post_init__(self) -> None:
        if not 0 < self.service_level < 1:
            raise ValueError("service_level must be between 0 and 1")
        if not 0 <= self.shrinkage < 1:
            raise ValueError("shrinkage must be at least 0 and below 1")
        for name in (
            "answer_within_seconds",
            "opening_hours_per_day",
            "opening_days_per_year",
            "phone_handle_seconds",
            "hours_per_fte",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "phone_agents_note": (
                "phone agents are rostered agents (after shrinkage) for the average opening hour; "
                "the 'all' row pools one national queue, so Erlang C makes it smaller than the sum "
                "of the regions"
            ),
        }


@dataclass(frozen=True)
class SegmentLoad:
    """What one segment in one region brings in a year (from the store)."""

    population: str
    category: str
    region: str
    customers: int
    contacts: dict[str, float]  # by channel
    case_minutes: float  # active handling time of applications / cases
    cases: float = 0.0

    def plus(self, other: SegmentLoad) -> SegmentLoad:
        channels = set(self.contacts) | set(other.contacts)
        return replace(
            self,
            customers=self.customers + other.customers,
            contacts={c: self.contacts.get(c, 0.0) + other.contacts.get(c, 0.0) for c in channels},
            case_minutes=self.case_minutes + other.case_minutes,
            cases=self.cases + other.cases,
        )


def _row(load: SegmentLoad, assumptions: Assumptions, self_service: float) -> dict[str, Any]:
    contacts = sum(load.contacts.values())
    contact_minutes = sum(
        volume * assumptions.minutes_per_contact.get(channel, 0.0)
        for channel, volume in load.contacts.items()
    )
    hours = (load.case_minutes + contact_minutes) / 60.0
    on_phones = _on_phones(load.contacts.get("phone", 0.0), assumptions)
    row: dict[str, Any] = {
        "population": load.population,
        "category": load.category,
        "region": load.region,
        "customers": load.customers,
        "contacts": contacts,
        "contacts_per_customer": contacts / load.customers if load.customers else 0.0,
        "contacts_by_channel": dict(sorted(load.contacts.items())),
        "moved_to_self_service": self_service,
        "case_handling_hours": load.case_minutes / 60.0,
        "contact_handling_hours": contact_minutes / 60.0,
        "handling_hours": hours,
        "fte": hours / assumptions.hours_per_fte,
        "phone_agents_on_phones": on_phones,
        "phone_agents": rostered(on_phones, assumptions.shrinkage),
    }
    if load.population == "employers":
        row["cases"] = load.cases
    return row


def _on_phones(calls_per_year: float, assumptions: Assumptions) -> int:
    """Agents on the phones for one queue taking ``calls_per_year``, spread evenly over the
    opening hours (Erlang C at the service level)."""
    return agents_needed(
        calls=calls_per_year
        / (assumptions.opening_days_per_year * assumptions.opening_hours_per_day),
        interval_seconds=3_600.0,
        handle_seconds=assumptions.phone_handle_seconds,
        target=assumptions.service_level,
        answer_within=assumptions.answer_within_seconds,
    )


def pooled_phone_agents(
    rows: Iterable[Mapping[str, Any]], assumptions: Assumptions
) -> dict[str, int]:
    """Per region, the rostered agents of one phone line taking every segment's calls there
    (``capacity_rows``' rows; ``all``: one national line). Erlang C does not add up: a queue
    per segment in a small county needs an agent or two each, however few its calls, so the
    segments' agents added up overstate what one county line needs many times over."""
    calls: dict[str, float] = {}
    for row in rows:
        phone = row["contacts_by_channel"].get("phone", 0.0)
        calls[row["region"]] = calls.get(row["region"], 0.0) + phone
    return {
        region: rostered(_on_phones(volume, assumptions), assumptions.shrinkage)
        for region, volume in sorted(calls.items())
    }


def capacity_rows(
    loads: list[SegmentLoad],
    assumptions: Assumptions,
    self_service: dict[tuple[str, str, str], float] | None = None,
) -> list[dict[str, Any]]:
    """One row per population, category and region, plus `all` rows per category; segments
    in reference order (citizens first, regular first), as the planners read them."""
    moved = self_service or {}
    rows = [
        _row(load, assumptions, moved.get((load.population, load.category, load.region), 0.0))
        for load in sorted(
            loads, key=lambda item: (segment_order(item.population, item.category), item.region)
        )
    ]
    totals: dict[tuple[str, str], SegmentLoad] = {}
    moved_totals: dict[tuple[str, str], float] = {}
    for load in loads:
        key = (load.population, load.category)
        totals[key] = totals[key].plus(load) if key in totals else replace(load, region="all")
        moved_totals[key] = moved_totals.get(key, 0.0) + moved.get(
            (load.population, load.category, load.region), 0.0
        )
    rows += [
        _row(totals[key], assumptions, moved_totals[key])
        for key in sorted(totals, key=lambda key: segment_order(*key))
    ]
    return rows


# -- scenarios ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelShift:
    """Move ``share`` of one segment's contacts on ``channel`` to self-service."""

    population: str
    category: str
    channel: str
    share: float

    def __post_init__(self) -> None:
        _check_segment(self.population, self.category)
        channels = CHANNELS[self.population]
        if self.channel not in channels:
            raise ValueError(
                f"channel {self.channel!r}: {self.population}' contacts are counted on "
                f"{', '.join(channels)}"
            )
        _check_share(self.share)

    def describe(self) -> str:
        return f"{self.share:.0%} of {self.category} {self.channel} contacts to self-service"

    def describe_sv(self) -> str:
        return (
            f"{_percent_sv(self.share)} av kontakterna via "
            f"{CHANNEL_SV.get(self.channel, self.channel)} för {_category_sv(self.category)} "
            "flyttas till självservice"
        )


@dataclass(frozen=True)
class CustomerMove:
    """Move ``share`` of one segment's customers to another; they take on the target
    segment's contacts and handling time per customer in their region."""

    population: str
    source: str
    target: str
    share: float

    def __post_init__(self) -> None:
        _check_segment(self.population, self.source)
        _check_segment(self.population, self.target)
        if self.source == self.target:
            raise ValueError(f"customers cannot move from {self.source} to itself")
        _check_share(self.share)

    def describe(self) -> str:
        return f"{self.share:.0%} of {self.source} customers become {self.target}"

    def describe_sv(self) -> str:
        return (
            f"{_percent_sv(self.share)} av kunderna i {_category_sv(self.source)} flyttas till "
            f"{_category_sv(self.target)}"
        )


def _check_segment(population: str, category: str) -> None:
    """A scenario names a segment the report has: a known population and one of its categories
    (a misspelt one would change nothing, silently)."""
    names = known_categories(population)
    if names is None:
        raise ValueError(f"population {population!r}: {' or '.join(POPULATIONS)}")
    if category not in names:
        raise ValueError(f"category {category!r}: {population} are {', '.join(names)}")


def _check_share(share: float) -> None:
    if not 0 <= share <= 1:  # also refuses nan
        raise ValueError(f"share {share:g}: a fraction between 0 and 1, e.g. 0.2")


def _percent_sv(share: float) -> str:
    """0.125 -> "12,5 %" (a no-break space: the sign never starts a line)."""
    return f"{share * 100:.1f}".removesuffix(".0").replace(".", ",") + "\u00a0%"


def _category_sv(name: str) -> str:
    """A category's Swedish name inside a sentence ("för oregelbunden vardag")."""
    return CATEGORY_SV.get(name, name).lower()


def apply_scenario(
    loads: list[SegmentLoad], changes: list[ChannelShift | CustomerMove]
) -> tuple[list[SegmentLoad], dict[tuple[str, str, str], float]]:
    """The loads after the changes, and the contacts moved to self-service per segment."""
    current = {(load.population, load.category, load.region): load for load in loads}
    moved: dict[tuple[str, str, str], float] = {}
    for change in changes:
        if isinstance(change, ChannelShift):
            for key, load in list(current.items()):
                if key[0] != change.population or key[1] != change.category:
                    continue
                volume = load.contacts.get(change.channel, 0.0) * change.share
                contacts = dict(load.contacts)
                contacts[change.channel] = contacts.get(change.channel, 0.0) - volume
                current[key] = replace(load, contacts=contacts)
                moved[key] = moved.get(key, 0.0) + volume
        else:
            for key, load in list(current.items()):
                if key[0] != change.population or key[1] != change.source:
                    continue
                target_key = (key[0], change.target, key[2])
                target = current.get(target_key)
                movers = round(load.customers * change.share)
                if movers == 0:
                    continue
                if target is None or target.customers == 0:
                    per_contacts = {c: v / load.customers for c, v in load.contacts.items()}
                    per_minutes, per_cases = (
                        load.case_minutes / load.customers,
                        load.cases / load.customers,
                    )
                    target = replace(
                        load,
                        category=change.target,
                        customers=0,
                        contacts={c: 0.0 for c in load.contacts},
                        case_minutes=0.0,
                        cases=0.0,
                    )
                else:
                    per_contacts = {c: v / target.customers for c, v in target.contacts.items()}
                    per_minutes = target.case_minutes / target.customers
                    per_cases = target.cases / target.customers
                fraction = movers / load.customers
                current[key] = replace(
                    load,
                    customers=load.customers - movers,
                    contacts={c: v * (1 - fraction) for c, v in load.contacts.items()},
                    case_minutes=load.case_minutes * (1 - fraction),
                    cases=load.cases * (1 - fraction),
                )
                current[target_key] = replace(
                    target,
                    customers=target.customers + movers,
                    contacts={
                        c: target.contacts.get(c, 0.0) + per_contacts.get(c, 0.0) * movers
                        for c in set(target.contacts) | set(per_contacts)
                    },
                    case_minutes=target.case_minutes + per_minutes * movers,
                    cases=target.cases + per_cases * movers,
                )
    return list(current.values()), moved


def parse_shift(text: str, population: str = "citizens") -> ChannelShift:
    """``irregular:phone:0.2`` (or ``employers/small:phone:0.2``)."""
    population, _, rest = text.rpartition("/") if "/" in text else (population, "", text)
    try:
        category, channel, share = rest.split(":")
        fraction = float(share)
    except ValueError as error:
        raise ValueError(
            f"shift {text!r}: expected CATEGORY:CHANNEL:SHARE, e.g. irregular:phone:0.2"
        ) from error
    try:
        return ChannelShift(population or "citizens", category, channel, fraction)
    except ValueError as error:
        raise ValueError(f"shift {text!r}: {error}") from error


def parse_move(text: str, population: str = "citizens") -> CustomerMove:
    """``needs_support:irregular:0.1`` (or ``employers/small:medium_large:0.1``)."""
    population, _, rest = text.rpartition("/") if "/" in text else (population, "", text)
    try:
        source, target, share = rest.split(":")
        fraction = float(share)
    except ValueError as error:
        raise ValueError(
            f"move {text!r}: expected FROM:TO:SHARE, e.g. needs_support:irregular:0.1"
        ) from error
    try:
        return CustomerMove(population or "citizens", source, target, fraction)
    except ValueError as error:
        raise ValueError(f"move {text!r}: {error}") from error


def parse_changes(
    shifts: list[str] | None, moves: list[str] | None
) -> list[ChannelShift | CustomerMove]:
    """A scenario from the planner's text: ``--shift``/``shift`` and ``--move``/``move``."""
    changes: list[ChannelShift | CustomerMove] = [parse_shift(text) for text in shifts or []]
    return changes + [parse_move(text) for text in moves or []]


def report(
    loads: list[SegmentLoad],
    assumptions: Assumptions,
    changes: list[ChannelShift | CustomerMove] | None = None,
) -> dict[str, Any]:
    """The capacity report of SPEC §5: assumptions, baseline segments, and the scenario."""
    baseline = capacity_rows(loads, assumptions)
    out: dict[str, Any] = {
        "assumptions": assumptions.as_dict(),
        "segments": baseline,
        # One phone line per region for every segment (what a county staffs).
        "region_phone_agents": pooled_phone_agents(baseline, assumptions),
    }
    if changes:
        changed, moved = apply_scenario(loads, changes)
        scenario_rows = capacity_rows(changed, assumptions, moved)
        base_all = {(r["population"], r["category"]): r for r in baseline if r["region"] == "all"}
        comparison = []
        for row in scenario_rows:
            if row["region"] != "all":
                continue
            base = base_all.get((row["population"], row["category"])) or {}
            comparison.append(
                {
                    "population": row["population"],
                    "category": row["category"],
                    **{
                        f"baseline_{k}": base.get(k, 0)
                        for k in ("customers", "contacts", "handling_hours", "fte", "phone_agents")
                    },
                    **{
                        f"scenario_{k}": row[k]
                        for k in ("customers", "contacts", "handling_hours", "fte", "phone_agents")
                    },
                    "change_handling_hours": row["handling_hours"] - base.get("handling_hours", 0),
                    "change_fte": row["fte"] - base.get("fte", 0),
                    "change_phone_agents": row["phone_agents"] - base.get("phone_agents", 0),
                }
            )
        out["scenario"] = {
            "changes": [change.describe() for change in changes],
            "changes_sv": [change.describe_sv() for change in changes],
            "segments": scenario_rows,
            "region_phone_agents": pooled_phone_agents(scenario_rows, assumptions),
            "comparison": comparison,
        }
    return out


def loads_from_rows(population: str, rows: list[dict[str, Any]]) -> list[SegmentLoad]:
    """Segment loads from the store's per-category-and-region sums."""
    loads = []
    channels = CHANNELS[population]
    for row in rows:
        contacts = {c: float(row[f"contacts_{c}"] or 0.0) for c in channels}
        cases = 0.0 if population == "citizens" else float(row["cases"] or 0.0)
        loads.append(
            SegmentLoad(
                population=population,
                category=str(row["category"]),
                region=str(row["region"]),
                customers=int(row["customers"]),
                contacts=contacts,
                case_minutes=float(row["handling_minutes"] or 0.0),
                cases=cases,
            )
        )
    return loads


# -- loads kept per period ----------------------------------------------------------------------
#: A period's loads as the store keeps them: ``{category: {region: [customers, *sums]}}``,
#: the sums in the order of the population's behaviour columns.
PeriodLoads = dict[str, dict[str, list[float]]]


def chunk_loads(
    category_names: list[str],
    category_codes: np.ndarray,
    regions: np.ndarray,
    behaviour: np.ndarray,
) -> PeriodLoads:
    """Customers and behaviour (a (rows, columns) matrix) summed per category and region of
    one chunk of scored rows (pure)."""
    # Hashing, not sorting, the county codes: 9 ms instead of 56 ms a 250,000-row chunk.
    region_codes, region_names = pd.factorize(np.asarray(regions, dtype=object), sort=True)
    groups = np.asarray(category_codes, dtype=np.int64) * len(region_names) + region_codes
    size = len(category_names) * len(region_names)
    values = np.asarray(behaviour, dtype=np.float64)
    columns: list[np.ndarray] = [np.bincount(groups, minlength=size).astype(np.float64)]
    columns += [
        np.bincount(groups, weights=values[:, i], minlength=size) for i in range(values.shape[1])
    ]
    sums = np.column_stack(columns)
    out: PeriodLoads = {}
    for group in np.flatnonzero(sums[:, 0]):
        category, region = divmod(int(group), len(region_names))
        out.setdefault(category_names[category], {})[str(region_names[region])] = sums[
            group
        ].tolist()
    return out


def merge_loads(total: PeriodLoads, more: PeriodLoads, sign: float = 1.0) -> PeriodLoads:
    """``total`` plus (or, with ``sign`` -1, minus) ``more`` (pure)."""
    out = {
        category: {r: list(v) for r, v in regions.items()} for category, regions in total.items()
    }
    for category, regions in more.items():
        for region, values in regions.items():
            kept = out.setdefault(category, {}).setdefault(region, [0.0] * len(values))
            for i, value in enumerate(values):
                kept[i] += sign * value
    return out


def load_rows(behaviour_columns: tuple[str, ...], loads: PeriodLoads) -> list[dict[str, Any]]:
    """The rows ``loads_from_rows`` reads, from a period's kept loads (groups left without
    customers, as all of a group's customers were overridden elsewhere, are dropped)."""
    rows = []
    for category, regions in loads.items():
        for region, values in regions.items():
            customers = round(values[0])
            if customers <= 0:
                continue
            rows.append(
                {
                    "category": category,
                    "region": region,
                    "customers": customers,
                    **dict(zip(behaviour_columns, values[1:], strict=True)),
                }
            )
    return rows

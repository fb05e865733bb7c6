"""The categories, their reference profiles (SPEC §1) and the channel policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The populations are the contract's tables (defined there, once).
from data_contracts.populations import POPULATIONS as POPULATIONS
from data_contracts.populations import Population as Population


@dataclass(frozen=True)
class Category:
    """One everyday-life category and what the agency's reference says of it."""

    name: str
    label: str
    #: The name the agency's staff read (pages, workbooks): the source documents' words.
    label_sv: str
    share: float
    channel: str
    #: Reference profile used to name clusters: metric name -> typical value.
    profile: dict[str, float]


CITIZEN_CATEGORIES: tuple[Category, ...] = (
    Category(
        "regular",
        "regular everyday life",
        "Regelbunden vardag",
        0.79,
        "digital_self_service",
        {"contacts_per_year": 0.4, "handling_minutes": 26.0},
    ),
    Category(
        "irregular",
        "irregular everyday life",
        "Oregelbunden vardag",
        0.11,
        "guided_digital",
        {"contacts_per_year": 0.9, "handling_minutes": 25.0},
    ),
    Category(
        "needs_support",
        "everyday life that needs support",
        "Vardag som kräver stöd",
        0.10,
        "personal_handler",
        {"contacts_per_year": 6.5, "handling_minutes": 39.0},
    ),
)

#: Employer categories are defined by head count (< 20 staff is small, SPEC §1); the profile
#: compares a cluster's share of members under 20 staff with that definition.
EMPLOYER_CATEGORIES: tuple[Category, ...] = (
    Category(
        "small",
        "small employer (< 20 staff)",
        "Liten arbetsgivare (färre än 20 anställda)",
        0.80,
        "guided_multichannel",
        {"share_under_20_staff": 1.0},
    ),
    Category(
        "medium_large",
        "medium or large employer (>= 20 staff)",
        "Medelstor eller stor arbetsgivare",
        0.20,
        "e_service_integration",
        {"share_under_20_staff": 0.0},
    ),
)


@dataclass(frozen=True)
class TraitRule:
    """How a group of customers is named from the traits seed 004 documents.

    Needs support: "flera förmåner samtidigt", economic dependency, long spells, many
    contacts. A group needs support when its contacts a year lie past the geometric middle
    between the irregular (0.9) and the needs-support (6.5) reference figures, or when its
    members hold ``long_dependency_benefits`` long dependency benefits on average.
    Irregular: changes in everyday life (sickness, unemployment, separation, a move) and
    benefit periods that start and stop: a group is irregular when at least
    ``change_rate`` of its members show such a change. Otherwise regular.

    A change brings contacts of its own ("stödbehovet och stödets varaktighet kan skilja sig
    stort"), so contacts alone say less about a group going through one: the contact
    threshold rises with the group's change rate above ``change_rate``, from the geometric
    middle to the needs-support reference itself (6.5) where every member is changing.
    Benefits held long count as before. With the threshold fixed, the suite's life-course
    worlds lost 13-22 % of their irregular customers to needs support, now 2-7 % (README,
    "Model quality on unseen worlds").
    """

    long_dependency_benefits: float = 1.5
    change_rate: float = 0.5
    #: How far past a threshold a group must lie to be named with full confidence: a
    #: quarter of the log distance between the contact references, 1.5 benefits, 0.2 of
    #: the change rate. Groups near a threshold teach the final model less.
    contact_margin: float = 0.25
    benefit_margin: float = 1.5
    change_margin: float = 0.2
    #: How far the contact threshold rises (on the scale where 0 is the irregular and 1 the
    #: needs-support reference) for a group whose every member is changing.
    change_contact_shift: float = 0.5


CITIZEN_TRAITS = TraitRule()

#: Employer categories are defined by head count (SPEC §1, issue 8: size is the definition,
#: behaviour the evidence).
SMALL_EMPLOYER_LIMIT = 20

CATEGORIES: dict[Population, tuple[Category, ...]] = {
    "citizens": CITIZEN_CATEGORIES,
    "employers": EMPLOYER_CATEGORIES,
}


#: The populations in Swedish, as a noun in running text.
POPULATION_SV: dict[str, str] = {"citizens": "medborgare", "employers": "arbetsgivare"}
#: Each category's Swedish name, by its API value.
CATEGORY_SV: dict[str, str] = {
    category.name: category.label_sv for members in CATEGORIES.values() for category in members
}


def category_names(population: Population) -> list[str]:
    """The API values of the population's categories, in reference order."""
    return [category.name for category in CATEGORIES[population]]


def known_categories(population: str) -> list[str] | None:
    """The categories of a population named by any string (a query, an option): ``None`` for
    one the contract does not have."""
    for known in POPULATIONS:
        if known == population:
            return category_names(known)
    return None


def segment_order(population: str, category: str) -> tuple[int, int, str]:
    """Sort key of a segment: citizens before employers, each population's categories in
    reference order (regular first), a name the taxonomy does not know last."""
    names = known_categories(population)
    if names is None:
        return (len(POPULATIONS), 0, category)
    rank = names.index(category) if category in names else len(names)
    return (POPULATIONS.index(population), rank, category)


def channel_for(population: Population, category: str) -> str:
    """The suggested service channel of a category (SPEC §1)."""
    for candidate in CATEGORIES[population]:
        if candidate.name == category:
            return candidate.channel
    raise KeyError(f"unknown {population} category: {category!r}")


#: Categories from the least to the most supportive service (their channels in that order).
SUPPORT_ORDER: dict[Population, tuple[str, ...]] = {
    "citizens": ("regular", "irregular", "needs_support"),
    # A small employer gets proactive help across channels; a larger one e-services.
    "employers": ("medium_large", "small"),
}
#: Borderline customers get more help (issue 9): when the model's two most likely
#: categories are closer than this in probability and the runner-up is the more supportive,
#: the runner-up's channel is suggested.
BORDERLINE_MARGIN = 0.2


def supportive_choice(
    population: Population, probabilities: Any, categories: Sequence[str]
) -> tuple[Any, Any]:
    """For each row of ``probabilities`` (columns in ``categories`` order): the index of
    the category whose channel is suggested, and whether that is the runner-up (a
    borderline customer given the more supportive channel)."""
    import numpy as np

    p = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
    order = np.argsort(-p, axis=1)
    top, second = order[:, 0], order[:, 1]
    rows = np.arange(len(p))
    rank = np.array([SUPPORT_ORDER[population].index(name) for name in categories])
    close = p[rows, top] - p[rows, second] < BORDERLINE_MARGIN
    moved = close & (rank[second] > rank[top])
    return np.where(moved, second, top), moved


def supportive_index(
    population: Population, probabilities: Sequence[float], categories: Sequence[str]
) -> tuple[int, bool]:
    """``supportive_choice`` for one row, on plain floats (the API's per-request path)."""
    ranked = sorted(range(len(probabilities)), key=lambda i: -probabilities[i])
    top, second = ranked[0], ranked[1]
    order = SUPPORT_ORDER[population]
    if probabilities[top] - probabilities[second] < BORDERLINE_MARGIN and order.index(
        categories[second]
    ) > order.index(categories[top]):
        return second, True
    return top, False


def borderline_note(population: Population, category: str, runner_up: str) -> str:
    """Why a borderline customer is suggested the runner-up's channel."""
    return (
        f"borderline between {category} and {runner_up} (probabilities within "
        f"{BORDERLINE_MARGIN:.2f}): the more supportive channel of {runner_up} is suggested"
    )


#: County (län) names by code; 02, 11, 15 and 16 are codes no longer in use.
COUNTY_NAMES: dict[str, str] = {
    "01": "Stockholms län",
    "03": "Uppsala län",
    "04": "Södermanlands län",
    "05": "Östergötlands län",
    "06": "Jönköpings län",
    "07": "Kronobergs län",
    "08": "Kalmar län",
    "09": "Gotlands län",
    "10": "Blekinge län",
    "12": "Skåne län",
    "13": "Hallands län",
    "14": "Västra Götalands län",
    "17": "Värmlands län",
    "18": "Örebro län",
    "19": "Västmanlands län",
    "20": "Dalarnas län",
    "21": "Gävleborgs län",
    "22": "Västernorrlands län",
    "23": "Jämtlands län",
    "24": "Västerbottens län",
    "25": "Norrbottens län",
}


def county_name(code: str) -> str:
    """The county's name (the code itself for a code no longer in use)."""
    return COUNTY_NAMES.get(code, f"län {code}")

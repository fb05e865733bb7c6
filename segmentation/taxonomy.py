"""The categories, their reference profiles (SPEC §1) and the channel policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Population = Literal["citizens", "employers"]
POPULATIONS: tuple[Population, ...] = ("citizens", "employers")


@dataclass(frozen=True)
class Category:
    """One everyday-life category and what the agency's reference says of it."""

    name: str
    label: str
    share: float
    channel: str
    #: Reference profile used to name clusters: metric name -> typical value.
    profile: dict[str, float]


CITIZEN_CATEGORIES: tuple[Category, ...] = (
    Category(
        "regular",
        "regular everyday life",
        0.79,
        "digital_self_service",
        {"contacts_per_year": 0.4, "handling_minutes": 26.0},
    ),
    Category(
        "irregular",
        "irregular everyday life",
        0.11,
        "guided_digital",
        {"contacts_per_year": 0.9, "handling_minutes": 25.0},
    ),
    Category(
        "needs_support",
        "everyday life that needs support",
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
        0.80,
        "guided_multichannel",
        {"share_under_20_staff": 1.0},
    ),
    Category(
        "medium_large",
        "medium or large employer (>= 20 staff)",
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
    """

    long_dependency_benefits: float = 1.5
    change_rate: float = 0.5
    #: How far past a threshold a group must lie to be named with full confidence: a
    #: quarter of the log distance between the contact references, 1.5 benefits, 0.2 of
    #: the change rate. Groups near a threshold teach the final model less.
    contact_margin: float = 0.25
    benefit_margin: float = 1.5
    change_margin: float = 0.2


CITIZEN_TRAITS = TraitRule()

#: Employer categories are defined by head count (SPEC §1, issue 8: size is the definition,
#: behaviour the evidence).
SMALL_EMPLOYER_LIMIT = 20

CATEGORIES: dict[Population, tuple[Category, ...]] = {
    "citizens": CITIZEN_CATEGORIES,
    "employers": EMPLOYER_CATEGORIES,
}


def category_names(population: Population) -> list[str]:
    """The API values of the population's categories, in reference order."""
    return [category.name for category in CATEGORIES[population]]


def channel_for(population: Population, category: str) -> str:
    """The suggested service channel of a category (SPEC §1)."""
    for candidate in CATEGORIES[population]:
        if candidate.name == category:
            return candidate.channel
    raise KeyError(f"unknown {population} category: {category!r}")

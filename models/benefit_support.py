"""Customers whose benefits alone say needs support: needs support or regular?

Seed 004 gives needs support several signs: several benefits at once, economic dependency
on the agency, long spells, and (with the reference) many contacts. A customer with more long
dependency benefits than the trait rule's threshold and at least the needs-support
reference's contacts a year shows them all. One with the same benefits and few contacts shows
the benefits alone, and may lead either life: a single parent with maintenance support and
housing allowance all year may be regular, a customer on sickness compensation who rarely
calls may need support. The clusters are cut mostly by contacts, so the method without this
step named nearly every such customer by their quiet cluster, regular: on ``life_stage``
(written apart) 75-89 % of the customers with two or three long dependency benefits and at
most one contact, of whom 41-94 % need support (docs/model-quality.md, "Benefits that say
needs support, weighed by behaviour").

``support_likeness`` weighs such a customer by the rest of their behaviour instead
(``models.mixture``): a classifier of the customers who show both signs against those who
show neither (no long dependency benefit, fewer contacts, no change in the year), on the
features that count neither contacts, benefits nor changes (``SUPPORT_EVIDENCE``: how they
contact and apply, help with applications, log-ins, reconsiderations and recovery claims),
gives each a likelihood ratio, and the share of them who need support is estimated from the
population. Where need drives every behaviour together (the latent-need worlds) such a
customer's other behaviour is quiet too, and the step names few of them; where a
vulnerability shows in how a customer applies (the life courses and life stages) it names
most. Pure.
"""

from __future__ import annotations

import numpy as np

from models.mixture import two_kind_likeness
from segmentation.taxonomy import CATEGORIES, CITIZEN_TRAITS

#: A customer whose benefits alone say needs support is named so from this likeness on
#: (below ½ for the reason ``models.single_change.IRREGULAR_LIKENESS`` gives: a missed
#: needs-support customer costs macro recall about eight times what a regular one named
#: needs support does).
SUPPORT_LIKENESS = 0.35
#: The features the classifier weighs: none counts contacts, benefits or changes, and none
#: follows the number of contacts (handling time does: both kinds are cut by contacts).
SUPPORT_EVIDENCE = (
    "personal_contact_share",
    "applications",
    "assisted_application_share",
    "portal_logins",
    "reconsiderations_and_recovery",
)
_NEEDS_SUPPORT_CONTACTS = {c.name: c for c in CATEGORIES["citizens"]}["needs_support"].profile[
    "contacts_per_year"
]


def dependent(metrics: dict[str, np.ndarray]) -> np.ndarray:
    """Rows with more long dependency benefits than the trait rule asks of a cluster: several
    benefits at once, economic dependency and long spells, held by the customer alone.
    ``metrics``: the rows' ``raw_profile_metrics``."""
    return np.asarray(metrics["long_dependency_benefits"] > CITIZEN_TRAITS.long_dependency_benefits)


def in_much_contact(metrics: dict[str, np.ndarray]) -> np.ndarray:
    """Rows with at least the needs-support reference's contacts a year."""
    return np.asarray(metrics["contacts_per_year"] >= _NEEDS_SUPPORT_CONTACTS)


def benefits_alone(metrics: dict[str, np.ndarray]) -> np.ndarray:
    """Rows whose benefits say needs support and whose contacts do not: the customers this
    step weighs (among those named regular)."""
    return dependent(metrics) & ~in_much_contact(metrics)


def support_likeness(
    metrics: dict[str, np.ndarray],
    changes: np.ndarray,
    named_regular: np.ndarray,
    evidence: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The rows whose benefits alone say needs support among those ``named_regular``, how
    likely each of them is to need support (0-1, in row order), and the estimated share of
    them who do.

    ``changes``: life events plus benefits that started or stopped, per row; ``evidence``:
    the rows' ``SUPPORT_EVIDENCE`` features. None where either plain kind or the undecided
    rows number fewer than ``models.mixture.MIN_ROWS_PER_KIND``."""
    contacts = in_much_contact(metrics)
    both = dependent(metrics) & contacts
    neither = (metrics["long_dependency_benefits"] == 0) & ~contacts & (changes == 0)
    undecided = benefits_alone(metrics) & named_regular
    found = two_kind_likeness(neither, both, undecided, evidence)
    if found is None:
        return None
    likeness, share = found
    return undecided, likeness, share

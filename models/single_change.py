"""Customers with exactly one change in the year: regular or irregular?

Seed 004 names irregular the customers whose everyday life changes (sickness, unemployment,
separation, a move) and whose benefit periods start and stop. But a regular customer may move
or have one benefit start in a year too. The changes alone therefore settle two kinds of
customer only: several changes (irregular) and none (regular). Clusters are cut by the
changes, so the method without this step named each customer with exactly one change by
their cluster, mostly a changing one, hence irregular: 5-7 % of the regular customers on
every world of the suite, and the ARI without reviews fell to 0.65-0.79 where a change also
comes to regular customers (README, "Model quality on unseen worlds").

``irregular_likeness`` weighs such a customer by the rest of their behaviour instead: a
classifier of the customers with several changes against those with none (on the features
that do not count changes) gives each single-change customer a likelihood ratio, and the
share of single-change customers who belong with the changing kind is estimated from the
population itself (expectation-maximisation of a two-part mixture), not assumed.

Stable names: the two kinds the classifier learns from are chosen by a rule on each row, not
by the clusterings' vote (which moves between seeds and moved the estimated share with it:
0.57 against 0.52); the classifier and the estimate are ``models.mixture``'s, shared with
``models.benefit_support``. Pure.
"""

from __future__ import annotations

import numpy as np

from models.benefit_support import dependent, in_much_contact
from models.mixture import ANCHOR_ROWS, two_kind_likeness

#: A customer with exactly one change is named irregular from this likeness on (below ½:
#: the issue measures macro recall as well as ARI, and a missed irregular customer costs
#: macro recall about seven times what a regular one named irregular does).
IRREGULAR_LIKENESS = 0.35
#: Features that count changes (or benefits, which change): not evidence of what kind of
#: everyday life a customer with one change leads.
CHANGE_FEATURES = ("life_events", "changing_benefits", "benefits")


def likely_needs_support(metrics: dict[str, np.ndarray]) -> np.ndarray:
    """Rows that by themselves look like needs support (more long dependency benefits than
    the trait rule's group threshold, or at least the needs-support reference's contacts a
    year): left out of both kinds, whatever the clusterings name them. ``metrics``: the rows'
    ``raw_profile_metrics``, which the fit has already computed to name the clusters."""
    return dependent(metrics) | in_much_contact(metrics)


def irregular_likeness(
    changes: np.ndarray,
    outside: np.ndarray,
    evidence: np.ndarray,
    *,
    anchor_rows: int = ANCHOR_ROWS,
) -> tuple[np.ndarray, float] | None:
    """How likely each single-change row is to lead an irregular everyday life rather than a
    regular one (0-1), and the estimated share of single-change rows that do.

    ``changes``: life events plus benefits that started or stopped, per row; ``outside``:
    rows that belong to neither kind (likely needs support); ``evidence``: the features
    the classifier weighs (not the changes). Rows without exactly one change get 1 (several)
    or 0 (none); rows ``outside`` get 0. None where one of the three kinds has fewer than
    ``models.mixture.MIN_ROWS_PER_KIND`` rows (the changes then cannot teach the classifier)."""
    calm = ~outside & (changes == 0)
    several = ~outside & (changes >= 2)
    single = ~outside & (changes == 1)
    found = two_kind_likeness(calm, several, single, evidence, anchor_rows=anchor_rows)
    if found is None:
        return None
    likeness = several.astype(np.float64)
    likeness[single], share = found
    return likeness, share

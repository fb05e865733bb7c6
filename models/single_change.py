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

Stable names (issue 8: >= 98 % keep their category on a re-fit with another seed): the two
kinds the classifier learns from are chosen by a rule on each row, not by the clusterings'
vote (which moves between seeds and moved the estimated share with it: 0.57 against 0.52),
and the anchors are drawn with a fixed seed, so the likeness of a row does not depend on the
fit's seed at all. Pure.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from segmentation.taxonomy import CATEGORIES, CITIZEN_TRAITS

#: A customer with exactly one change is named irregular from this likeness on (below ½:
#: the issue measures macro recall as well as ARI, and a missed irregular customer costs
#: macro recall about seven times what a regular one named irregular does).
IRREGULAR_LIKENESS = 0.35
#: Up to this many customers of each kind teach the classifier.
ANCHOR_ROWS = 10_000
#: Below this many customers of any kind (none, one, several changes) the step stands aside.
MIN_ROWS_PER_KIND = 50
#: Features that count changes (or benefits, which change): not evidence of what kind of
#: everyday life a customer with one change leads.
CHANGE_FEATURES = ("life_events", "changing_benefits", "benefits")
_NEEDS_SUPPORT_CONTACTS = {c.name: c for c in CATEGORIES["citizens"]}["needs_support"].profile[
    "contacts_per_year"
]


def likely_needs_support(metrics: dict[str, np.ndarray]) -> np.ndarray:
    """Rows that by themselves look like needs support (more long dependency benefits than
    the trait rule's group threshold, or at least the needs-support reference's contacts a
    year): left out of both kinds, whatever the clusterings name them. ``metrics``: the rows'
    ``raw_profile_metrics``, which the fit has already computed to name the clusters."""
    return np.asarray(
        (metrics["long_dependency_benefits"] > CITIZEN_TRAITS.long_dependency_benefits)
        | (metrics["contacts_per_year"] >= _NEEDS_SUPPORT_CONTACTS)
    )


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
    ``MIN_ROWS_PER_KIND`` rows (the changes then cannot teach the classifier)."""
    calm = ~outside & (changes == 0)
    several = ~outside & (changes >= 2)
    single = ~outside & (changes == 1)
    if min(calm.sum(), several.sum(), single.sum()) < MIN_ROWS_PER_KIND:
        return None
    rng = np.random.default_rng(0)
    anchors = [
        rng.choice(rows, size=min(len(rows), anchor_rows), replace=False)
        for rows in (np.flatnonzero(calm), np.flatnonzero(several))
    ]
    kinds = np.concatenate([np.zeros(len(anchors[0])), np.ones(len(anchors[1]))])
    # Each kind weighs alike, so the classifier's odds are a likelihood ratio (no prior).
    balance = np.concatenate([np.full(len(rows), 0.5 / len(rows)) for rows in anchors])
    judge = LogisticRegression(max_iter=1_000).fit(
        evidence[np.concatenate(anchors)], kinds, sample_weight=balance * len(kinds)
    )
    like = np.clip(judge.predict_proba(evidence[single])[:, 1], 1e-6, 1 - 1e-6)
    share = 0.5
    for _ in range(200):
        posterior = share * like / (share * like + (1.0 - share) * (1.0 - like))
        if abs(posterior.mean() - share) < 1e-6:
            break
        share = float(posterior.mean())
    likeness = several.astype(np.float64)
    likeness[single] = share * like / (share * like + (1.0 - share) * (1.0 - like))
    return likeness, share

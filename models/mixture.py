"""Weighing undecided customers by the rest of their behaviour: a two-kind mixture.

Two of the method's steps (``models.single_change``, ``models.benefit_support``) meet
customers whom one documented sign alone cannot settle, between two kinds that other
customers settle plainly. Both weigh such a customer the same way: a classifier of the plain
customers of one kind against the other (on features that do not carry the sign in
question) gives each undecided customer a likelihood ratio, and the share of undecided
customers who belong with the second kind is estimated from the population itself
(expectation-maximisation of a two-part mixture), not assumed.

Stable names (issue 8: >= 98 % keep their category on a re-fit with another seed): the
callers choose the plain kinds by a rule on each row, and the anchors are drawn with a fixed
seed here, so a row's likeness does not depend on the fit's seed. Pure.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

#: Up to this many customers of each plain kind teach the classifier.
ANCHOR_ROWS = 10_000
#: Below this many customers of any kind (either plain kind, or undecided) a step stands aside.
MIN_ROWS_PER_KIND = 50


def two_kind_likeness(
    first: np.ndarray,
    second: np.ndarray,
    undecided: np.ndarray,
    evidence: np.ndarray,
    *,
    anchor_rows: int = ANCHOR_ROWS,
) -> tuple[np.ndarray, float] | None:
    """How likely each ``undecided`` row is to belong with the ``second`` kind rather than
    the ``first`` (0-1, one value per undecided row, in row order), and the estimated share
    of undecided rows that do. ``first``, ``second``, ``undecided``: disjoint boolean masks;
    ``evidence``: the features the classifier weighs. None where any of the three has fewer
    than ``MIN_ROWS_PER_KIND`` rows (the plain kinds then cannot teach the classifier)."""
    if min(first.sum(), second.sum(), undecided.sum()) < MIN_ROWS_PER_KIND:
        return None
    rng = np.random.default_rng(0)
    anchors = [
        rng.choice(rows, size=min(len(rows), anchor_rows), replace=False)
        for rows in (np.flatnonzero(first), np.flatnonzero(second))
    ]
    kinds = np.concatenate([np.zeros(len(anchors[0])), np.ones(len(anchors[1]))])
    # Each kind weighs alike, so the classifier's odds are a likelihood ratio (no prior).
    balance = np.concatenate([np.full(len(rows), 0.5 / len(rows)) for rows in anchors])
    judge = LogisticRegression(max_iter=1_000).fit(
        evidence[np.concatenate(anchors)], kinds, sample_weight=balance * len(kinds)
    )
    like = np.clip(judge.predict_proba(evidence[undecided])[:, 1], 1e-6, 1 - 1e-6)
    share = 0.5
    for _ in range(200):
        posterior = share * like / (share * like + (1.0 - share) * (1.0 - like))
        if abs(posterior.mean() - share) < 1e-6:
            break
        share = float(posterior.mean())
    return share * like / (share * like + (1.0 - share) * (1.0 - like)), share

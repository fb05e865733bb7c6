"""Second opinions on a review (issue 8): when one case handler's judgement is not enough.

Case handlers are sometimes wrong. A slip on a customer the model has right reads as the
model being wrong, and since most customers are regular, slips alone pull the agreement the
gate reads far below the truth: on the world suite, 5 % of answers wrong at random took the
reported macro recall from about 0.95 to 0.73-0.86 while the model itself stayed at
0.93-0.97 (docs/model-quality.md, "Case handlers who slip"). A judgement that disagrees
with the model is where a slip does harm, so such a customer of the review sample's spread
part (the reviews that estimate the agreement; ``segmentation.store.overrides``) is judged
again, blind, by another case handler, and by a third where those two differ; the majority
stands (``training.review.settle_opinions``). Pure.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TypeVar

#: No customer is offered for more judgements than this (three categories can split three
#: ways; such a customer is left out of training, counted).
MAX_OPINIONS = 3
#: What second opinions say of the reviews themselves, logged to MLflow by training
#: (``training.review.settle_opinions`` writes them in this order; training's summary line
#: and the models page read them): customers judged by several case handlers, the share of
#: pairs of their judgements that agree, Fleiss' kappa, and customers on whom they split
#: evenly.
OPINION_METRICS = (
    "reviews_second_opinions",
    "reviewer_agreement",
    "reviewer_kappa",
    "reviews_without_majority",
)


_Judgement = TypeVar("_Judgement")


def latest_per_judge(judgements: Iterable[tuple[dt.datetime, str, _Judgement]]) -> list[_Judgement]:
    """Each case handler's latest judgement, oldest first: what counts of a customer's
    judgements (a case handler who judged again changed their mind). ``judgements``:
    (when, who as compared, the judgement); of two at the same time, the one given later in
    ``judgements`` is the latest."""
    latest: dict[str, _Judgement] = {}
    for _, judge, judgement in sorted(judgements, key=lambda each: each[0]):
        latest.pop(judge, None)
        latest[judge] = judgement
    return list(latest.values())


def needs_another_opinion(judgements: Sequence[str], model_category: str | None) -> bool:
    """Whether a queued customer should be judged by one more case handler: one judgement
    that differs from the model's category, or several without a majority (and fewer than
    ``MAX_OPINIONS``). ``judgements``: each case handler's latest category for the customer
    since it was queued; ``model_category``: the model's (None: unknown, no second opinion
    is asked on the first judgement)."""
    if not judgements or len(judgements) >= MAX_OPINIONS:
        return False
    if len(judgements) == 1:
        return model_category is not None and judgements[0] != model_category
    counts = Counter(judgements).most_common()
    return counts[0][1] == counts[1][1] if len(counts) > 1 else False

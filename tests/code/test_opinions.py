"""When a case handler's judgement calls for another's (``segmentation.opinions``)."""

from __future__ import annotations

import pytest

from segmentation.opinions import MAX_OPINIONS, needs_another_opinion


@pytest.mark.parametrize(
    ("judgements", "model", "again"),
    [
        ([], "regular", False),  # nobody has judged yet
        (["regular"], "regular", False),  # agrees with the model: enough
        (["irregular"], "regular", True),  # differs from the model: another judges
        (["irregular"], None, False),  # the model's category unknown: nothing to differ from
        (["irregular", "irregular"], "regular", False),  # two agree against the model
        (["irregular", "regular"], "regular", True),  # split: a third decides
        (["irregular", "regular", "regular"], "regular", False),  # a majority
        (["irregular", "regular", "needs_support"], "regular", False),  # three ways: no more
    ],
)
def test_another_opinion_where_one_judgement_differs_from_the_model_or_they_split(
    judgements: list[str], model: str | None, again: bool
) -> None:
    assert needs_another_opinion(judgements, model) is again


def test_no_customer_is_offered_past_the_cap() -> None:
    split = ["regular", "irregular"] * MAX_OPINIONS
    assert not needs_another_opinion(split[:MAX_OPINIONS], "regular")
    assert needs_another_opinion(split[: MAX_OPINIONS - 1], "regular")

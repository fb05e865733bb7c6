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


def test_each_case_handler_counts_once_by_their_latest_judgement_oldest_first() -> None:
    """A case handler who judged again changed their mind: their latest judgement counts,
    in its place in time; of two given at the same moment, the later listed."""
    import datetime as dt

    from segmentation.opinions import latest_per_judge

    at = [dt.datetime(2026, 12, 1, hour, tzinfo=dt.UTC) for hour in range(4)]
    judged = [
        (at[2], "bo", "irregular"),
        (at[0], "anna", "needs_support"),
        (at[1], "cia", "regular"),
        (at[3], "anna", "irregular"),  # anna's second thought
        (at[1], "cia", "needs_support"),  # the same moment, listed later
    ]
    assert latest_per_judge(judged) == ["needs_support", "irregular", "irregular"]
    assert latest_per_judge([]) == []

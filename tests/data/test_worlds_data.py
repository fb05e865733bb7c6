"""Every world of the suite writes rows the contracts accept, with its true categories."""

from __future__ import annotations

import numpy as np
import pytest

from data_contracts.validation import validate
from training.worlds import WORLDS, latent_need_citizens


@pytest.mark.parametrize("world", list(WORLDS))
def test_every_world_keeps_the_contract(world: str) -> None:
    citizens, truth = WORLDS[world].citizens(5_000, 7)
    employers, employer_truth = WORLDS[world].employers(1_000, 7)
    assert validate(citizens, "citizens").counts["rejected"] == 0
    assert validate(employers, "employers").counts["rejected"] == 0
    assert citizens["customer_id"].is_unique and employers["org_number"].is_unique
    assert truth["customer_id"].equals(citizens["customer_id"])
    assert set(truth["category"]) == {"regular", "irregular", "needs_support"}
    assert set(employer_truth["category"]) == {"small", "medium_large"}


@pytest.mark.parametrize("clarity", [-0.1, 1.6])
def test_clarity_outside_its_range_is_refused(clarity: float) -> None:
    with pytest.raises(ValueError, match="clarity"):
        latent_need_citizens(1_000, 0, clarity=clarity)


def test_a_clearer_world_has_fewer_customers_out_of_their_band() -> None:
    """Clarity narrows the spread of behaviour within a band: at A's clarity the contacts
    of the regular band scatter less than in the plain latent-need world."""
    spreads = []
    for clarity in (0.0, 1.0, 1.5):
        citizens, truth = latent_need_citizens(20_000, 3, clarity=clarity)
        contacts = citizens.filter(like="contacts_").sum(axis=1).to_numpy()
        regular = truth["category"].to_numpy() == "regular"
        spreads.append(float(np.mean(contacts[regular] >= 3)))
    assert spreads[0] > spreads[1] > spreads[2], spreads

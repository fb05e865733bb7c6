"""Early warning: the risk that a customer slides into needing support (seed 004: "risken
att glida över i kategorin som behöver stöd"; "Om vi ingriper i tid ... kan vi förebygga
att problemen hopar sig").

The risk is a quarter the model's probability that the customer already looks like one
who needs support, three quarters the documented signals of seed 004 (weighted): sickness,
unemployment (activity support), economic strain (housing allowance), benefit periods that
start or stop, reconsiderations, recovery claims, many contacts. The work list holds
customers the model places in the irregular category: the slide seed 004 warns of.

The weights are a starting point read from the source documents, and the synthetic
periods follow the same account: an agency should refit them on its own history (who,
among last year's irregular customers, came to need support) once it has two periods.

Pure functions over the contract's numeric matrix; the batch stores each customer's risk
and signals, and the work list (``segmentation.store``) reads them with the customer's
movement between periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_contracts.schemas import BENEFIT_CODES, CITIZEN_COLUMN_INDEX
from segmentation.features import (
    LONG_SPELL_MONTHS,
    SPORADIC_BENEFITS,
)

_C = CITIZEN_COLUMN_INDEX
#: The geometric middle of the irregular (0.9) and needs-support (6.5) contact references.
MANY_CONTACTS = float(np.sqrt(0.9 * 6.5))


@dataclass(frozen=True)
class Signal:
    bit: int
    code: str
    weight: float
    text_en: str
    text_sv: str


SIGNALS: tuple[Signal, ...] = (
    Signal(
        0,
        "benefit_started",
        0.15,
        "a benefit started or stopped in the period",
        "en förmån började eller upphörde under perioden",
    ),
    Signal(1, "reconsideration", 0.15, "asked for a reconsideration", "har begärt omprövning"),
    Signal(2, "recovery_claim", 0.10, "has a recovery claim", "har ett återkrav"),
    Signal(
        3, "many_contacts", 0.10, "many contacts with the agency", "många kontakter med myndigheten"
    ),
    Signal(4, "sickness", 0.25, "sickness benefit in the period", "sjukpenning under perioden"),
    Signal(
        5,
        "unemployment",
        0.15,
        "activity support for six months or more",
        "aktivitetsstöd i sex månader eller mer",
    ),
    Signal(
        6,
        "housing_allowance",
        0.10,
        "housing allowance (economic strain)",
        "bostadsbidrag (ansträngd ekonomi)",
    ),
)
SIGNAL_BY_CODE = {signal.code: signal for signal in SIGNALS}
#: How much the model's probability counts against the signals.
PROBABILITY_WEIGHT = 0.25

_STEADY = tuple(
    _C[f"benefit_months_{code}"] for code in BENEFIT_CODES if code not in SPORADIC_BENEFITS
)
_CONTACTS = [_C[f"contacts_{way}"] for way in ("phone", "office", "digital", "letter")]


def signal_flags(raw: np.ndarray) -> np.ndarray:
    """A bit per signal for each row of a citizens' numeric matrix (int16)."""
    x = np.atleast_2d(np.asarray(raw, dtype=np.float64))
    months = x[:, _STEADY]
    contacts = x[
        :,
        [
            _C[c]
            for c in ("contacts_phone", "contacts_office", "contacts_digital", "contacts_letter")
        ],
    ].sum(axis=1)
    flags = np.column_stack(
        [
            ((months > 0) & (months < 12)).any(axis=1),
            x[:, _C["reconsiderations"]] > 0,
            x[:, _C["recovery_claims"]] > 0,
            contacts >= MANY_CONTACTS,
            x[:, _C["benefit_months_sjukpenning"]] > 0,
            x[:, _C["benefit_months_aktivitetsstod"]] >= LONG_SPELL_MONTHS,
            x[:, _C["benefit_months_bostadsbidrag"]] > 0,
        ]
    )
    bits = np.array([1 << signal.bit for signal in SIGNALS], dtype=np.int16)
    return (flags.astype(np.int16) * bits).sum(axis=1).astype(np.int16)


def risk(p_needs_support: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """The early-warning risk, 0-1, from the model's probability and the signal bits."""
    weights = np.array([signal.weight for signal in SIGNALS])
    present = (np.asarray(flags)[:, None] >> np.array([s.bit for s in SIGNALS])) & 1
    return PROBABILITY_WEIGHT * np.asarray(p_needs_support) + (1 - PROBABILITY_WEIGHT) * (
        present @ weights
    )


def signal_codes(flags: int) -> list[str]:
    """The signals set in one customer's bits."""
    return [signal.code for signal in SIGNALS if flags >> signal.bit & 1]

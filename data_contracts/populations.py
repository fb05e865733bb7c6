"""The two tables of SPEC §2, one per population: their names alone, so that what only needs
the names (the taxonomy, capacity arithmetic, the command line's start) does not import the
validation library."""

from __future__ import annotations

from typing import Literal

Population = Literal["citizens", "employers"]
POPULATIONS: tuple[Population, ...] = ("citizens", "employers")

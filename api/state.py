"""The models the API serves: one immutable snapshot per population, swapped atomically.

A request takes the snapshot once and uses it to the end, so requests in flight finish on
the version they started with while a newer champion is swapped in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import numpy as np

from models.bundle import SegmentationBundle
from segmentation.taxonomy import POPULATIONS, Population

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActiveModel:
    """A loaded champion and what its hot path needs, precomputed."""

    population: Population
    bundle: SegmentationBundle
    version: str
    categories: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    scale: np.ndarray = field(default_factory=lambda: np.ones(1))
    #: (components, categories) 0/1: which category each mixture component belongs to.
    membership: np.ndarray = field(default_factory=lambda: np.ones((1, 1)))

    @classmethod
    def build(cls, bundle: SegmentationBundle, version: str) -> ActiveModel:
        return cls(
            population=bundle.population,
            bundle=bundle,
            version=version,
            categories=bundle.categories,
            channels=bundle.channels,
            scale=np.asarray(bundle.segmenter.feature_scale_),
            membership=bundle.segmenter.membership_,
        )


VersionLookup = Callable[[Population], str | None]
VersionLoader = Callable[[Population, str], SegmentationBundle]


class ModelHolder:
    """Holds the active champion per population and follows the `champion` alias."""

    #: Earlier versions kept for explaining stored rows they produced (a few KB each).
    KEEP_EARLIER = 8

    def __init__(self, version_of: VersionLookup, load: VersionLoader) -> None:
        self._version_of = version_of
        self._load = load
        self._active: dict[Population, ActiveModel] = {}
        self._earlier: dict[tuple[Population, str], ActiveModel] = {}
        #: Per population, the champion version that could not be loaded and why (the
        #: previous version keeps serving); cleared when a version loads.
        self.failures: dict[Population, str] = {}

    async def for_version(self, population: Population, version: str) -> ActiveModel | None:
        """The model of a given registered version: the champion when it is that version,
        else that version, loaded once (off the event loop) and kept. ``None`` when it
        cannot be loaded. A stored category is explained by the model that produced it, so
        one answer never mixes two versions (after the alias moves, until the next batch)."""
        current = self._active.get(population)
        if current is not None and current.version == version:
            return current
        key = (population, version)
        kept = self._earlier.get(key)
        if kept is not None:
            return kept
        try:
            bundle = await anyio.to_thread.run_sync(self._load, population, version)
        except Exception:  # deleted, or the registry is unavailable
            log.warning("%s: model version %s could not be loaded", population, version)
            return None
        model = ActiveModel.build(bundle, version)
        earlier = dict(self._earlier)
        if len(earlier) >= self.KEEP_EARLIER:
            earlier.pop(next(iter(earlier)))
        earlier[key] = model
        self._earlier = earlier  # one reference assignment, as for the champions
        return model

    def get(self, population: Population) -> ActiveModel | None:
        return self._active.get(population)

    @property
    def versions(self) -> dict[str, str]:
        return {population: model.version for population, model in self._active.items()}

    def refresh(self) -> dict[str, str]:
        """Load any population whose champion moved; swap it in with one assignment."""
        return self.refresh_checked()[0]

    def refresh_checked(self) -> tuple[dict[str, str], dict[Population, str]]:
        """``refresh``, with the champions this call could not load (not another thread's)."""
        failed: dict[Population, str] = {}
        for population in POPULATIONS:
            try:
                version = self._version_of(population)
            except Exception:  # the registry may be briefly unavailable; keep serving
                log.exception("could not read the champion alias of %s", population)
                continue
            current = self._active.get(population)
            if version is None or (current is not None and current.version == version):
                self.failures.pop(population, None)
                continue
            try:
                bundle = self._load(population, version)
            except Exception as error:
                failure = f"version {version} could not be loaded ({type(error).__name__})"
                if self.failures.get(population) != failure:  # once, not every cycle
                    log.error(
                        "%s: champion %s; still serving %s",
                        population,
                        failure,
                        current.version if current else "nothing",
                    )
                self.failures[population] = failed[population] = failure
                continue
            self.failures.pop(population, None)
            updated = dict(self._active)
            updated[population] = ActiveModel.build(bundle, version)
            self._active = updated  # one reference assignment: atomic for readers
            log.info("%s: serving model version %s", population, version)
        return self.versions, failed

    async def follow(self, interval: float) -> None:
        """Check the alias every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await anyio.to_thread.run_sync(self.refresh)
            except Exception:
                log.exception("model refresh failed; still serving %s", self.versions)

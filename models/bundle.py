"""The model bundle: the fitted segmenter behind one object, saved and loaded with joblib."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from data_contracts.schemas import CONTRACT_VERSION
from models.calibration import apply_calibration
from models.segmenter import ClusterSegmenter
from segmentation.features import numeric_matrix
from segmentation.taxonomy import Population, channel_for

BUNDLE_FILE = "bundle.joblib"


@dataclass
class SegmentationBundle:
    """A trained segmentation model for one population, with what it was trained on."""

    population: Population
    segmenter: ClusterSegmenter
    contract_version: str = CONTRACT_VERSION
    trained_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    data_fingerprint: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    #: Temperature and per-category biases fitted to the reviews (``models.calibration``);
    #: None for a model trained without enough reviews (and for bundles saved before it).
    calibration: tuple[float, ...] | None = None

    @property
    def categories(self) -> list[str]:
        return [str(name) for name in self.segmenter.categories_]

    @property
    def channels(self) -> list[str]:
        return [channel_for(self.population, name) for name in self.categories]

    def predict_index(self, raw: np.ndarray) -> np.ndarray:
        """Category index per row of the numeric contract matrix."""
        return self.segmenter.predict_index(raw)

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Category names for contract rows (already validated)."""
        return np.asarray(self.segmenter.categories_)[
            self.predict_index(numeric_matrix(frame, self.population))
        ]

    def predict_proba(self, raw: np.ndarray) -> np.ndarray:
        return self.segmenter.predict_proba(raw)

    def calibrated(self, probabilities: np.ndarray) -> np.ndarray:
        """``probabilities`` (of this model) as the chance of each category, calibrated on
        the reviews the model was trained with (unchanged without a calibration)."""
        return apply_calibration(probabilities, self.calibration)


def save_bundle(bundle: SegmentationBundle, directory: Path) -> Path:
    """Write the bundle into ``directory`` and return the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / BUNDLE_FILE
    joblib.dump(bundle, path, compress=3)
    return path


def load_bundle(path: Path) -> SegmentationBundle:
    """Read a bundle written by :func:`save_bundle` (a file or the directory holding it)."""
    path = Path(path)
    if path.is_dir():
        found = list(path.rglob(BUNDLE_FILE))
        if not found:
            raise FileNotFoundError(f"no {BUNDLE_FILE} under {path}")
        path = found[0]
    bundle = joblib.load(path)
    if not isinstance(bundle, SegmentationBundle):
        raise TypeError(f"{path} does not hold a SegmentationBundle")
    return bundle

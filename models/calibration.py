"""Calibrating a model's probabilities on case handlers' reviews (vector scaling).

The segmenter's probabilities rank customers well but were found under-confident on every
synthetic world: they cannot be read as the chance that a customer truly is in a category.
Reviews can: a reviewed customer's category is the truth for that row. A calibration map
``softmax(temperature * log p + bias)`` is fitted to the reviewed rows by maximum likelihood
(with a small ridge on the biases). The review sample is drawn on the model's own inputs
(borderline rows first, a spread of the rest), so it is a valid sample for the conditional
``P(category | inputs)`` the map estimates, whatever the inclusion probabilities.

Used to estimate how the model's errors look on a whole period (``soft_confusion`` in
``segmentation.transitions``), and from it the true movement between periods. Pure.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

#: Below this many reviewed rows no map is fitted (the probabilities are used as they are).
MIN_REVIEWS_FOR_CALIBRATION = 100
#: Ridge on the biases: keeps a category with few reviews from moving far.
BIAS_RIDGE = 0.01
_FLOOR = 1e-12


def apply_calibration(
    probabilities: np.ndarray, calibration: tuple[float, ...] | None
) -> np.ndarray:
    """Calibrated probabilities (rows sum to 1); ``None`` returns them unchanged."""
    if calibration is None:
        return probabilities
    temperature, biases = calibration[0], np.asarray(calibration[1:], dtype=np.float64)
    logits = temperature * np.log(np.clip(probabilities, _FLOOR, 1.0)) + biases
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    out: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return out


def fit_calibration(probabilities: np.ndarray, truth: np.ndarray) -> tuple[float, ...] | None:
    """Temperature and per-category biases that make ``probabilities`` fit ``truth``
    (category index per reviewed row); None with too few reviews."""
    if len(truth) < MIN_REVIEWS_FOR_CALIBRATION:
        return None
    logs = np.log(np.clip(probabilities, _FLOOR, 1.0))
    rows = np.arange(len(truth))
    size = probabilities.shape[1]

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        logits = weights[0] * logs + weights[1:]
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        shares = exp / exp.sum(axis=1, keepdims=True)
        value = -float(np.sum(logits[rows, truth] - np.log(exp.sum(axis=1))))
        value += BIAS_RIDGE * float(np.sum(weights[1:] ** 2))
        residual = shares.copy()
        residual[rows, truth] -= 1.0
        gradient = np.concatenate(
            [[float(np.sum(residual * logs))], residual.sum(axis=0) + 2 * BIAS_RIDGE * weights[1:]]
        )
        return value, gradient

    start = np.concatenate([[1.0], np.zeros(size)])
    result = minimize(
        loss, start, jac=True, method="L-BFGS-B", bounds=[(0.05, 20.0)] + [(None, None)] * size
    )
    return tuple(float(w) for w in result.x)

"""Combining the ensemble members' predictions."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["member_probabilities", "normal_mixture_interval"]


def member_probabilities(estimator, X: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """One member's class probabilities with columns aligned to ``classes``, shape (n, C).

    A member without ``predict_proba`` (e.g. ``SVC()``) votes: probability 1 for its prediction.
    """
    out = np.zeros((X.shape[0], classes.size))
    if hasattr(estimator, "predict_proba"):
        out[:, np.searchsorted(classes, estimator.classes_)] = estimator.predict_proba(X)
    else:
        out[np.arange(X.shape[0]), np.searchsorted(classes, estimator.predict(X))] = 1.0
    return out


def normal_mixture_interval(means: np.ndarray, sd: np.ndarray, alpha: float) -> np.ndarray:
    r"""Central ``1 - alpha`` interval of :math:`\frac1S \sum_s \mathcal N(\mu_{ns}, \sigma_s^2)`.

    Parameters
    ----------
    means : ndarray of shape (n, S)
    sd : ndarray of shape (S,)
    alpha : float in (0, 1)

    Returns
    -------
    ndarray of shape (n, 2)
        Lower and upper quantiles, found by bisection on the mixture's CDF (monotone, so the
        bracket of +-8 sd around the extreme means always holds both quantiles).

    Examples
    --------
    >>> import numpy as np
    >>> normal_mixture_interval(np.zeros((1, 2)), np.ones(2), 0.05).round(3)
    array([[-1.96,  1.96]])
    """
    sd = np.maximum(np.asarray(sd, dtype=np.float64), 1e-12)[None, :]
    lo = (means - 8 * sd).min(axis=1)
    hi = (means + 8 * sd).max(axis=1)
    out = []
    for q in (alpha / 2, 1 - alpha / 2):
        a, b = lo.copy(), hi.copy()
        for _ in range(60):  # 60 halvings shrink the bracket below float64 resolution
            mid = 0.5 * (a + b)
            below = ndtr((mid[:, None] - means) / sd).mean(axis=1) < q
            a, b = np.where(below, mid, a), np.where(below, b, mid)
        out.append(0.5 * (a + b))
    return np.stack(out, axis=1)

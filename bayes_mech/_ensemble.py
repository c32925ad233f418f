"""Combining the ensemble members' predictions."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["empirical_mixture_interval", "member_probabilities", "normal_mixture_interval"]


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


def empirical_mixture_interval(
    means: np.ndarray, residuals: np.ndarray, alpha: float
) -> np.ndarray:
    r"""Central ``1 - alpha`` interval of :math:`\frac1S \sum_s \hat F_s(t - \mu_{ns})`.

    Each member's predictive distribution is its prediction plus a residual drawn from its own
    held-out residuals (the empirical distribution :math:`\hat F_s`); the ensemble's is their
    equal mixture. No Gaussian shape is assumed: on a randomised design the residuals of a
    regression are often lighter-tailed than a normal, and a Gaussian interval then over-covers.

    Parameters
    ----------
    means : ndarray of shape (n, S)
    residuals : ndarray of shape (S, n_holdout)
    alpha : float in (0, 1)

    Returns
    -------
    ndarray of shape (n, 2)
        The mixture's ``alpha/2`` and ``1 - alpha/2`` quantiles, by bisection on its CDF.

    Examples
    --------
    >>> import numpy as np
    >>> res = np.linspace(-1.0, 1.0, 2001)[None, :]  # one member, residuals uniform on [-1, 1]
    >>> empirical_mixture_interval(np.array([[3.0]]), res, 0.1).round(2)
    array([[2.1, 3.9]])
    """
    res = np.sort(np.asarray(residuals, dtype=np.float64), axis=1)
    n_res = res.shape[1]
    lo = (means + res[:, 0]).min(axis=1) - 1e-9
    hi = (means + res[:, -1]).max(axis=1) + 1e-9

    def cdf(t):  # (n,) -> (n,): mean over members of #{r <= t - mu} / n_res
        shifted = t[:, None] - means  # (n, S)
        counts = np.stack(
            [np.searchsorted(res[s], shifted[:, s], side="right") for s in range(res.shape[0])],
            axis=1,
        )
        return counts.mean(axis=1) / n_res

    out = []
    for q in (alpha / 2, 1 - alpha / 2):
        a, b = lo.copy(), hi.copy()
        for _ in range(60):
            mid = 0.5 * (a + b)
            below = cdf(mid) < q
            a, b = np.where(below, mid, a), np.where(below, b, mid)
        out.append(0.5 * (a + b))
    return np.stack(out, axis=1)

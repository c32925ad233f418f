"""Warnings and errors raised by bayes-mech.

`NotFittedError` and `ConvergenceWarning` are scikit-learn's own classes, re-exported so that code
catching scikit-learn's exceptions also catches ours.
"""

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = [
    "ConvergenceWarning",
    "FrontDoorWeightWarning",
    "MechanismWarning",
    "NotFittedError",
]


class FrontDoorWeightWarning(UserWarning):
    """Front-door weights are degenerate (low effective sample size or heavy Pareto tail).

    Raised with the numbers (ESS/N, k-hat) and the intervention value, and a remedy
    (``weight_smoothing="psis"``, more data, a coarser mechanism).

    Examples
    --------
    >>> import warnings, torch
    >>> from bayes_mech import FrontDoorWeightWarning, weight_diagnostics
    >>> lw = torch.zeros(1, 1, 1000, dtype=torch.float64)
    >>> lw[0, 0, 0] = 20.0  # one row carries nearly all the weight
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = weight_diagnostics(lw, warn=True)
    >>> caught[0].category is FrontDoorWeightWarning
    True
    """


class MechanismWarning(UserWarning):
    """The mechanism posterior rests on little data (e.g. a class of ``y`` with very few rows).

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from bayes_mech import MechanismWarning
    >>> from bayes_mech.mechanisms import GaussianMechanism
    >>> y, z = np.array([1, 1, 1, 2]), np.array([0.1, -0.2, 0.3, 1.5])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = GaussianMechanism().fit(y, z)
    >>> any(w.category is MechanismWarning for w in caught)
    True
    """

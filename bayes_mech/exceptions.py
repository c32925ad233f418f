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
    "VoteShareWarning",
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


class VoteShareWarning(UserWarning):
    """Class "probabilities" of an ensemble whose members have no ``predict_proba``.

    Such members (``SVC()``, ``LinearSVC``, ``RidgeClassifier``) vote, and the ensemble's
    ``predict_proba`` is then the share of members predicting each class: a measure of their
    agreement in multiples of 1/S, not a probability. Wrap the estimator in scikit-learn's
    ``CalibratedClassifierCV`` (or use ``SVC(probability=True)``) for probabilities.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.svm import LinearSVC
    >>> import bayes_mech as bm
    >>> d = bm.datasets.make_frontdoor_classification(n_samples=400, random_state=0)
    >>> learner = bm.MechanismLearner(LinearSVC(), n_draws=4, n_components=1, progress=False,
    ...                               random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     proba = learner.fit(d.X, d.y, d.z).predict_proba(d.X[:3])
    >>> any(w.category is bm.VoteShareWarning for w in caught)
    True
    >>> sorted(set((proba * 4).round(6).ravel().tolist()) - {0.0, 1.0, 2.0, 3.0, 4.0})
    []
    """

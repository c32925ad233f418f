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
    """Front-door weights are degenerate (low effective sample size or heavy Pareto tail)."""


class MechanismWarning(UserWarning):
    """The mechanism posterior rests on little data (e.g. a class of ``y`` with very few rows)."""

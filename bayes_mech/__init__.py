"""bayes-mech: Bayesian mechanism learning.

Train ordinary predictors on confounded front-door data (cause ``y`` -> mechanism ``z`` -> effect
``x``, with ``y`` and ``x`` confounded) so that they learn the causal relationship, with an ensemble
over the posterior of the mechanism ``p(z | y)`` that says how sure each prediction is.
"""

from bayes_mech import datasets
from bayes_mech._version import __version__
from bayes_mech.datasets import load_mnist_idx
from bayes_mech.exceptions import (
    ConvergenceWarning,
    FrontDoorWeightWarning,
    MechanismWarning,
    NotFittedError,
)

__all__ = [
    # datasets
    "datasets",
    "load_mnist_idx",
    # warnings and errors
    "ConvergenceWarning",
    "FrontDoorWeightWarning",
    "MechanismWarning",
    "NotFittedError",
    "__version__",
]

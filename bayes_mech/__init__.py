"""bayes-mech: Bayesian mechanism learning.

Train ordinary predictors on confounded front-door data (cause ``y`` -> mechanism ``z`` -> effect
``x``, with ``y`` and ``x`` confounded) so that they learn the causal relationship, with an ensemble
over the posterior of the mechanism ``p(z | y)`` that says how sure each prediction is.
"""

from bayes_mech import datasets, mechanisms
from bayes_mech._version import __version__
from bayes_mech.datasets import load_mnist_idx
from bayes_mech.exceptions import (
    ConvergenceWarning,
    FrontDoorWeightWarning,
    MechanismWarning,
    NotFittedError,
    VoteShareWarning,
)
from bayes_mech.io import load
from bayes_mech.learner import MechanismLearner
from bayes_mech.mixture import (
    WeightedBayesianGaussianMixture,
    WeightedGaussianMixture,
    select_n_components,
)
from bayes_mech.plotting import plot_weight_diagnostics
from bayes_mech.resamplers import causal_bootstrap
from bayes_mech.weights import (
    bayesian_bootstrap_log_weights,
    check_interventions,
    default_interventions,
    frontdoor_log_weights,
    normalize_log_weights,
    smooth_weights,
    warn_if_degenerate,
    weight_diagnostics,
)

__all__ = [
    # the estimator
    "MechanismLearner",
    "load",
    # datasets
    "datasets",
    "load_mnist_idx",
    # mechanisms p(z | y)
    "mechanisms",
    # front-door weights
    "frontdoor_log_weights",
    "normalize_log_weights",
    "bayesian_bootstrap_log_weights",
    "default_interventions",
    "check_interventions",
    "weight_diagnostics",
    "warn_if_degenerate",
    "smooth_weights",
    # causally weighted mixtures
    "WeightedGaussianMixture",
    "WeightedBayesianGaussianMixture",
    "select_n_components",
    # resamplers
    "causal_bootstrap",
    # plotting
    "plot_weight_diagnostics",
    # warnings and errors
    "ConvergenceWarning",
    "FrontDoorWeightWarning",
    "MechanismWarning",
    "VoteShareWarning",
    "NotFittedError",
    "__version__",
]

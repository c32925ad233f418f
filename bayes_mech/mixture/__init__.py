"""Causally weighted Gaussian mixtures (batched weighted EM and variational DP)."""

from bayes_mech.mixture._base import MixtureWarning
from bayes_mech.mixture.dirichlet import WeightedBayesianGaussianMixture
from bayes_mech.mixture.gaussian import WeightedGaussianMixture
from bayes_mech.mixture.selection import SelectionResult, select_n_components

__all__ = [
    "WeightedGaussianMixture",
    "WeightedBayesianGaussianMixture",
    "select_n_components",
    "SelectionResult",
    "MixtureWarning",
]

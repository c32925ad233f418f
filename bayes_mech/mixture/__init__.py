"""Causally weighted Gaussian mixtures (batched weighted EM and variational DP)."""

from bayes_mech.mixture._base import MixtureWarning
from bayes_mech.mixture.gaussian import WeightedGaussianMixture

__all__ = ["MixtureWarning", "WeightedGaussianMixture"]

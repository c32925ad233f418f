"""Causally weighted Gaussian mixtures (batched weighted EM and variational DP)."""

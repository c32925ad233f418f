"""The resampler interface: what every deconfounded-sample generator receives and returns.

A resampler turns a fitted front-door problem (the effect ``X``, the cause ``y``, the mechanism
``z``, the mechanism's posterior draws and the front-door weights) into ``n`` deconfounded rows
of ``x`` per (posterior draw, intervention value): an array of shape (S, M, n, d). The learner
only orchestrates; each resampler owns its model, its Pyro program and what it saves.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from bayes_mech.mixture import WeightedGaussianMixture
from bayes_mech.mixture._base import MixtureWarning

__all__ = [
    "FrontDoorProblem",
    "MixtureResampler",
    "Resampler",
    "standardize_columns",
    "warn_if_constant_columns",
]

#: The mixtures' diagonal regularisation: read from the mixture's own default, which the
#: resamplers use, so the warning below cannot drift from what is fitted.
REG_COVAR = WeightedGaussianMixture().reg_covar


@dataclass
class FrontDoorProblem:
    """Everything a resampler may use, validated and aligned by the learner.

    Attributes
    ----------
    X : ndarray of shape (N, d)
        Effect (or its image under the learner's ``feature_map``).
    y : ndarray of shape (N,) or (N, d_y)
        Observed cause.
    z : ndarray of shape (N,) or (N, d_z)
        Observed mechanism.
    mechanism : Mechanism
        Fitted ``p(z | y, θ)``.
    draws : dict of str to Tensor
        Posterior draws θ_s, leading axis S.
    interventions : ndarray of shape (M,) or (M, d_y)
    log_weights : Tensor of shape (S, M, N)
        Normalised front-door log-weights, Bayesian-bootstrap factor included when used.
    row_log_weights : Tensor of shape (S, N)
        Each draw's log row weights for the finite sample (Bayesian bootstrap), or uniform.
    weight_diagnostics : xarray.Dataset, optional
        :func:`~bayes_mech.weight_diagnostics` of the mechanism's weights (no bootstrap factor).
    covariates : ndarray of shape (N, q), optional
        Observed covariates ``c`` (encoded): the mechanism and the weights condition on them.
    covariates_as_features : bool
        The samples carry ``c`` after ``x`` (shape (..., d + q)): the members read both.
    """

    X: np.ndarray
    y: np.ndarray
    z: np.ndarray
    mechanism: object
    draws: dict
    interventions: np.ndarray
    log_weights: torch.Tensor
    row_log_weights: torch.Tensor
    weight_diagnostics: object = None
    covariates: np.ndarray | None = None
    covariates_as_features: bool = False

    @property
    def joint_rows(self) -> np.ndarray:
        """The rows the weighted samplers resample or model: ``X``, or ``[X, c]`` when the
        covariates are features too (their joint law under ``do(y)`` is what is sampled)."""
        if self.covariates_as_features:
            return np.concatenate([self.X, self.covariates], axis=1)
        return self.X

    @property
    def n_draws(self) -> int:
        return int(self.log_weights.shape[0])

    @property
    def n_values(self) -> int:
        return int(self.interventions.shape[0])


def standardize_columns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X − center) / spread`` per column, and the ``center`` and ``spread`` that undo it.

    The mixtures add ``reg_covar`` to every variance, an absolute floor: fitted in the units of
    ``X``, a column on a 1e-8 scale would drown in it. Fitting in standardised coordinates and
    mapping back makes the mixtures equivariant to the units of each column. Constant columns
    (spread 0) keep spread 1.
    """
    center = X.mean(axis=0)
    spread = X.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    return (X - center) / spread, center, spread


def warn_if_constant_columns(Xf: np.ndarray, where: str) -> None:
    """Warn about constant columns: the mixtures' covariance floor gives them noise.

    The CW-GMMs are fitted in standardised coordinates, so any column that varies at all is
    represented whatever its units; a constant one cannot be standardised and gets the floor
    ``reg_covar = 1e-6``, i.e. noise of standard deviation ~1e-3 in the deconfounded samples.
    """
    low = np.flatnonzero(np.ptp(Xf, axis=0) == 0)
    if low.size:
        shown = ", ".join(f"column {j} (value {Xf[0, j]:.6g})" for j in low[:10].tolist())
        warnings.warn(
            f"{low.size} constant column(s) of {where}: {shown}. The mixtures' covariance floor "
            f"(reg_covar = {REG_COVAR:g}) gives the deconfounded samples noise of standard "
            f"deviation ~{REG_COVAR**0.5:.0e} there; drop constant columns.",
            MixtureWarning,
            stacklevel=4,
        )


class Resampler(ABC):
    """Base class of the deconfounded-sample generators (``MechanismLearner(resampler=...)``).

    Subclasses set ``name`` and implement :meth:`resample`; those with a generative model also
    provide :meth:`interventional_model` and the persistence pair :meth:`state_arrays` /
    :meth:`from_state`.
    """

    #: The option string of ``MechanismLearner(resampler=...)``.
    name: str = ""

    @abstractmethod
    def resample(self, problem: FrontDoorProblem, n_samples: int, random_state=None) -> np.ndarray:
        """Fit what the resampler needs and draw ``n_samples`` rows per (draw, intervention).

        Returns
        -------
        ndarray of shape (S, M, n_samples, d)
        """

    def interventional_model(self, interventions, feature_map=None):
        """A Pyro program whose ``poutine.do(model, {"y": v})`` samples ``p(x | do(y=v))``."""
        return None

    #: K per intervention value (CW-GMM) or per conditioning cell (g-formula); None otherwise.
    n_components_: np.ndarray | None = None

    def fit_stats(self) -> dict[str, tuple[np.ndarray, list[str]]]:
        """Per-draw fit statistics for ``to_inference_data``: name -> (values (S, ...), dims)."""
        return {}

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Numeric state that :meth:`from_state` rebuilds the fitted resampler from."""
        return {}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray]) -> Resampler:
        out = cls()
        out.n_components_ = arrays.get("n_components")
        return out

    def describe(self, value_labels: list[str]) -> str:
        """The line on components for ``MechanismLearner.summary``."""
        return "K per intervention: -"


class MixtureResampler(Resampler):
    """A resampler whose rows come from Gaussian mixtures: K and the covariance structure.

    Parameters
    ----------
    n_components : int, "bic", "aic", "bic_eff", "cv", "dp" or dict, default="bic"
    covariance_type : {"full", "diag", "spherical", "tied", "auto"}, default="full"
        ``"auto"``: chosen with K (see each resampler).
    device : str or torch.device, optional
    partial_pooling : bool, default=False
        CW-GMM only: shrink each draw's component means across intervention values by
        empirical Bayes (:mod:`bayes_mech.resamplers._pooling`); the g-formula ignores it.
    """

    def __init__(
        self, n_components="bic", covariance_type="full", device=None, partial_pooling=False
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.device = device
        self.partial_pooling = partial_pooling

    def mixture_params(self) -> dict:
        """The constructor's arguments, to build another mixture resampler alike."""
        return {
            "n_components": self.n_components,
            "covariance_type": self.covariance_type,
            "device": self.device,
            "partial_pooling": self.partial_pooling,
        }

"""The resampler interface: what every deconfounded-sample generator receives and returns.

A resampler turns a fitted front-door problem (the effect ``X``, the cause ``y``, the mechanism
``z``, the mechanism's posterior draws and the front-door weights) into ``n`` deconfounded rows
of ``x`` per (posterior draw, intervention value): an array of shape (S, M, n, d). The learner
only orchestrates; each resampler owns its model, its Pyro program and what it saves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["FrontDoorProblem", "Resampler", "standardize_columns"]


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


class Resampler(ABC):
    """Base class of the deconfounded-sample generators (``MechanismLearner(resampler=...)``).

    Subclasses set ``name`` and implement :meth:`resample`; those with a generative model also
    provide :meth:`interventional_model` and the persistence pair :meth:`state_arrays` /
    :meth:`from_state`.
    """

    #: The option string of ``MechanismLearner(resampler=...)``.
    name: str = ""
    #: Stage names shown by the learner's progress bar while this resampler runs.
    stages: tuple[str, ...] = ("resample",)

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

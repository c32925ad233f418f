"""The mechanism interface: a model of p(z | y, θ) with a posterior over θ.

Every later stage of the pipeline runs once per posterior draw ``θ_s``. A mechanism therefore
exposes its posterior as a dict of named tensors with a leading draw axis ``S``, and evaluates
``log p(z_n | y_m, θ_s)`` for all draws, rows and intervention values at once.

Subclasses implement ``_fit``, ``sample_posterior``, ``posterior_mean`` and ``_log_prob_rows``
(``log p(z_n | y_n, θ_s)`` with one ``y`` per row); the base class supplies validation,
``log_prob`` (all rows against every intervention value) and ``log_prob_observed``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
from sklearn.base import BaseEstimator

from bayes_mech._validation import (
    check_array,
    check_consistent_length,
    check_labels,
    check_positive_int,
)
from bayes_mech.exceptions import NotFittedError

__all__ = ["Mechanism"]

Draws = dict[str, torch.Tensor]


class Mechanism(BaseEstimator, ABC):
    """Base class of mechanism models ``p(z | y, θ)`` with a posterior over ``θ``.

    Fitted attributes (set by ``fit``): ``y_kind_`` ("discrete" or "continuous"), ``classes_``
    (sorted observed classes, discrete ``y`` only), ``n_samples_``, ``z_dim_``.
    """

    #: "discrete" or "continuous"; subclasses fix what they accept.
    y_kind: str = "discrete"
    #: "discrete" (integer codes) or "continuous" (float vectors).
    z_kind: str = "continuous"

    # ------------------------------------------------------------------ fitting
    def fit(self, y, z, random_state=None):
        """Compute (or sample) the posterior of θ given observed pairs ``(y_n, z_n)``.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, d_y)
            Cause.
        z : array-like of shape (n_samples,) or (n_samples, d_z)
            Mechanism.
        random_state : None, int or numpy RandomState/Generator
            Seed for inference that is itself random (MCMC, SVI).

        Returns
        -------
        self
        """
        y_arr = self._check_y(y)
        z_arr = self._check_z(z)
        check_consistent_length(y=y_arr, z=z_arr)
        self.y_kind_ = self.y_kind
        if self.y_kind == "discrete":
            self.classes_ = np.unique(y_arr)
        self.n_samples_ = int(y_arr.shape[0])
        self.z_dim_ = 1 if z_arr.ndim == 1 else int(z_arr.shape[1])
        self._fit(y_arr, z_arr, random_state)
        return self

    @abstractmethod
    def _fit(self, y: np.ndarray, z: np.ndarray, random_state) -> None:
        """Store what the posterior needs; ``y`` and ``z`` are validated numpy arrays."""

    # ---------------------------------------------------------------- posterior
    @abstractmethod
    def sample_posterior(self, n_draws: int, random_state=None) -> Draws:
        """Draw ``n_draws`` parameter sets θ_s from the posterior.

        Returns
        -------
        dict of str to torch.Tensor
            Named parameters, each with leading axis of length ``n_draws``.
        """

    @abstractmethod
    def posterior_mean(self) -> Draws:
        """The posterior mean of θ as a single draw (leading axis of length 1): the point method."""

    # --------------------------------------------------------------- densities
    @abstractmethod
    def _log_prob_rows(self, z: torch.Tensor, y: torch.Tensor, draws: Draws) -> torch.Tensor:
        """``log p(z_n | y_n, θ_s)`` of shape (S, N) with one value of ``y`` per row.

        ``y`` has shape (N,) or (N, d_y) and, for discrete mechanisms, holds indices into
        ``classes_`` (int64). ``z`` is float64 (N, d_z), or int64 (N,) for discrete ``z``.
        """

    def log_prob(self, z, y_values, draws: Draws | None = None) -> torch.Tensor:
        """``log p(z_n | y_m, θ_s)`` for every draw, row and intervention value.

        Parameters
        ----------
        z : array-like of shape (n_samples,) or (n_samples, d_z)
        y_values : array-like of shape (n_values,) or (n_values, d_y)
            Intervention values ``y_m``; for discrete ``y`` each must be an observed class.
        draws : dict of str to Tensor, optional
            Posterior draws from ``sample_posterior``; default the posterior mean (S = 1).

        Returns
        -------
        torch.Tensor of shape (S, n_samples, n_values), float64
        """
        self._check_is_fitted()
        draws = self.posterior_mean() if draws is None else draws
        z_t = self._z_tensor(z)
        y_idx = self._y_tensor(y_values, name="y_values")
        n = z_t.shape[0]
        columns = [
            self._log_prob_rows(z_t, y_idx[m].expand((n, *y_idx.shape[1:])), draws)
            for m in range(y_idx.shape[0])
        ]
        return torch.stack(columns, dim=-1)

    def log_prob_observed(self, z, y, draws: Draws | None = None) -> torch.Tensor:
        """``log p(z_n | y_n, θ_s)`` at each row's own ``y``: tensor of shape (S, n_samples)."""
        self._check_is_fitted()
        draws = self.posterior_mean() if draws is None else draws
        z_t = self._z_tensor(z)
        y_t = self._y_tensor(y, name="y")
        check_consistent_length(y=y_t, z=z_t)
        return self._log_prob_rows(z_t, y_t, draws)

    def to_inference_data(self):
        """The posterior as an ``arviz.InferenceData`` (subclasses name their dimensions)."""
        raise NotImplementedError(f"{type(self).__name__} does not export InferenceData.")

    # ---------------------------------------------------------------- helpers
    def _check_is_fitted(self) -> None:
        if not hasattr(self, "y_kind_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(y, z) first."
            )

    def _check_n_draws(self, n_draws) -> int:
        return check_positive_int(n_draws, "n_draws", minimum=1)

    def _check_y(self, y, min_rows: int = 2) -> np.ndarray:
        if self.y_kind == "discrete":
            return check_labels(y, "y", min_rows=min_rows)
        return check_array(y, "y", ndim=2, allow_1d=True, min_rows=min_rows)

    def _check_z(self, z, min_rows: int = 2) -> np.ndarray:
        if self.z_kind == "discrete":
            return check_labels(z, "z", min_rows=min_rows)
        return check_array(z, "z", ndim=2, allow_1d=True, min_rows=min_rows)

    def _z_tensor(self, z) -> torch.Tensor:
        z_arr = self._check_z(z, min_rows=1)
        if self.z_kind == "discrete":
            return torch.as_tensor(z_arr, dtype=torch.int64)
        if z_arr.shape[1] != self.z_dim_:
            raise ValueError(
                f"z must have {self.z_dim_} column(s) as in fit; got {z_arr.shape[1]}."
            )
        return torch.as_tensor(z_arr, dtype=torch.float64)

    def _y_tensor(self, y, name: str) -> torch.Tensor:
        """Validate ``y`` values; discrete ones become int64 indices into ``classes_``."""
        if self.y_kind == "discrete":
            y_arr = check_labels(y, name)
            idx = np.searchsorted(self.classes_, y_arr)
            idx = np.clip(idx, 0, len(self.classes_) - 1)
            unknown = np.unique(y_arr[self.classes_[idx] != y_arr])
            if unknown.size:
                raise ValueError(
                    f"{name} holds value(s) {unknown.tolist()} that were never observed as a class "
                    f"of y; observed classes are {self.classes_.tolist()}."
                )
            return torch.as_tensor(idx, dtype=torch.int64)
        y_arr = check_array(y, name, ndim=2, allow_1d=True)
        return torch.as_tensor(y_arr, dtype=torch.float64)

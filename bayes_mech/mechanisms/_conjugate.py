"""Shared pieces of the conjugate mechanisms: ArviZ export and the normal-inverse-Wishart prior."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from bayes_mech._validation import as_numpy, check_positive_int
from bayes_mech.mechanisms._utils import (
    check_positive_float,
    check_scale_matrix,
    to_inference_data,
)
from bayes_mech.mechanisms.base import Mechanism

__all__ = ["ConjugateMechanism", "niw_prior"]


class ConjugateMechanism(Mechanism):
    """Shared plumbing: ArviZ export from exact posterior draws."""

    #: dims of each parameter after (chain, draw); filled by subclasses.
    _param_dims: ClassVar[dict[str, list[str]]] = {}

    def _coords(self) -> dict:
        raise NotImplementedError

    def _observed(self) -> tuple[dict, dict]:
        y = self._y_obs
        observed = {"y": y, "z": self._z_obs}
        dims = {"y": ["obs"] if y.ndim == 1 else ["obs", "y_dim"]}
        dims["z"] = ["obs"] if self._z_obs.ndim == 1 else ["obs", "z_dim"]
        return observed, dims

    def to_inference_data(self, n_draws: int = 250, n_chains: int = 4, random_state=None):
        """Exact posterior draws as an ``arviz.InferenceData``.

        The ``n_chains * n_draws`` independent draws are split into ``n_chains`` chains, so that
        ArviZ's multi-chain diagnostics (r-hat, ESS) apply unchanged; for exact draws r-hat ≈ 1.

        Returns
        -------
        arviz.InferenceData
            Groups ``posterior`` (dims ``chain``, ``draw`` and the parameter dims, e.g.
            ``y_class``, ``z_class``, ``z_dim``) and ``observed_data`` (``y``, ``z``; dim ``obs``).
        """
        self._check_is_fitted()
        n_draws = check_positive_int(n_draws, "n_draws")
        n_chains = check_positive_int(n_chains, "n_chains")
        draws = self.sample_posterior(n_chains * n_draws, random_state=random_state)
        observed, obs_dims = self._observed()
        return to_inference_data(
            {k: v.numpy().reshape(n_chains, n_draws, *v.shape[1:]) for k, v in draws.items()},
            dims={**self._param_dims, **obs_dims},
            coords=self._coords(),
            observed_data=observed,
        )


def niw_prior(z: np.ndarray, prior_mean, prior_kappa, prior_df, prior_scale, z_dim_name="z"):
    """Resolve the normal-inverse-Wishart hyperparameters, scaling the defaults to ``z``."""
    d = z.shape[1]
    kappa = check_positive_float(prior_kappa, "prior_kappa")
    df = d + 2.0 if prior_df is None else check_positive_float(prior_df, "prior_df")
    if df <= d - 1:
        raise ValueError(f"prior_df must exceed d_z - 1 = {d - 1}; got {df}.")
    if prior_mean is None:
        m0 = z.mean(axis=0)
    else:
        m0 = np.broadcast_to(as_numpy(prior_mean, "prior_mean").astype(np.float64), (d,)).copy()
    if prior_scale is None:
        var = z.var(axis=0)
        if np.any(var <= 0):
            raise ValueError(
                f"{z_dim_name} column(s) {np.flatnonzero(var <= 0).tolist()} are constant, so the "
                "data-scaled prior has no spread; pass prior_scale explicitly."
            )
        # E[Σ] = Ψ0 / (ν0 - d - 1) = diag(Var z): the prior expects the pooled spread.
        psi = np.diag(var) * max(df - d - 1.0, 1.0)
    else:
        psi = check_scale_matrix(prior_scale, "prior_scale", d)
    return m0, kappa, df, psi

"""The mechanism interface: a model of p(z | y, θ) with a posterior over θ.

Every later stage of the pipeline runs once per posterior draw ``θ_s``. A mechanism therefore
exposes its posterior as a dict of named tensors with a leading draw axis ``S``, and evaluates
``log p(z_n | y_m, θ_s)`` for all draws, rows and intervention values at once.

Subclasses implement ``_fit``, ``sample_posterior``, ``posterior_mean`` and ``_log_prob_rows``
(``log p(z_n | y_n, θ_s)`` with one ``y`` per row); the base class supplies validation,
``log_prob`` (all rows against every intervention value) and ``log_prob_observed``. Subclasses
that can evaluate all intervention values at once override ``_log_prob_grid``.

Discrete values are passed to ``_log_prob_rows`` / ``_log_prob_grid`` as int64 *codes*: positions
in ``classes_`` for ``y`` and in ``z_classes_`` for discrete ``z``.
"""

from __future__ import annotations

import warnings
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
from bayes_mech.exceptions import MechanismWarning, NotFittedError

__all__ = ["Mechanism"]

Draws = dict[str, torch.Tensor]


class Mechanism(BaseEstimator, ABC):
    """Base class of mechanism models ``p(z | y, θ)`` with a posterior over ``θ``.

    Fitted attributes (set by ``fit``): ``y_kind_`` ("discrete" or "continuous"), ``classes_``
    (sorted observed classes, discrete ``y`` only), ``z_classes_`` (sorted observed values of a
    discrete ``z``), ``n_samples_``, ``z_dim_``, ``y_dim_`` (continuous ``y`` only).

    A class of a discrete ``y`` with fewer than two rows raises a `MechanismWarning` that names
    it: its posterior is then mostly prior.
    """

    #: "discrete" or "continuous"; subclasses fix what they accept.
    y_kind: str = "discrete"
    #: "discrete" (integer codes) or "continuous" (float vectors).
    z_kind: str = "continuous"
    #: Whether the model is conditional on observed covariates, ``p(z | y, c, θ)`` (the
    #: conditional front door); such subclasses take ``c`` (float64 (N, q)) in ``_fit`` and
    #: as the keyword ``c`` in ``_log_prob_rows``, ``_log_prob_grid`` and ``_sample_rows``.
    supports_covariates: bool = False

    # ------------------------------------------------------------------ fitting
    def fit(self, y, z, random_state=None, covariates=None):
        """Compute (or sample) the posterior of θ given observed pairs ``(y_n, z_n)``.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, d_y)
            Cause.
        z : array-like of shape (n_samples,) or (n_samples, d_z)
            Mechanism.
        random_state : None, int or numpy RandomState/Generator
            Seed for inference that is itself random (MCMC, SVI).
        covariates : array-like of shape (n_samples, q), optional
            Observed covariates ``c`` (numbers; one-hot encode categories first) for
            mechanisms with ``supports_covariates``: the model is then ``p(z | y, c, θ)``
            and ``log_prob`` / ``sample_z`` take each row's ``c``.

        Returns
        -------
        self
        """
        y_arr = self._check_y(y)
        z_arr = self._check_z(z)
        self._z_input_1d = np.ndim(z) == 1 if not hasattr(z, "ndim") else z.ndim == 1
        check_consistent_length(y=y_arr, z=z_arr)
        c_arr = None
        if covariates is not None:
            if not self.supports_covariates:
                raise TypeError(
                    f"{type(self).__name__} models p(z | y) without covariates; got "
                    "covariates. Use LinearGaussianMechanism (continuous or discrete y, "
                    "continuous z) or a PyroMechanism whose model takes them."
                )
            c_arr = check_array(covariates, "covariates", ndim=2, allow_1d=True, min_rows=2)
            check_consistent_length(y=y_arr, covariates=c_arr)
        for attr in ("y_kind_", "classes_", "z_classes_", "y_dim_"):
            self.__dict__.pop(attr, None)  # a refit must not keep the previous fit's attributes
        if self.y_kind == "discrete":
            self.classes_, counts = np.unique(y_arr, return_counts=True)
            self._warn_small_classes(counts)
        else:
            self.y_dim_ = int(y_arr.shape[1])
        if self.z_kind == "discrete":
            self.z_classes_ = np.unique(z_arr)
        self.n_samples_ = int(y_arr.shape[0])
        self.z_dim_ = 1 if z_arr.ndim == 1 else int(z_arr.shape[1])
        # Kept for ``to_inference_data`` (observed_data group).
        self._y_obs, self._z_obs = y_arr, z_arr
        self.n_covariates_ = 0 if c_arr is None else int(c_arr.shape[1])
        if c_arr is None:
            self._fit(y_arr, z_arr, random_state)
        else:
            self._fit(y_arr, z_arr, random_state, c=c_arr)
        self.y_kind_ = self.y_kind  # set last: a failed fit leaves the instance unfitted
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

    def _log_prob_grid(self, z: torch.Tensor, y_values: torch.Tensor, draws: Draws) -> torch.Tensor:
        """``log p(z_n | y_m, θ_s)``, shape (S, N, M); default: one ``_log_prob_rows`` per value."""
        n = z.shape[0]
        columns = [
            self._log_prob_rows(z, y_values[m].expand((n, *y_values.shape[1:])), draws)
            for m in range(y_values.shape[0])
        ]
        return torch.stack(columns, dim=-1)

    def log_prob(self, z, y_values, draws: Draws | None = None, covariates=None) -> torch.Tensor:
        """``log p(z_n | y_m, [c_n,] θ_s)`` for every draw, row and intervention value.

        Parameters
        ----------
        z : array-like of shape (n_samples,) or (n_samples, d_z)
        y_values : array-like of shape (n_values,) or (n_values, d_y)
            Intervention values ``y_m``; for discrete ``y`` each must be an observed class.
        draws : dict of str to Tensor, optional
            Posterior draws from ``sample_posterior``; default the posterior mean (S = 1).
        covariates : array-like of shape (n_samples, q)
            Each row's covariates; required exactly when ``fit`` had them.

        Returns
        -------
        torch.Tensor of shape (S, n_samples, n_values), float64
        """
        self._check_is_fitted()
        draws = self.posterior_mean() if draws is None else self._check_draws(draws)
        z_t = self._z_tensor(z)
        y_idx = self._y_tensor(y_values, name="y_values")
        return self._log_prob_grid(z_t, y_idx, draws, **self._c_kwarg(covariates, z_t.shape[0]))

    def log_prob_observed(self, z, y, draws: Draws | None = None, covariates=None):
        """``log p(z_n | y_n, [c_n,] θ_s)`` at each row's own ``y``: tensor (S, n_samples)."""
        self._check_is_fitted()
        draws = self.posterior_mean() if draws is None else self._check_draws(draws)
        z_t = self._z_tensor(z)
        y_t = self._y_tensor(y, name="y")
        check_consistent_length(y=y_t, z=z_t)
        return self._log_prob_rows(z_t, y_t, draws, **self._c_kwarg(covariates, z_t.shape[0]))

    def _c_kwarg(self, covariates, n_rows: int) -> dict:
        """``{"c": tensor}`` for a mechanism fitted with covariates, else ``{}``; checked."""
        q = getattr(self, "n_covariates_", 0)
        if q == 0:
            if covariates is not None:
                raise ValueError(
                    f"covariates were given, but this {type(self).__name__} was fitted "
                    "without them; refit with fit(y, z, covariates=...)."
                )
            return {}
        if covariates is None:
            raise ValueError(
                f"this {type(self).__name__} was fitted with {q} covariate column(s); pass "
                "covariates= with one row per row of z (or of y for sample_z)."
            )
        c = check_array(covariates, "covariates", ndim=2, allow_1d=True)
        if c.shape != (n_rows, q):
            raise ValueError(f"covariates must have shape ({n_rows}, {q}); got {c.shape}.")
        return {"c": torch.as_tensor(c, dtype=torch.float64)}

    def _sample_rows(self, y: torch.Tensor, draws: Draws) -> torch.Tensor:
        """``z_r ~ p(z | y_r, θ_s)`` for every draw and row, from torch's global generator.

        ``y`` is as in ``_log_prob_rows``. Returns float64 (S, R, d_z), or int64 codes (S, R)
        for a discrete ``z``.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot sample z.")

    def sample_z(
        self, y, draws: Draws | None = None, random_state=None, covariates=None
    ) -> np.ndarray:
        r"""Draw :math:`z_{sr} \sim p(z \mid y_r, \theta_s)` for every draw and row.

        This is the mechanism half of the front-door formula's ancestral sampler (the
        g-formula resampler): ``y`` holds intervention values, one per requested row.

        Parameters
        ----------
        y : array-like of shape (n_rows,) or (n_rows, d_y)
            Values of the cause; discrete ones must be classes seen in ``fit``.
        draws : dict of str to Tensor, optional
            Posterior draws from ``sample_posterior``; default the posterior mean (S = 1).
        random_state : None, int or numpy RandomState/Generator
            The same seed gives the same rows.
        covariates : array-like of shape (n_rows, q)
            Each row's covariates; required exactly when ``fit`` had them.

        Returns
        -------
        ndarray of shape (S, n_rows), (S, n_rows, d_z)
            Values of ``z`` as in ``fit``: labels for a discrete ``z``, float64 otherwise; a
            1-D ``z`` in ``fit`` gives (S, n_rows).

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_mech.mechanisms import GaussianMechanism
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat([0, 1], 500)
        >>> mech = GaussianMechanism().fit(y, rng.normal(3.0 * y, 1.0))
        >>> z = mech.sample_z(np.full(4000, 1), random_state=0)
        >>> z.shape, bool(abs(z.mean() - 3.0) < 0.15)  # the posterior mean of mu_1 is ~3
        ((1, 4000), True)
        """
        from bayes_mech.mechanisms._utils import seeded

        self._check_is_fitted()
        draws = self.posterior_mean() if draws is None else self._check_draws(draws)
        y_t = self._y_tensor(y, name="y")
        c_kw = self._c_kwarg(covariates, y_t.shape[0])
        with seeded(random_state):
            z = self._sample_rows(y_t, draws, **c_kw)
        if self.z_kind == "discrete":
            return self.z_classes_[z.detach().cpu().numpy()]
        z = z.detach().cpu().numpy().astype(np.float64, copy=False)
        return z[..., 0] if getattr(self, "_z_input_1d", False) else z

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

    def _check_draws(self, draws) -> Draws:
        """Check that ``draws`` holds this mechanism's parameters with one leading draw axis."""
        if not isinstance(draws, dict):
            raise TypeError(
                "draws must be a dict of tensors from sample_posterior; "
                f"got {type(draws).__name__}."
            )
        expected = self.posterior_mean()
        missing = sorted(set(expected) - set(draws))
        if missing:
            raise ValueError(
                f"draws lacks parameter(s) {missing}; expected keys {sorted(expected)} "
                "as returned by sample_posterior."
            )
        out, n_draws = {}, None
        for name, ref in expected.items():
            value = torch.as_tensor(draws[name])
            if value.is_floating_point():
                value = value.to(torch.float64)
            if value.shape[1:] != ref.shape[1:]:
                raise ValueError(
                    f"draws[{name!r}] must have shape (S, {', '.join(map(str, ref.shape[1:]))}); "
                    f"got {tuple(value.shape)}."
                )
            if n_draws is not None and value.shape[0] != n_draws:
                raise ValueError(
                    f"every entry of draws must have the same number of draws S; "
                    f"draws[{name!r}] has {value.shape[0]}, others {n_draws}."
                )
            n_draws = value.shape[0]
            out[name] = value
        return out

    def _warn_small_classes(self, counts: np.ndarray) -> None:
        small = self.classes_[counts < 2]
        if small.size:
            warnings.warn(
                f"class(es) {small.tolist()} of y have fewer than 2 rows "
                f"(counts {counts[counts < 2].tolist()}); the posterior of p(z | y) for "
                "them is mostly prior.",
                MechanismWarning,
                stacklevel=3,
            )

    @staticmethod
    def _encode(values: np.ndarray, classes: np.ndarray, name: str, what: str) -> torch.Tensor:
        """Positions of ``values`` in sorted ``classes``; unseen values raise, naming ``name``."""
        idx = np.clip(np.searchsorted(classes, values), 0, len(classes) - 1)
        unknown = np.unique(values[classes[idx] != values])
        if unknown.size:
            raise ValueError(
                f"{name} holds value(s) {unknown.tolist()} that were never observed as {what}; "
                f"observed values are {classes.tolist()}."
            )
        return torch.as_tensor(idx, dtype=torch.int64)

    def _check_y(self, y, min_rows: int = 2) -> np.ndarray:
        if self.y_kind == "discrete":
            return check_labels(y, "y", min_rows=min_rows)
        return check_array(y, "y", ndim=2, allow_1d=True, min_rows=min_rows)

    def _check_z(self, z, min_rows: int = 2) -> np.ndarray:
        if self.z_kind == "discrete":
            z_arr = check_labels(z, "z", min_rows=min_rows)
            # Every distinct float would otherwise become its own category: silently wrong.
            if z_arr.dtype.kind == "f" and not np.all(z_arr == np.round(z_arr)):
                example = z_arr[z_arr != np.round(z_arr)][0]
                raise ValueError(
                    f"z must hold integer category codes for {type(self).__name__}; got "
                    f"non-integer values such as {example:g}. For a continuous z use "
                    "GaussianMechanism or LinearGaussianMechanism."
                )
            return z_arr
        return check_array(z, "z", ndim=2, allow_1d=True, min_rows=min_rows)

    def _z_tensor(self, z) -> torch.Tensor:
        z_arr = self._check_z(z, min_rows=1)
        if self.z_kind == "discrete":
            return self._encode(z_arr, self.z_classes_, "z", "a value of z in fit")
        if z_arr.shape[1] != self.z_dim_:
            raise ValueError(
                f"z must have {self.z_dim_} column(s) as in fit; got {z_arr.shape[1]}."
            )
        return torch.as_tensor(z_arr, dtype=torch.float64)

    def _y_tensor(self, y, name: str) -> torch.Tensor:
        """Validate ``y`` values; discrete ones become int64 indices into ``classes_``."""
        if self.y_kind == "discrete":
            y_arr = check_labels(y, name)
            return self._encode(y_arr, self.classes_, name, "a class of y")
        y_arr = check_array(y, name, ndim=2, allow_1d=True)
        if y_arr.shape[1] != self.y_dim_:
            raise ValueError(
                f"{name} must have {self.y_dim_} column(s) as y in fit; got {y_arr.shape[1]}."
            )
        return torch.as_tensor(y_arr, dtype=torch.float64)

"""Conjugate mechanisms: exact posteriors of p(z | y, θ) for discrete ``y``.

Each mechanism comes with a Pyro model of the same generative process (``categorical_model``,
``gaussian_model``). The model is the documentation and the check: NUTS on it must agree with the
closed-form posterior (``tests/test_mechanisms_pyro.py``). ``LinearGaussianMechanism`` (continuous
``y``) lives in :mod:`bayes_mech.mechanisms.linear_gaussian` and is re-exported here.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np
import pyro
import pyro.distributions as dist
import torch

from bayes_mech._validation import as_numpy
from bayes_mech.mechanisms._conjugate import ConjugateMechanism, niw_prior
from bayes_mech.mechanisms._distributions import InverseWishart
from bayes_mech.mechanisms._utils import gaussian_log_prob_grid, seeded
from bayes_mech.mechanisms.base import Draws
from bayes_mech.mechanisms.linear_gaussian import LinearGaussianMechanism, linear_gaussian_model

__all__ = [
    "CategoricalMechanism",
    "GaussianMechanism",
    "LinearGaussianMechanism",
    "categorical_model",
    "gaussian_model",
    "linear_gaussian_model",
]

_F64 = torch.float64


# --------------------------------------------------------------------------- categorical
def categorical_model(y, z=None, *, n_classes: int, concentration):
    r"""Categorical mechanism with a Dirichlet prior per class of ``y``.

    .. math::

        π_k &\sim \operatorname{Dirichlet}(α), \quad k = 1, …, K \\
        z_n \mid y_n &\sim \operatorname{Categorical}(π_{y_n}), \quad n = 1, …, N

    Parameters
    ----------
    y : Tensor of shape (N,), int64
        Class codes ``0 … K-1``.
    z : Tensor of shape (N,), int64, optional
        Category codes ``0 … L-1``; observed when given.
    n_classes : int
        ``K``.
    concentration : Tensor of shape (L,)
        Dirichlet concentration ``α``.
    """
    with pyro.plate("y_class", n_classes):
        probs = pyro.sample("probs", dist.Dirichlet(concentration))
    with pyro.plate("data", y.shape[0]):
        return pyro.sample("z", dist.Categorical(probs=probs[..., y, :]), obs=z)


class CategoricalMechanism(ConjugateMechanism):
    r"""Discrete ``y``, discrete ``z``: a Dirichlet–categorical posterior per class of ``y``.

    Prior ``π_k ~ Dirichlet(α)`` (see `categorical_model`); posterior
    ``π_k | D ~ Dirichlet(α + c_k)`` with ``c_k[l] = #{n : y_n = k, z_n = l}``.

    Parameters
    ----------
    prior_concentration : float or array-like of shape (n_z_categories,), default=1.0
        Dirichlet concentration ``α``. The default 1 is the uniform prior on the simplex (add-one
        smoothing); it is scale-free, so there is nothing to scale to the data.
    z_categories : array-like of int, optional
        All values ``z`` can take. Default: the values observed in ``fit``. Give it when some
        category may be absent from the data but must get probability.

    Attributes
    ----------
    classes_ : ndarray of shape (K,)
        Classes of ``y``.
    z_classes_ : ndarray of shape (L,)
        Categories of ``z``.
    concentration_ : Tensor of shape (K, L)
        Posterior Dirichlet concentration ``α + c_k``.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> z = np.array([0, 0, 1, 1, 1, 1])
    >>> mech = CategoricalMechanism().fit(y, z)
    >>> mech.posterior_mean()["probs"]
    tensor([[[0.6000, 0.4000],
             [0.2000, 0.8000]]], dtype=torch.float64)
    >>> mech.log_prob(z, [0, 1]).shape          # (S, N, M)
    torch.Size([1, 6, 2])
    >>> mech.sample_posterior(100, random_state=0)["probs"].shape
    torch.Size([100, 2, 2])
    """

    y_kind = "discrete"
    z_kind = "discrete"
    _param_dims: ClassVar[dict[str, list[str]]] = {"probs": ["y_class", "z_class"]}

    def __init__(self, prior_concentration=1.0, z_categories=None):
        self.prior_concentration = prior_concentration
        self.z_categories = z_categories

    def fit(self, y, z, random_state=None):
        """Compute the Dirichlet posterior per class; see `Mechanism.fit`."""
        return super().fit(y, z, random_state)

    def _fit(self, y, z, random_state) -> None:
        if self.z_categories is not None:
            cats = np.unique(as_numpy(self.z_categories, "z_categories").astype(np.int64))
            missing = np.setdiff1d(self.z_classes_, cats)
            if missing.size:
                raise ValueError(
                    f"z holds value(s) {missing.tolist()} not listed in z_categories "
                    f"{cats.tolist()}."
                )
            self.z_classes_ = cats
        n_cat = len(self.z_classes_)
        if n_cat < 2:
            raise ValueError(
                f"z must take at least 2 categories; got only {self.z_classes_.tolist()}. "
                "Pass z_categories to declare the support."
            )
        alpha = as_numpy(self.prior_concentration, "prior_concentration").astype(np.float64)
        alpha = np.broadcast_to(alpha, (n_cat,)) if alpha.ndim == 0 else alpha
        if alpha.shape != (n_cat,) or not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
            raise ValueError(
                f"prior_concentration must be a positive scalar or have shape ({n_cat},); "
                f"got {self.prior_concentration!r}."
            )
        y_idx = np.searchsorted(self.classes_, y)
        z_idx = np.searchsorted(self.z_classes_, z)
        counts = np.zeros((len(self.classes_), n_cat))
        np.add.at(counts, (y_idx, z_idx), 1.0)
        self.prior_concentration_ = torch.as_tensor(alpha.copy(), dtype=_F64)
        self.concentration_ = torch.as_tensor(alpha[None, :] + counts, dtype=_F64)

    def sample_posterior(self, n_draws: int, random_state=None) -> Draws:
        """Draws of ``probs`` of shape (n_draws, K, L) from ``Dirichlet(α + c_k)``."""
        self._check_is_fitted()
        n_draws = self._check_n_draws(n_draws)
        with seeded(random_state):
            probs = dist.Dirichlet(self.concentration_).sample((n_draws,))
        return {"probs": probs}

    def posterior_mean(self) -> Draws:
        """``E[π_k | D] = (α + c_k) / Σ_l (α + c_k)_l`` with a leading axis of length 1."""
        self._check_is_fitted()
        conc = self.concentration_
        return {"probs": (conc / conc.sum(-1, keepdim=True))[None]}

    def _log_prob_rows(self, z, y, draws):
        # probs[s, y_n, z_n] for every draw s at once.
        return draws["probs"][:, y, z].log()

    def _log_prob_grid(self, z, y_values, draws):
        log_p = draws["probs"][:, y_values, :].log()  # (S, M, L)
        return log_p[:, :, z].transpose(1, 2)  # (S, N, M)

    def _sample_rows(self, y, draws):
        return dist.Categorical(probs=draws["probs"][:, y]).sample()  # (S, R) codes

    def pyro_model(self):
        """`categorical_model` with this fit's ``K`` and prior bound: ``model(y, z=None)``."""
        self._check_is_fitted()
        return functools.partial(
            categorical_model,
            n_classes=len(self.classes_),
            concentration=self.prior_concentration_,
        )

    def _coords(self):
        return {"y_class": self.classes_, "z_class": self.z_classes_}

    def _observed(self):
        return {"y": self._y_obs, "z": self._z_obs}, {"y": ["obs"], "z": ["obs"]}


# ------------------------------------------------------------------------------ gaussian
def gaussian_model(y, z=None, *, n_classes: int, prior_mean, prior_kappa, prior_df, prior_scale):
    r"""Gaussian mechanism with a normal-inverse-Wishart prior per class of ``y``.

    .. math::

        Σ_k &\sim \operatorname{IW}(ν_0, Ψ_0), \quad
        μ_k \mid Σ_k \sim \mathcal N(m_0, Σ_k / κ_0), \quad k = 1, …, K \\
        z_n \mid y_n &\sim \mathcal N(μ_{y_n}, Σ_{y_n}), \quad n = 1, …, N

    Parameters
    ----------
    y : Tensor of shape (N,), int64
        Class codes ``0 … K-1``.
    z : Tensor of shape (N, d) or (N,), float64, optional
        Observed when given.
    n_classes : int
        ``K``.
    prior_mean : Tensor of shape (d,)
    prior_kappa, prior_df : float
    prior_scale : Tensor of shape (d, d)
    """
    if z is not None and z.dim() == 1:
        z = z[:, None]
    with pyro.plate("y_class", n_classes):
        cov = pyro.sample("covariance_matrix", InverseWishart(prior_df, prior_scale))
        loc = pyro.sample(
            "loc", dist.MultivariateNormal(prior_mean, covariance_matrix=cov / prior_kappa)
        )
    with pyro.plate("data", y.shape[0]):
        return pyro.sample(
            "z",
            dist.MultivariateNormal(loc[..., y, :], covariance_matrix=cov[..., y, :, :]),
            obs=z,
        )


class GaussianMechanism(ConjugateMechanism):
    r"""Discrete ``y``, continuous ``z ∈ R^d``: a normal-inverse-Wishart posterior per class.

    Prior (see `gaussian_model`): ``Σ_k ~ IW(ν₀, Ψ₀)``, ``μ_k | Σ_k ~ N(m₀, Σ_k/κ₀)``. With
    ``n_k`` rows of class ``k``, their mean ``z̄_k`` and scatter ``S_k = Σ (z − z̄_k)(z − z̄_k)ᵀ``
    the posterior is NIW with

    .. math::

        κ_k = κ_0 + n_k, \quad m_k = \frac{κ_0 m_0 + n_k \bar z_k}{κ_k}, \quad ν_k = ν_0 + n_k, \\
        Ψ_k = Ψ_0 + S_k + \frac{κ_0 n_k}{κ_k}(\bar z_k - m_0)(\bar z_k - m_0)^\top .

    Parameters
    ----------
    prior_mean : array-like of shape (d,), optional
        ``m₀``. Default: the pooled mean of ``z``.
    prior_kappa : float, default=0.01
        ``κ₀``, prior pseudo-rows for the mean: the prior sd of ``μ_k`` is ``10`` within-class sds.
    prior_df : float, optional
        ``ν₀ > d − 1``. Default ``d + 2``, the fewest degrees of freedom with a finite prior mean.
    prior_scale : float, array-like of shape (d,) or (d, d), optional
        ``Ψ₀``. Default ``max(ν₀ − d − 1, 1) · diag(Var z)``, so that ``E[Σ_k]`` is the pooled
        per-dimension variance of ``z`` (an upper bound on the within-class spread).

    Attributes
    ----------
    classes_ : ndarray of shape (K,)
    post_mean_, post_kappa_, post_df_, post_scale_ : Tensor
        NIW posterior parameters, shapes (K, d), (K,), (K,), (K, d, d).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 50)
    >>> z = rng.normal(loc=1.0 + 3.0 * y[:, None], size=(100, 2))
    >>> mech = GaussianMechanism().fit(y, z)
    >>> mech.posterior_mean()["loc"].round()            # (S=1, K, d)
    tensor([[[1., 1.],
             [4., 4.]]], dtype=torch.float64)
    >>> draws = mech.sample_posterior(8, random_state=0)
    >>> draws["covariance_matrix"].shape
    torch.Size([8, 2, 2, 2])
    >>> mech.log_prob(z, [0, 1], draws).shape    # (S, N, M)
    torch.Size([8, 100, 2])
    """

    y_kind = "discrete"
    z_kind = "continuous"
    _param_dims: ClassVar[dict[str, list[str]]] = {
        "loc": ["y_class", "z_dim"],
        "covariance_matrix": ["y_class", "z_dim", "z_dim_bis"],
    }

    def __init__(self, prior_mean=None, prior_kappa=0.01, prior_df=None, prior_scale=None):
        self.prior_mean = prior_mean
        self.prior_kappa = prior_kappa
        self.prior_df = prior_df
        self.prior_scale = prior_scale

    def fit(self, y, z, random_state=None):
        """Compute the NIW posterior per class; see `Mechanism.fit`."""
        return super().fit(y, z, random_state)

    def _fit(self, y, z, random_state) -> None:
        m0, kappa0, nu0, psi0 = niw_prior(
            z, self.prior_mean, self.prior_kappa, self.prior_df, self.prior_scale
        )
        self.prior_ = {"mean": m0, "kappa": kappa0, "df": nu0, "scale": psi0}
        k, d = len(self.classes_), z.shape[1]
        means, kappas, dfs, scales = np.empty((k, d)), np.empty(k), np.empty(k), np.empty((k, d, d))
        for i, cls in enumerate(self.classes_):  # a loop over the K classes, not the rows
            zk = z[y == cls]
            n_k, zbar = zk.shape[0], zk.mean(axis=0)
            resid = zk - zbar
            kappas[i] = kappa0 + n_k
            means[i] = (kappa0 * m0 + n_k * zbar) / kappas[i]
            dfs[i] = nu0 + n_k
            dev = (zbar - m0)[:, None]
            scales[i] = psi0 + resid.T @ resid + (kappa0 * n_k / kappas[i]) * (dev @ dev.T)
        self.post_mean_ = torch.as_tensor(means, dtype=_F64)
        self.post_kappa_ = torch.as_tensor(kappas, dtype=_F64)
        self.post_df_ = torch.as_tensor(dfs, dtype=_F64)
        self.post_scale_ = torch.as_tensor(scales, dtype=_F64)

    def sample_posterior(self, n_draws: int, random_state=None) -> Draws:
        """Draws ``loc`` (n_draws, K, d) and ``covariance_matrix`` (n_draws, K, d, d)."""
        self._check_is_fitted()
        n_draws = self._check_n_draws(n_draws)
        with seeded(random_state):
            cov = InverseWishart(self.post_df_, self.post_scale_).sample((n_draws,))
            cov = 0.5 * (cov + cov.mT)  # symmetric to rounding, as MultivariateNormal checks
            loc = dist.MultivariateNormal(
                self.post_mean_, covariance_matrix=cov / self.post_kappa_[:, None, None]
            ).sample()
        return {"loc": loc, "covariance_matrix": cov}

    def posterior_mean(self) -> Draws:
        """``E[μ_k] = m_k`` and ``E[Σ_k] = Ψ_k / (ν_k − d − 1)`` (the mode if that is undefined)."""
        self._check_is_fitted()
        d = self.z_dim_
        denom = self.post_df_ - d - 1.0
        # The mean of an inverse-Wishart needs ν > d + 1; below that fall back to the mode.
        denom = torch.where(denom > 0, denom, self.post_df_ + d + 1.0)
        cov = self.post_scale_ / denom[:, None, None]
        return {"loc": self.post_mean_[None], "covariance_matrix": cov[None]}

    def _log_prob_rows(self, z, y, draws):
        chol = torch.linalg.cholesky(draws["covariance_matrix"])[:, y]  # (S, N, d, d)
        return dist.MultivariateNormal(draws["loc"][:, y], scale_tril=chol).log_prob(z)

    def _log_prob_grid(self, z, y_values, draws):
        chol = torch.linalg.cholesky(draws["covariance_matrix"][:, y_values])  # (S, M, d, d)
        return gaussian_log_prob_grid(z, draws["loc"][:, y_values], chol)  # (S, N, M)

    def _sample_rows(self, y, draws):
        # One Cholesky factor per (draw, class), gathered per row: (S, R, d, d).
        chol = torch.linalg.cholesky(draws["covariance_matrix"])[:, y]
        return dist.MultivariateNormal(draws["loc"][:, y], scale_tril=chol).sample()

    def pyro_model(self):
        """`gaussian_model` with this fit's ``K`` and prior bound: ``model(y, z=None)``."""
        self._check_is_fitted()
        p = self.prior_
        return functools.partial(
            gaussian_model,
            n_classes=len(self.classes_),
            prior_mean=torch.as_tensor(p["mean"], dtype=_F64),
            prior_kappa=torch.tensor(p["kappa"], dtype=_F64),
            prior_df=torch.tensor(p["df"], dtype=_F64),
            prior_scale=torch.as_tensor(p["scale"], dtype=_F64),
        )

    def _coords(self):
        dims = np.arange(self.z_dim_)
        return {"y_class": self.classes_, "z_dim": dims, "z_dim_bis": dims}

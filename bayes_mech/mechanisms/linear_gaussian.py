"""Continuous ``y``: Bayesian multivariate regression of ``z`` on a polynomial basis of ``y``."""

from __future__ import annotations

import functools
from itertools import combinations_with_replacement
from typing import ClassVar

import numpy as np
import pyro
import pyro.distributions as dist
import torch

from bayes_mech._validation import as_numpy, check_positive_int
from bayes_mech.mechanisms._conjugate import ConjugateMechanism, niw_prior
from bayes_mech.mechanisms._distributions import InverseWishart
from bayes_mech.mechanisms._utils import gaussian_log_prob_grid, seeded
from bayes_mech.mechanisms.base import Draws

__all__ = ["LinearGaussianMechanism", "linear_gaussian_model", "polynomial_features"]

_F64 = torch.float64


def _monomials(d_y: int, degree: int) -> list[tuple[int, ...]]:
    """Index tuples of all monomials of total degree ≤ ``degree`` (``()`` is the intercept)."""
    return [c for k in range(degree + 1) for c in combinations_with_replacement(range(d_y), k)]


def polynomial_features(u: torch.Tensor, degree: int) -> torch.Tensor:
    """``φ(u)``: every monomial of the columns of ``u`` of total degree ≤ ``degree``.

    Parameters
    ----------
    u : Tensor of shape (..., d_y)
    degree : int

    Returns
    -------
    Tensor of shape (..., P)
        Ordered by degree as scikit-learn's ``PolynomialFeatures``: ``1, u_1, …, u_1², u_1u_2, …``.

    Examples
    --------
    >>> polynomial_features(torch.tensor([[2.0, 3.0]], dtype=torch.float64), 2)
    tensor([[1., 2., 3., 4., 6., 9.]], dtype=torch.float64)
    """
    ones = torch.ones(u.shape[:-1], dtype=u.dtype, device=u.device)
    cols = [u[..., list(c)].prod(-1) if c else ones for c in _monomials(u.shape[-1], degree)]
    return torch.stack(cols, dim=-1)


def linear_gaussian_model(
    y,
    z=None,
    *,
    degree,
    y_mean,
    y_scale,
    coef_prior_mean,
    coef_prior_scale,
    prior_df,
    prior_scale,
    covariates=None,
    c_mean=None,
    c_scale=None,
    basis=None,
):
    r"""Linear-Gaussian mechanism with a matrix-normal-inverse-Wishart prior.

    With ``u = (y − ȳ) / s_y`` and ``φ(u)`` the ``P`` monomials of degree ≤ ``degree``:

    .. math::

        Σ &\sim \operatorname{IW}(ν_0, Ψ_0) \\
        W_p \mid Σ &\sim \mathcal N(M_{0,p}, v_p^2 Σ), \quad p = 1, …, P
            \quad (W \sim \mathcal{MN}(M_0, \operatorname{diag}(v^2), Σ)) \\
        z_n \mid y_n &\sim \mathcal N(W^\top φ(u_n), Σ), \quad n = 1, …, N

    ``W`` (site ``"coef"``, shape (P, d_z)) is ``Bᵀ`` in ``z = B φ(y) + ε``; ``basis``, when
    given, replaces the polynomial ``φ`` (it gets ``y`` of shape (N,)). With
    ``covariates`` ``c`` (N, q), the standardised ``(c − c̄) / s_c`` are appended to ``φ``
    (``P`` counts them too): the conditional mechanism ``p(z | y, c)``.

    Parameters
    ----------
    y : Tensor of shape (N,) or (N, d_y), float64
    z : Tensor of shape (N, d_z) or (N,), float64, optional
    degree : int
    y_mean, y_scale : Tensor of shape (d_y,)
    coef_prior_mean : Tensor of shape (P, d_z)
    coef_prior_scale : Tensor of shape (P,)
    prior_df : float
    prior_scale : Tensor of shape (d_z, d_z)
    """
    if y.dim() == 1:
        y = y[:, None]
    if z is not None and z.dim() == 1:
        z = z[:, None]
    if basis is None:
        phi = polynomial_features((y - y_mean) / y_scale, degree)  # (N, P)
    else:  # another basis of y, e.g. one-hot classes (ConditionalGaussianMechanism)
        phi = basis(y[:, 0])
    if covariates is not None:
        phi = torch.cat([phi, (covariates - c_mean) / c_scale], dim=-1)
    cov = pyro.sample("covariance_matrix", InverseWishart(prior_df, prior_scale))
    with pyro.plate("feature", phi.shape[-1]):
        row_cov = coef_prior_scale[:, None, None] ** 2 * cov  # broadcasts over a draw plate
        coef = pyro.sample("coef", dist.MultivariateNormal(coef_prior_mean, row_cov))
    with pyro.plate("data", y.shape[0]):
        return pyro.sample("z", dist.MultivariateNormal(phi @ coef, covariance_matrix=cov), obs=z)


class LinearGaussianMechanism(ConjugateMechanism):
    r"""Continuous ``y``, continuous ``z``: ``z = B φ(y) + ε``, ``ε ~ N(0, Σ)``, exact posterior.

    ``φ`` is a polynomial basis (with intercept) of the standardised ``y``; see
    `linear_gaussian_model` for the prior. With ``Φ`` (N, P) and ``Z`` (N, d_z) the posterior is
    matrix-normal-inverse-Wishart, ``W | Σ ~ MN(M_N, V_N, Σ)``, ``Σ ~ IW(ν_N, Ψ_N)``:

    .. math::

        V_N &= (V_0^{-1} + Φ^\top Φ)^{-1}, \quad M_N = V_N (V_0^{-1} M_0 + Φ^\top Z),
        \quad ν_N = ν_0 + N, \\
        Ψ_N &= Ψ_0 + Z^\top Z + M_0^\top V_0^{-1} M_0 - M_N^\top V_N^{-1} M_N .

    Parameters
    ----------
    degree : int, default=1
        Degree of the polynomial basis; 1 is a straight line (intercept and slopes).
    standardize : bool, default=True
        Build ``φ`` on ``(y − ȳ) / sd(y)`` so that the coefficient prior is scale-free.
    coef_prior_mean : array-like of shape (P, d_z), optional
        ``M₀``. Default: the mean of ``z`` for the intercept row, 0 elsewhere.
    coef_prior_scale : float or array-like of shape (P,), default=10.0
        ``v``, so ``V₀ = diag(v²)``: a coefficient's prior sd is ``v`` noise sds per unit of its
        feature (per sd of ``y`` when standardised), weak against any plausible effect.
    prior_df : float, optional
        ``ν₀ > d_z − 1``; default ``d_z + 2``.
    prior_scale : float, array-like of shape (d_z,) or (d_z, d_z), optional
        ``Ψ₀``; default ``max(ν₀ − d_z − 1, 1) · diag(Var z)`` so that ``E[Σ] = diag(Var z)``.

    Attributes
    ----------
    feature_names_ : list of str
        Names of the ``P`` features, e.g. ``["1", "y0", "y0^2"]``.
    y_mean_, y_scale_ : Tensor of shape (d_y,)
        Standardisation of ``y`` (0 and 1 when ``standardize=False``).
    post_coef_mean_, post_row_cov_, post_df_, post_scale_ : Tensor
        ``M_N`` (P, d_z), ``V_N`` (P, P), ``ν_N`` (), ``Ψ_N`` (d_z, d_z).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=200)
    >>> z = 1.0 + 2.0 * y + 0.1 * rng.normal(size=200)
    >>> mech = LinearGaussianMechanism(standardize=False).fit(y, z)
    >>> mech.posterior_mean()["coef"].round(decimals=1)      # (S=1, P, d_z): intercept, slope
    tensor([[[1.],
             [2.]]], dtype=torch.float64)
    >>> mech.log_prob(z, [-1.0, 0.0, 1.0]).shape            # (S, N, M)
    torch.Size([1, 200, 3])
    """

    y_kind = "continuous"
    z_kind = "continuous"
    _param_dims: ClassVar[dict[str, list[str]]] = {
        "coef": ["feature", "z_dim"],
        "covariance_matrix": ["z_dim", "z_dim_bis"],
    }

    def __init__(
        self,
        degree=1,
        standardize=True,
        coef_prior_mean=None,
        coef_prior_scale=10.0,
        prior_df=None,
        prior_scale=None,
    ):
        self.degree = degree
        self.standardize = standardize
        self.coef_prior_mean = coef_prior_mean
        self.coef_prior_scale = coef_prior_scale
        self.prior_df = prior_df
        self.prior_scale = prior_scale

    supports_covariates = True

    def fit(self, y, z, random_state=None, covariates=None):
        """Compute the matrix-normal-inverse-Wishart posterior; see `Mechanism.fit`.

        With ``covariates`` ``c`` (N, q) the model is ``z = B [φ(y), (c − c̄)/s_c] + ε``: the
        conditional mechanism ``p(z | y, c)`` of the conditional front door.
        """
        return super().fit(y, z, random_state, covariates=covariates)

    def _y_basis_setup(self, y: np.ndarray) -> list[str]:
        """Fix the basis of ``y`` from the data; return the names of its columns."""
        degree = check_positive_int(self.degree, "degree", minimum=1)
        sd = y.std(axis=0)
        if np.any(sd <= 0):
            raise ValueError(
                f"y column(s) {np.flatnonzero(sd <= 0).tolist()} are constant; a regression of z "
                "on a constant y cannot learn p(z | y). Use a discrete mechanism or vary y."
            )
        d_y = y.shape[1]
        self.y_mean_ = torch.as_tensor(y.mean(axis=0) if self.standardize else np.zeros(d_y))
        self.y_scale_ = torch.as_tensor(sd if self.standardize else np.ones(d_y))
        self.degree_ = degree
        return [
            "*".join(f"y{i}" if c.count(i) == 1 else f"y{i}^{c.count(i)}" for i in sorted(set(c)))
            or "1"
            for c in _monomials(d_y, degree)
        ]

    def _y_basis(self, y: torch.Tensor) -> torch.Tensor:
        return polynomial_features((y - self.y_mean_) / self.y_scale_, self.degree_)

    def _prior_coef_mean(self, z: np.ndarray, p: int) -> np.ndarray:
        """Default ``M₀``: the mean of ``z`` on the intercept row, 0 elsewhere."""
        m0 = np.zeros((p, z.shape[1]))
        m0[0] = z.mean(axis=0)
        return m0

    def _fit(self, y, z, random_state, c=None) -> None:
        d_z = z.shape[1]
        names = self._y_basis_setup(y)
        self.n_y_features_ = len(names)
        if c is not None:
            sd = c.std(axis=0)
            if np.any(sd <= 0):
                raise ValueError(
                    f"covariates column(s) {np.flatnonzero(sd <= 0).tolist()} are constant; a "
                    "constant covariate carries no information. Drop it."
                )
            self.c_mean_, self.c_scale_ = torch.as_tensor(c.mean(axis=0)), torch.as_tensor(sd)
            names = names + [f"c{j}" for j in range(c.shape[1])]
        self.feature_names_ = names
        p = len(names)
        _, _, nu0, psi0 = niw_prior(z, None, 1.0, self.prior_df, self.prior_scale)
        if self.coef_prior_mean is None:
            m0 = self._prior_coef_mean(z, p)
        else:
            m0 = np.array(as_numpy(self.coef_prior_mean, "coef_prior_mean"), dtype=np.float64)
            if m0.shape != (p, d_z):
                raise ValueError(f"coef_prior_mean must have shape ({p}, {d_z}); got {m0.shape}.")
        v = np.array(as_numpy(self.coef_prior_scale, "coef_prior_scale"), dtype=np.float64)
        v = np.broadcast_to(v, (p,)).copy() if v.ndim == 0 else v
        if v.shape != (p,) or not np.all(np.isfinite(v)) or np.any(v <= 0):
            raise ValueError(
                f"coef_prior_scale must be a positive scalar or have shape ({p},); "
                f"got {self.coef_prior_scale!r}."
            )
        self.prior_ = {"coef_mean": m0, "coef_scale": v, "df": nu0, "scale": psi0}

        c_t = None if c is None else torch.as_tensor(c)
        phi = self._features(torch.as_tensor(y), c_t).numpy()
        v0_inv = np.diag(1.0 / v**2)
        precision = v0_inv + phi.T @ phi
        v_n = np.linalg.inv(precision)
        v_n = 0.5 * (v_n + v_n.T)
        m_n = v_n @ (v0_inv @ m0 + phi.T @ z)
        psi_n = psi0 + z.T @ z + m0.T @ v0_inv @ m0 - m_n.T @ precision @ m_n
        self.post_coef_mean_ = torch.as_tensor(m_n, dtype=_F64)
        self.post_row_cov_ = torch.as_tensor(v_n, dtype=_F64)
        self.post_df_ = torch.tensor(nu0 + z.shape[0], dtype=_F64)
        self.post_scale_ = torch.as_tensor(0.5 * (psi_n + psi_n.T), dtype=_F64)

    def _features(self, y: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        phi = self._y_basis(y)
        if c is None:
            return phi
        return torch.cat([phi, (c - self.c_mean_) / self.c_scale_], dim=-1)

    def sample_posterior(self, n_draws: int, random_state=None) -> Draws:
        """Draws ``coef`` (n_draws, P, d_z) and ``covariance_matrix`` (n_draws, d_z, d_z)."""
        self._check_is_fitted()
        n_draws = self._check_n_draws(n_draws)
        with seeded(random_state):
            cov = InverseWishart(self.post_df_, self.post_scale_).sample((n_draws,))
            cov = 0.5 * (cov + cov.mT)
            noise = torch.randn((n_draws, *self.post_coef_mean_.shape), dtype=_F64)
        # W = M_N + A E Bᵀ with A Aᵀ = V_N and B Bᵀ = Σ is matrix normal MN(M_N, V_N, Σ).
        row_chol = torch.linalg.cholesky(self.post_row_cov_)
        coef = self.post_coef_mean_ + row_chol @ noise @ torch.linalg.cholesky(cov).mT
        return {"coef": coef, "covariance_matrix": cov}

    def posterior_mean(self) -> Draws:
        """``E[W] = M_N`` and ``E[Σ] = Ψ_N / (ν_N − d_z − 1)``."""
        self._check_is_fitted()
        denom = self.post_df_ - self.z_dim_ - 1.0
        denom = denom if denom > 0 else self.post_df_ + self.z_dim_ + 1.0  # mode if no mean
        return {
            "coef": self.post_coef_mean_[None],
            "covariance_matrix": (self.post_scale_ / denom)[None],
        }

    def _log_prob_rows(self, z, y, draws, c=None):
        loc = self._features(y, c) @ draws["coef"]  # (S, N, d_z)
        chol = torch.linalg.cholesky(draws["covariance_matrix"])[:, None]
        return dist.MultivariateNormal(loc, scale_tril=chol).log_prob(z)

    def _log_prob_grid(self, z, y_values, draws, c=None):
        p_y = self.n_y_features_
        loc = self._y_basis(y_values) @ draws["coef"][:, :p_y]  # (S, M, d_z)
        if c is not None:  # the covariates' part of the mean varies by row, not by value
            z = z - ((c - self.c_mean_) / self.c_scale_) @ draws["coef"][:, p_y:]  # (S, N, d_z)
        chol = torch.linalg.cholesky(draws["covariance_matrix"])[:, None]  # (S, 1, d, d)
        return gaussian_log_prob_grid(z, loc, chol)  # (S, N, M)

    def _sample_rows(self, y, draws, c=None):
        loc = self._features(y, c) @ draws["coef"]  # (S, R, d_z)
        chol = torch.linalg.cholesky(draws["covariance_matrix"])[:, None]
        return dist.MultivariateNormal(loc, scale_tril=chol).sample()

    def pyro_model(self):
        """`linear_gaussian_model` with this fit's basis and prior bound: ``model(y, z=None)``,
        plus ``covariates=c`` (N, q) when fitted with covariates."""
        self._check_is_fitted()
        p = self.prior_
        kwargs = {
            "degree": self.degree_,
            "y_mean": getattr(self, "y_mean_", None),
            "y_scale": getattr(self, "y_scale_", None),
            "coef_prior_mean": torch.as_tensor(p["coef_mean"], dtype=_F64),
            "coef_prior_scale": torch.as_tensor(p["coef_scale"], dtype=_F64),
            "prior_df": torch.tensor(p["df"], dtype=_F64),
            "prior_scale": torch.as_tensor(p["scale"], dtype=_F64),
            **self._model_basis(),
        }
        if self.n_covariates_:
            kwargs.update(c_mean=self.c_mean_, c_scale=self.c_scale_)
        return functools.partial(linear_gaussian_model, **kwargs)

    def _model_basis(self) -> dict:
        return {}

    def _coords(self):
        dims = np.arange(self.z_dim_)
        return {"feature": self.feature_names_, "z_dim": dims, "z_dim_bis": dims}

r"""Discrete ``y``, categorical ``z``, observed covariates: a Bayesian multinomial-logistic model.

The conditional front door needs :math:`p(z \mid y, c)`. For a categorical ``z`` the Dirichlet
per class of ``y`` (`CategoricalMechanism`) cannot take numeric covariates; the multinomial
logit with one intercept row per class of ``y`` and one slope row per (standardised) covariate
can. Its posterior has no closed form: `LogisticCategoricalMechanism` approximates it by
Laplace's method by default (Newton's method to the mode of the log posterior, which is concave
here, and a Gaussian with the inverse Hessian as covariance; with many rows per coefficient the
posterior of a logit is close to Gaussian), or runs the Pyro model by SVI or NUTS through
`PyroMechanism`.
"""

from __future__ import annotations

import functools

import numpy as np
import pyro
import pyro.distributions as dist
import torch

from bayes_mech._validation import check_array, check_labels, check_positive_int
from bayes_mech.mechanisms._utils import check_positive_float, seeded
from bayes_mech.mechanisms.pyro_mechanism import PyroMechanism

__all__ = [
    "LogisticCategoricalMechanism",
    "laplace_multinomial_logit",
    "multinomial_logistic_model",
]

_F64 = torch.float64


def multinomial_logistic_model(
    y, z=None, covariates=None, *, n_classes, n_categories, prior_scale, c_mean, c_scale
):
    r"""Multinomial logit of ``z`` on the class of ``y`` and the covariates.

    With ``L = n_categories`` and category 0 as the reference (logit 0):

    .. math::

        \alpha_{k l}, \beta_{j l} &\sim \mathcal N(0, \sigma^2), \quad l = 1, …, L - 1 \\
        P(z_n = l \mid y_n = k, c_n) &\propto
            \exp\big(\alpha_{k l} + \textstyle\sum_j \beta_{j l} (c_{nj} - \bar c_j) / s_j\big)

    Parameters
    ----------
    y : Tensor of shape (N,), int64 class codes
    z : Tensor of shape (N,), int64 category codes, optional
    covariates : Tensor of shape (N, q), float64, optional
    n_classes, n_categories : int
    prior_scale : float
        ``σ``: a logit's prior sd (per sd of a covariate for the slopes).
    c_mean, c_scale : Tensor of shape (q,) or None
        Standardisation of the covariates (the fit's).
    """
    one = torch.ones((), dtype=_F64)
    n_free = n_categories - 1
    prior = dist.Normal(0.0 * one, prior_scale * one)
    alpha = pyro.sample("intercept", prior.expand([n_classes, n_free]).to_event(2))
    logits = _unpad(alpha)[..., y, :]  # (..., N, L - 1)
    if covariates is not None:
        beta = pyro.sample("slope", prior.expand([covariates.shape[-1], n_free]).to_event(2))
        logits = logits + ((covariates - c_mean) / c_scale) @ _unpad(beta)
    logits = torch.cat([torch.zeros_like(logits[..., :1]), logits], dim=-1)
    with pyro.plate("data", y.shape[0]):
        return pyro.sample("z", dist.Categorical(logits=logits), obs=z)


def _unpad(param: torch.Tensor) -> torch.Tensor:
    """A matrix parameter without the size-1 dim a vectorised draw plate puts left of it.

    Under an outer plate of draws at dim -2 (Predictive(parallel=True), PyroMechanism's
    log_prob) a global (P, L) site arrives as (S, 1, P, L); the per-row logits must be
    (S, N, L), so the 1 that stands for the data plate goes.
    """
    return param.squeeze(-3) if param.dim() > 2 else param


class LogisticCategoricalMechanism(PyroMechanism):
    r"""Discrete ``y``, categorical ``z``, covariates ``c``: a multinomial logit, by SVI or NUTS.

    See `multinomial_logistic_model`. Without covariates it is a per-class categorical with a
    logistic-normal prior (use `CategoricalMechanism` there: it is exact and instant).

    Parameters
    ----------
    prior_scale : float, default=2.5
        Prior sd of every logit coefficient (covariates are standardised): weak, yet it keeps
        the logits finite when a category is rare in some class.
    inference : {"laplace", "svi", "nuts"}, default="laplace"
        ``"laplace"``: the Gaussian at the posterior mode (exact mode; under a second at
        N = 5,000); ``"svi"``: ``AutoMultivariateNormal`` by stochastic optimisation (the
        same family, reached by noisy steps: ``num_steps`` of them); ``"nuts"``: exact draws.
    num_samples, num_warmup, num_chains, num_steps, learning_rate, progress, num_threads
        As in `PyroMechanism`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y, c = rng.integers(0, 2, 3000), rng.normal(size=3000)
    >>> logit = np.where(y == 1, 1.0, -1.0) + 1.5 * c
    >>> z = (rng.random(3000) < 1 / (1 + np.exp(-logit))).astype(int)
    >>> mech = LogisticCategoricalMechanism().fit(y, z, random_state=0, covariates=c)
    >>> mean = mech.posterior_mean()  # truth: intercepts -1 and 1, slope 1.5 (sd(c) ~ 1)
    >>> mean["intercept"].shape, mean["slope"].shape  # (S=1, classes, L-1), (S=1, q, L-1)
    (torch.Size([1, 2, 1]), torch.Size([1, 1, 1]))
    >>> truth = torch.tensor([-1.0, 1.0, 1.5], dtype=torch.float64)
    >>> bool((torch.cat([mean["intercept"].ravel(), mean["slope"].ravel()]) - truth).abs().max()
    ...      < 0.2)
    True
    """

    y_kind = "discrete"
    z_kind = "discrete"
    _inference_options = ("laplace", "svi", "nuts")
    guide = None
    vectorize = True
    nuts_kwargs = None

    def __init__(
        self,
        prior_scale=2.5,
        inference="laplace",
        num_samples=500,
        num_warmup=300,
        num_chains=1,
        num_steps=1500,
        learning_rate=0.02,
        progress=False,
        num_threads=1,
    ):
        self.prior_scale = prior_scale
        self.inference = inference
        self.num_samples = num_samples
        self.num_warmup = num_warmup
        self.num_chains = num_chains
        self.num_steps = num_steps
        self.learning_rate = learning_rate
        self.progress = progress
        self.num_threads = num_threads

    @property
    def model(self):
        """The model with this fit's sizes, prior and standardisation bound (None before fit)."""
        return getattr(self, "model_", None)

    def fit(self, y, z, random_state=None, covariates=None):
        """Fit the multinomial logit's posterior; see `PyroMechanism.fit`."""
        y_arr, z_arr = check_labels(y, "y", min_rows=2), check_labels(z, "z", min_rows=2)
        c_mean = c_scale = None
        if covariates is not None:
            c = check_array(covariates, "covariates", ndim=2, allow_1d=True, min_rows=2)
            sd = c.std(axis=0)
            if np.any(sd <= 0):
                raise ValueError(
                    f"covariates column(s) {np.flatnonzero(sd <= 0).tolist()} are constant; a "
                    "constant covariate carries no information. Drop it."
                )
            c_mean, c_scale = torch.as_tensor(c.mean(axis=0)), torch.as_tensor(sd)
        self.model_ = functools.partial(
            multinomial_logistic_model,
            n_classes=int(np.unique(y_arr).size),
            n_categories=int(np.unique(z_arr).size),
            prior_scale=check_positive_float(self.prior_scale, "prior_scale"),
            c_mean=c_mean,
            c_scale=c_scale,
        )
        return super().fit(y, z, random_state, covariates=covariates)

    # ----------------------------------------------------------------- Laplace
    def _infer(self, y_t, z_t, rs) -> None:
        if self.inference != "laplace":
            return super()._infer(y_t, z_t, rs)
        num_samples = check_positive_int(self.num_samples, "num_samples")
        design = self._design(y_t)
        n_free = int(self.model_.keywords["n_categories"]) - 1
        mode, cov = laplace_multinomial_logit(
            design, z_t.long(), n_free, float(self.model_.keywords["prior_scale"])
        )
        self.laplace_mode_, self.laplace_cov_ = mode, cov
        with seeded(rs):
            eps = torch.randn((num_samples, mode.numel()), dtype=_F64)
        draws = mode + eps @ torch.linalg.cholesky(cov).mT
        self.samples_ = {k: v[None] for k, v in self._split(draws).items()}

    def _design(self, y_t) -> torch.Tensor:
        """``[onehot(y), (c - c̄) / s_c]``, the rows the logit's coefficients multiply."""
        kw = self.model_.keywords
        cols = [torch.nn.functional.one_hot(y_t.long(), kw["n_classes"]).to(_F64)]
        c = self._kw.get("covariates")
        if c is not None:
            cols.append((c - kw["c_mean"]) / kw["c_scale"])
        return torch.cat(cols, dim=-1)

    def _split(self, flat: torch.Tensor) -> dict:
        """Flat coefficient vectors (..., P) as the model's sites ``intercept`` and ``slope``."""
        kw = self.model_.keywords
        n_classes, n_free = kw["n_classes"], kw["n_categories"] - 1
        W = flat.reshape(*flat.shape[:-1], -1, n_free)
        out = {"intercept": W[..., :n_classes, :]}
        if "slope" in self.latent_sites_:
            out["slope"] = W[..., n_classes:, :]
        return out

    def posterior_mean(self):
        """The posterior mode under ``"laplace"`` (the Gaussian's mean); else the draws' mean."""
        self._check_is_fitted()
        if self.inference != "laplace":
            return super().posterior_mean()
        return {k: v[None] for k, v in self._split(self.laplace_mode_).items()}


def laplace_multinomial_logit(design, z, n_free: int, prior_scale: float, max_iter: int = 100):
    r"""Mode and covariance of the Laplace approximation to a multinomial logit's posterior.

    Coefficients ``W`` (P, L - 1) with ``N(0, σ²)`` priors, logits ``[0, D W]`` per row: the
    log posterior is concave, so Newton's method with a backtracking line search reaches its
    mode; the covariance is the inverse of the negative Hessian there.

    Parameters
    ----------
    design : Tensor of shape (N, P)
    z : Tensor of shape (N,), int64 codes in ``0..L-1``
    n_free : int
        ``L - 1``.
    prior_scale : float
        ``σ``.

    Returns
    -------
    mode : Tensor of shape (P * (L - 1),)
    cov : Tensor of shape (P * (L - 1), P * (L - 1))
    """
    n_params = design.shape[1] * n_free
    rows = torch.arange(design.shape[0])

    def neg_log_post(flat):
        logits = design @ flat.reshape(-1, n_free)
        logits = torch.cat([torch.zeros_like(logits[:, :1]), logits], dim=1)
        nll = -logits.log_softmax(dim=1)[rows, z].sum()
        return nll + 0.5 * flat.square().sum() / prior_scale**2

    theta = torch.zeros(n_params, dtype=_F64)
    value = neg_log_post(theta)
    for _ in range(max_iter):
        grad = torch.autograd.functional.jacobian(neg_log_post, theta)
        hess = torch.autograd.functional.hessian(neg_log_post, theta)
        step = torch.linalg.solve(hess, grad)
        t, new = 1.0, None
        while t > 1e-8:  # backtracking: the full Newton step may overshoot far from the mode
            new = neg_log_post(theta - t * step)
            if new <= value:
                break
            t *= 0.5
        if new is None or new > value:
            break  # no step decreases the objective: theta is the mode to float precision
        gain = float(value - new)
        theta, value = theta - t * step, new
        if gain < 1e-10 * max(1.0, float(abs(value))):
            break
    hess = torch.autograd.functional.hessian(neg_log_post, theta)
    cov = torch.linalg.inv(hess)
    return theta.detach(), 0.5 * (cov + cov.mT).detach()

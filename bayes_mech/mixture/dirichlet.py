"""Weighted variational Dirichlet-process (and finite Dirichlet) Gaussian mixture."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch

from bayes_mech.mixture import _covariances as cov_ops
from bayes_mech.mixture._base import BaseWeightedMixture, _anything, _one_of, _real

__all__ = ["WeightedBayesianGaussianMixture"]


def _positive_or_none(name, value):
    _real(0.0, allow_none=True, strict=True)(name, value)


def _threshold(name, value):
    _real(0.0)(name, value)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}.")


def _betaln(a, b):
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


class WeightedBayesianGaussianMixture(BaseWeightedMixture):
    r"""Variational Bayesian Gaussian mixture (truncated Dirichlet process) with row weights.

    The model is scikit-learn's ``BayesianGaussianMixture`` (Bishop 2006, §10.2; Blei & Jordan
    2006) with every row's contribution multiplied by a weight :math:`\tilde w_n`. Weights enter
    as a tempered likelihood :math:`\prod_n p(x_n \mid \theta)^{\tilde w_n}`, so coordinate-ascent
    VI (CAVI) keeps conjugacy and every sufficient statistic is weighted:

    .. math::

        N_k = \sum_n \tilde w_n r_{nk},\quad
        \bar x_k = \frac{1}{N_k}\sum_n \tilde w_n r_{nk} x_n,\quad
        S_k = \frac{1}{N_k}\sum_n \tilde w_n r_{nk}(x_n-\bar x_k)(x_n-\bar x_k)^\top.

    Updates, with priors :math:`(\alpha_0, \beta_0, m_0, \nu_0, \Psi_0)`:
    stick-breaking :math:`q(v_k)=\mathrm{Beta}(1+N_k,\ \alpha_0+\sum_{j>k}N_j)` (finite variant:
    :math:`q(\pi)=\mathrm{Dir}(\alpha_0+N_k)`); :math:`\beta_k=\beta_0+N_k`,
    :math:`m_k=(\beta_0 m_0+N_k\bar x_k)/\beta_k`, :math:`\nu_k=\nu_0+N_k` and the Wishart scale
    :math:`W_k^{-1}=\Psi_0+N_kS_k+\frac{\beta_0N_k}{\beta_k}(\bar x_k-m_0)(\bar x_k-m_0)^\top`
    (stored normalised, ``covariances_ = W_k⁻¹ / ν_k``). The E-step uses
    :math:`\log\rho_{nk}=\mathbb E[\log\pi_k]+\tfrac12\mathbb E[\log|\Lambda_k|]
    -\tfrac d2\log2\pi-\tfrac d{2\beta_k}-\tfrac{\nu_k}2(x_n-m_k)^\top W_k(x_n-m_k)` and the
    lower bound is scikit-learn's with the entropy term :math:`-\sum_n\tilde w_n\sum_k r_{nk}\log
    r_{nk}` weighted.

    **Weight scale.** Unlike EM, the posterior depends on the *scale* of the weights: the total
    :math:`\sum_n \tilde w_n` plays the role of the sample size against the prior. Front-door
    weights have an arbitrary scale, so by default (``weight_scale="ess"``) they are rescaled to
    sum to their Kish effective sample size :math:`N_{\rm eff}=(\sum w)^2/\sum w^2`: the
    posterior is then as confident as :math:`N_{\rm eff}` unweighted rows would make it, and unit
    weights give exactly scikit-learn's model. ``"sum"`` uses the weights as given (integer weights
    then equal replicated rows) and ``"n_samples"`` rescales them to the number of positive-weight
    rows. Default priors are computed from the weighted data: :math:`m_0` the weighted mean,
    :math:`\Psi_0` the weighted covariance times :math:`T/(T-1)`, ``T`` the scaled weight total
    (:math:`N_{\rm eff}` by default; scikit-learn's ``np.cov`` for unit weights).

    Parameters
    ----------
    n_components : int, default=20
        Truncation level ``K``.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    weight_concentration_prior_type : {"dirichlet_process", "dirichlet_distribution"}
    weight_concentration_prior : float, default=None
        :math:`\alpha_0`; ``None`` means ``1 / n_components``.
    mean_precision_prior : float, default=None
        :math:`\beta_0`; ``None`` means 1.
    mean_prior : array-like of shape (d,), default=None
        :math:`m_0`; ``None`` means the weighted mean of each batch member.
    covariance_prior : float or array-like, default=None
        :math:`\Psi_0`: (d, d) for full/tied, (d,) for diag, a float for spherical.
    degrees_of_freedom_prior : float, default=None
        :math:`\nu_0 > d - 1`; ``None`` means ``d``.
    weight_scale : {"ess", "sum", "n_samples"}, default="ess"
    weight_threshold : float, default=0.01
        ``effective_n_components_`` counts components whose weight exceeds this.
    tol, reg_covar, max_iter, n_init, init_params, means_init, random_state, device, dtype
        As for :class:`WeightedGaussianMixture`. The lower bound is the convergence criterion.
        Initial responsibilities are those of the Alg. 1 start (π = 1/K, weighted k-means++
        means, global weighted covariance).

    Attributes
    ----------
    weights_, means_, covariances_, precisions_cholesky_, precisions_
        Posterior-mean mixture, shapes as :class:`WeightedGaussianMixture` (leading ``n_batch``
        axis for a batched fit).
    weight_concentration_ : tuple of two ndarrays (DP) or ndarray
    mean_precision_ : ndarray of shape (K,) or (n_batch, K)
    degrees_of_freedom_ : ndarray of shape (K,) or (n_batch, K) (``tied``: () or (n_batch,))
    effective_n_components_ : int or ndarray of shape (n_batch,)
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_
        As for :class:`WeightedGaussianMixture`; ``lower_bound_`` is the evidence lower bound
        (up to constants) of the last iteration.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_mech.mixture import WeightedBayesianGaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> centers = np.array([[0, 0], [8, 0], [0, 8], [8, 8]])
    >>> X = np.concatenate([rng.normal(c, 1.0, (150, 2)) for c in centers])
    >>> dp = WeightedBayesianGaussianMixture(n_components=10, random_state=0).fit(X)
    >>> int(dp.effective_n_components_)
    4
    >>> w = np.r_[np.zeros(150), np.ones(450)]              # weights that remove one cluster
    >>> int(dp.fit(X, sample_weight=w).effective_n_components_)
    3
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseWeightedMixture._parameter_constraints,
        "weight_concentration_prior_type": _one_of("dirichlet_process", "dirichlet_distribution"),
        "weight_concentration_prior": _positive_or_none,
        "mean_precision_prior": _positive_or_none,
        "mean_prior": _anything,  # shapes depend on X: checked in _priors
        "covariance_prior": _anything,
        "degrees_of_freedom_prior": _real(-math.inf, allow_none=True),
        "weight_scale": _one_of("ess", "sum", "n_samples"),
        "weight_threshold": _threshold,
    }
    _needs_entropy = True

    def __init__(
        self,
        n_components=20,
        *,
        covariance_type="full",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        covariance_prior=None,
        degrees_of_freedom_prior=None,
        weight_scale="ess",
        weight_threshold=0.01,
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=500,
        n_init=1,
        init_params="k-means++",
        means_init=None,
        random_state=None,
        device=None,
        dtype=torch.float64,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.covariance_prior = covariance_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.weight_scale = weight_scale
        self.weight_threshold = weight_threshold
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.means_init = means_init
        self.random_state = random_state
        self.device = device
        self.dtype = dtype

    @property
    def _dp(self):
        return self.weight_concentration_prior_type == "dirichlet_process"

    def _weight_total(self, W):
        if self.weight_scale == "ess":
            return W.sum(1) ** 2 / np.square(W).sum(1)
        if self.weight_scale == "sum":
            return W.sum(1)
        return (W > 0).sum(1).astype(np.float64)

    # -- priors and initialisation ----------------------------------------------------------------

    def _priors(self, Xc, W, cov_global):
        """Per-member priors in centred coordinates (they ride along in the parameter dict)."""
        r, d = W.shape[0], Xc.shape[1]
        kw = {"dtype": Xc.dtype, "device": Xc.device}
        ctype = self.covariance_type
        wn = W / W.sum(1, keepdim=True)
        if self.mean_prior is None:
            m0 = wn @ Xc
        else:
            m0 = np.asarray(self.mean_prior, dtype=float)
            if m0.shape != (d,) or not np.all(np.isfinite(m0)):
                raise ValueError(f"mean_prior must be a finite array of shape ({d},); got {m0}.")
            m0 = torch.as_tensor(m0 - self._fit_center, **kw).expand(r, d)
        nu0 = d if self.degrees_of_freedom_prior is None else self.degrees_of_freedom_prior
        if nu0 <= d - 1:
            raise ValueError(
                f"degrees_of_freedom_prior must be > n_features - 1 = {d - 1}; got {nu0}."
            )
        if self.covariance_prior is None:
            # Unbiased-variance correction T/(T − 1) for the total weight T after scaling: the
            # ESS by default, Σ w for frequency weights (so integer weights = replicated rows).
            total = W.sum(1)
            corr = (total / (total - 1.0).clamp_min(torch.finfo(Xc.dtype).eps))[:, None, None]
            psi = cov_global * corr
            if ctype in ("diag", "spherical"):
                psi = psi.diagonal(dim1=-2, dim2=-1)
                psi = psi.mean(-1) if ctype == "spherical" else psi
        else:
            psi = np.asarray(self.covariance_prior, dtype=float)
            shape = {"full": (d, d), "tied": (d, d), "diag": (d,), "spherical": ()}[ctype]
            if psi.shape != shape or not np.all(np.isfinite(psi)):
                raise ValueError(
                    f"covariance_prior must be finite with shape {shape} for covariance_type="
                    f"{ctype!r}; got shape {psi.shape}."
                )
            if (ctype in ("full", "tied") and np.any(np.linalg.eigvalsh(psi) <= 0)) or np.any(
                psi <= 0 if ctype in ("diag", "spherical") else False
            ):
                raise ValueError("covariance_prior must be positive definite.")
            psi = torch.as_tensor(psi, **kw).expand(r, *shape).clone()
        alpha0 = self.weight_concentration_prior or 1.0 / self.n_components
        beta0 = self.mean_precision_prior or 1.0
        full = torch.ones(r, **kw)
        return {"m0": m0, "psi0": psi, "nu0": nu0 * full, "a0": alpha0 * full, "b0": beta0 * full}

    def _initialize(self, Xc, W, means, cov_global):
        priors = self._priors(Xc, W, cov_global)
        d, k = Xc.shape[1], self.n_components
        eye = torch.eye(d, dtype=Xc.dtype, device=Xc.device)
        cov = cov_ops.expand_covariance(cov_global + self.reg_covar * eye, self.covariance_type, k)
        prec, _ = cov_ops.precision_cholesky(cov, self.covariance_type)
        log_w = torch.full((W.shape[0], k), -math.log(k), dtype=Xc.dtype, device=Xc.device)
        const = cov_ops.gaussian_log_const(log_w, prec, self.covariance_type, d)
        # Responsibilities of the Alg. 1 start, then one variational M-step from them.
        stats = cov_ops.weighted_statistics(
            Xc, W, means, prec, const, self.covariance_type, self.reg_covar
        )
        return self._m_step(stats, priors)

    # -- CAVI updates -----------------------------------------------------------------------------

    def _m_step(self, stats, params):
        nk, xk, sk = stats[0], stats[1], stats[2]
        m0, psi0, nu0, a0, b0 = (params[key] for key in ("m0", "psi0", "nu0", "a0", "b0"))
        k = nk.shape[1]
        if self._dp:
            tail = nk.flip(1).cumsum(1).flip(1) - nk  # Σ_{j>k} N_j
            conc = (1.0 + nk, a0[:, None] + tail)
        else:
            conc = (a0[:, None] + nk, torch.zeros_like(nk))
        beta = b0[:, None] + nk
        means = (b0[:, None, None] * m0[:, None] + nk[..., None] * xk) / beta[..., None]
        diff = xk - m0[:, None]
        ratio = b0[:, None] / beta  # β₀ / β_k
        ctype = self.covariance_type
        if ctype == "full":
            nu = nu0[:, None] + nk
            outer = diff[..., :, None] * diff[..., None, :]
            cov = psi0[:, None] + nk[..., None, None] * (sk + ratio[..., None, None] * outer)
            cov = cov / nu[..., None, None]
        elif ctype == "tied":
            nu = nu0 + nk.sum(1) / k
            outer = ((nk * ratio)[..., None] * diff).mT @ diff  # Σ_k N_k β₀/β_k δ_k δ_kᵀ
            cov = (psi0 + sk * nk.sum(1)[:, None, None] / k + outer / k) / nu[:, None, None]
        elif ctype == "diag":
            nu = nu0[:, None] + nk
            cov = psi0[:, None] + nk[..., None] * (sk + ratio[..., None] * diff.square())
            cov = cov / nu[..., None]
        else:
            nu = nu0[:, None] + nk
            cov = (psi0[:, None] + nk * (sk + ratio * diff.square().mean(-1))) / nu
        prec, n_bad = cov_ops.precision_cholesky(cov, ctype)
        self._n_repaired += n_bad
        return {
            **{key: params[key] for key in ("m0", "psi0", "nu0", "a0", "b0")},
            "conc_a": conc[0],
            "conc_b": conc[1],
            "mean_precision": beta,
            "dof": nu,
            "means": means,
            "covariances": cov,
            "precisions_cholesky": prec,
        }

    def _expected_log_weights(self, a, b):
        if self._dp:
            dig_sum = torch.digamma(a + b)
            log_stick = torch.digamma(b) - dig_sum
            before = torch.cumsum(log_stick, 1) - log_stick  # Σ_{j<k} E log(1 − v_j)
            return torch.digamma(a) - dig_sum + before
        return torch.digamma(a) - torch.digamma(a.sum(1, keepdim=True))

    def _variational_const(self, a, b, beta, nu, prec, d):
        """Everything in ``log ρ_nk`` but ``−½ ν_k (x − m_k)ᵀ W_k (x − m_k)``, shape (B, K)."""
        ctype = self.covariance_type
        nu_k = nu[:, None] if ctype == "tied" else nu
        i = torch.arange(d, dtype=nu.dtype, device=nu.device)
        log_lambda = d * math.log(2.0) + torch.digamma(0.5 * (nu_k[..., None] - i)).sum(-1)
        logdet = cov_ops.log_det_cholesky(prec, ctype, d)
        if ctype == "tied":
            logdet = logdet[:, None]
        return (
            self._expected_log_weights(a, b)
            + logdet
            - 0.5 * d * math.log(2 * math.pi)
            - 0.5 * d * nu_k.log()
            + 0.5 * (log_lambda - d / beta)
        )

    def _log_const(self, params):
        return self._variational_const(
            params["conc_a"],
            params["conc_b"],
            params["mean_precision"],
            params["dof"],
            params["precisions_cholesky"],
            params["means"].shape[-1],
        )

    def _lower_bound(self, stats, params):
        ent = stats[4]
        ctype = self.covariance_type
        d, k = params["means"].shape[-1], self.n_components
        nu, beta = params["dof"], params["mean_precision"]
        logdet = cov_ops.log_det_cholesky(params["precisions_cholesky"], ctype, d)
        logdet = logdet - 0.5 * d * nu.log()
        i = torch.arange(d, dtype=nu.dtype, device=nu.device)
        log_wishart = -(
            nu * logdet
            + nu * d * 0.5 * math.log(2.0)
            + torch.lgamma(0.5 * (nu[..., None] - i)).sum(-1)
        )
        log_wishart = k * log_wishart if ctype == "tied" else log_wishart.sum(1)
        a, b = params["conc_a"], params["conc_b"]
        if self._dp:
            log_norm_weight = -_betaln(a, b).sum(1)
        else:
            log_norm_weight = torch.lgamma(a.sum(1)) - torch.lgamma(a).sum(1)
        return -ent - log_wishart - log_norm_weight - 0.5 * d * beta.log().sum(1)

    # -- fitted state -----------------------------------------------------------------------------

    def _store(self, params, center, Wn):
        sq = (lambda a: a) if self._batched else (lambda a: a[0])

        def out(t):
            return sq(t.cpu().numpy())

        a, b = params["conc_a"], params["conc_b"]
        if self._dp:
            stick = a / (a + b)
            weights = (
                stick * torch.cat([torch.ones_like(a[:, :1]), (b / (a + b)).cumprod(1)], 1)[:, :-1]
            )
            self.weight_concentration_ = (out(a), out(b))
        else:
            weights = a
            self.weight_concentration_ = out(a)
        weights = weights / weights.sum(1, keepdim=True)
        self.weights_ = out(weights)
        self.means_ = out(params["means"] + center)
        self.covariances_ = out(params["covariances"])
        prec = params["precisions_cholesky"]
        self.precisions_cholesky_ = out(prec)
        full = self.covariance_type in ("full", "tied")
        self.precisions_ = out(prec @ prec.mT if full else prec.square())
        self.mean_precision_ = out(params["mean_precision"])
        self.degrees_of_freedom_ = out(params["dof"])
        self.mean_prior_ = out(params["m0"] + center)
        self.covariance_prior_ = out(params["psi0"])
        self.effective_n_components_ = sq(
            (weights > self.weight_threshold).sum(1).cpu().numpy().astype(np.int64)
        )

    def _fitted_log_const(self):
        conc = self.weight_concentration_
        a = self._batch_tensor(conc[0] if self._dp else conc)
        b = self._batch_tensor(conc[1]) if self._dp else torch.zeros_like(a)
        return self._variational_const(
            a,
            b,
            self._fitted_batch("mean_precision_"),
            self._fitted_batch("degrees_of_freedom_"),
            self._fitted_batch("precisions_cholesky_"),
            self.n_features_in_,
        )

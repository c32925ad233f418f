"""Causally weighted Gaussian mixture fitted by batched weighted EM (paper Alg. 1)."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from bayes_mech._validation import check_sample_weight
from bayes_mech.mixture import _covariances as cov_ops
from bayes_mech.mixture._base import BaseWeightedMixture, MixtureWarning, kish_ess

__all__ = ["WeightedGaussianMixture"]


class WeightedGaussianMixture(BaseWeightedMixture):
    r"""Gaussian mixture fitted by weighted-likelihood EM, one or a batch of weight vectors at once.

    For normalised weights :math:`\bar w_n = w_n / \sum_m w_m` EM maximises the weighted
    log-likelihood (paper Alg. 1)

    .. math::

        \ell(\theta) = \sum_n \bar w_n \log \sum_k \pi_k\, \mathcal N(x_n \mid \mu_k, \Sigma_k).

    E-step (in log space, on Cholesky factors of the precisions):
    :math:`r_{nk} = \operatorname{softmax}_k [\log \pi_k + \log \mathcal N(x_n|\mu_k,\Sigma_k)]`.
    M-step with :math:`N_k = \sum_n \bar w_n r_{nk}`:
    :math:`\pi_k = N_k`, :math:`\mu_k = \sum_n \bar w_n r_{nk} x_n / N_k`,
    :math:`\Sigma_k = \sum_n \bar w_n r_{nk} (x_n - \mu_k)(x_n - \mu_k)^\top / N_k +
    \text{reg\_covar}\cdot I`. Each iteration cannot decrease :math:`\ell`; integer weights give the
    fit of replicated rows, zero weights the fit without those rows, and a common factor in the
    weights changes nothing. With unit weights this is scikit-learn's ``GaussianMixture``.

    Initialisation (paper Alg. 1): :math:`\pi_k = 1/K`, means by weighted k-means++
    (:func:`sklearn.cluster.kmeans_plusplus` with ``sample_weight``) and every covariance equal to
    the global weighted covariance plus ``reg_covar``. ``n_init`` restarts keep, per batch member,
    the one with the largest :math:`\ell`.

    Parameters
    ----------
    n_components : int, default=1
        Number of components ``K``.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        A member has converged once its :math:`\ell` changes by less than ``tol`` in one iteration;
        from then on its parameters stay fixed. ``tol=0`` runs exactly ``max_iter`` iterations.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance; keeps a zero-variance column finite.
    max_iter : int, default=500
    n_init : int, default=1
        Restarts, run as extra batch members of the same batched computation.
    init_params : {"k-means++", "random"}, default="k-means++"
        ``"random"`` takes ``K`` distinct rows drawn with probability proportional to the weights.
    means_init : array-like of shape (K, d) or (n_batch, K, d), default=None
        Initial means; overrides ``init_params``.
    random_state : int, RandomState, Generator or None, default=None
        Controls the initialisation; the same seed gives the same fit.
    device : str or torch.device, default=None
        ``None`` is the CPU; ``"cuda"`` runs the whole computation on the GPU.
    dtype : torch.dtype, default=torch.float64

    Attributes
    ----------
    weights_ : ndarray of shape (K,) or (n_batch, K)
    means_ : ndarray of shape (K, d) or (n_batch, K, d)
    covariances_ : ndarray
        ``full`` (K, d, d), ``tied`` (d, d), ``diag`` (K, d), ``spherical`` (K,), each with a
        leading ``n_batch`` axis for a batched fit.
    precisions_cholesky_ : ndarray, same shape as ``covariances_``
        Upper-triangular ``P`` with ``P Pᵀ = Σ⁻¹`` (reciprocal standard deviations for
        ``diag``/``spherical``).
    precisions_ : ndarray, same shape as ``covariances_``
    converged_ : bool or ndarray of shape (n_batch,)
    n_iter_ : int or ndarray of shape (n_batch,)
    lower_bound_ : float or ndarray of shape (n_batch,)
        :math:`\ell` evaluated in the last E-step (scikit-learn's convention).
    lower_bounds_ : ndarray of shape (n_iter,) or (n_batch, max n_iter)
        :math:`\ell` at every iteration, NaN after a member has converged.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_mech.mixture import WeightedGaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-3, 1, (200, 2)), rng.normal(3, 1, (200, 2))])
    >>> w = np.r_[np.full(200, 3.0), np.ones(200)]          # up-weight the first cluster
    >>> gm = WeightedGaussianMixture(n_components=2, random_state=0).fit(X, sample_weight=w)
    >>> np.round(np.sort(gm.weights_), 2)
    array([0.25, 0.75])
    >>> W = np.stack([w, w[::-1]])                          # a batch of two weight vectors
    >>> gm.fit(X, sample_weight=W).means_.shape
    (2, 2, 2)
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
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
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.means_init = means_init
        self.random_state = random_state
        self.device = device
        self.dtype = dtype

    # -- model-specific steps used by the base loop ---------------------------------------------

    def _initialize(self, Xc, W, means, cov_global):
        d = Xc.shape[1]
        eye = torch.eye(d, dtype=Xc.dtype, device=Xc.device)
        cov = cov_ops.expand_covariance(
            cov_global + self.reg_covar * eye, self.covariance_type, self.n_components
        )
        prec, _ = cov_ops.precision_cholesky(cov, self.covariance_type)
        weights = torch.full(
            (W.shape[0], self.n_components), 1.0 / self.n_components, dtype=Xc.dtype,
            device=Xc.device,
        )  # fmt: skip
        return {"weights": weights, "means": means, "covariances": cov, "precisions_cholesky": prec}

    def _log_const(self, params):
        d = params["means"].shape[-1]
        return cov_ops.gaussian_log_const(
            params["weights"].log(), params["precisions_cholesky"], self.covariance_type, d
        )

    def _m_step(self, stats, params):
        nk, means, cov, _, _ = stats
        prec, n_bad = cov_ops.precision_cholesky(cov, self.covariance_type)
        self._n_repaired += n_bad
        weights = nk / nk.sum(1, keepdim=True)
        return {"weights": weights, "means": means, "covariances": cov, "precisions_cholesky": prec}

    def _lower_bound(self, stats, params):
        return stats[3]  # Σ_n w̄_n log p(x_n): the weights sum to one

    def _store(self, params, center, Wn):
        sq = (lambda a: a) if self._batched else (lambda a: a[0])
        self.weights_ = sq(params["weights"].cpu().numpy())
        self.means_ = sq((params["means"] + center).cpu().numpy())
        self.covariances_ = sq(params["covariances"].cpu().numpy())
        prec = params["precisions_cholesky"]
        self.precisions_cholesky_ = sq(prec.cpu().numpy())
        full = self.covariance_type in ("full", "tied")
        self.precisions_ = sq((prec @ prec.mT if full else prec.square()).cpu().numpy())
        # A component with (almost) no weight, or a covariance that needed a ridge to stay
        # positive definite, means EM has collapsed a component onto too few rows.
        n_eff = 1.0 / Wn.square().sum(1)
        rows = params["weights"] * n_eff[:, None]
        n_empty = int((rows < 1e-3).sum())
        if self._n_repaired or n_empty:
            warnings.warn(
                f"Collapsed mixture components: {self._n_repaired} covariance matrix update(s) "
                f"were not positive definite and got a ridge, and {n_empty} component(s) hold "
                f"< 0.001 effective rows (smallest: {float(rows.min()):.3g} of "
                f"N_eff = {float(n_eff.min()):.4g}). Use fewer components or a larger reg_covar "
                f"(now {self.reg_covar}).",
                MixtureWarning,
                stacklevel=3,
            )

    def _fitted_log_const(self):
        weights = self._fitted_batch("weights_")
        prec = self._fitted_batch("precisions_cholesky_")
        return cov_ops.gaussian_log_const(
            weights.log(), prec, self.covariance_type, self.n_features_in_
        )

    # -- information criteria ---------------------------------------------------------------------

    def _n_parameters(self) -> int:
        """Free parameters of one mixture."""
        check_is_fitted(self, "means_")
        return cov_ops.n_parameters(self.covariance_type, self.n_components, self.n_features_in_)

    def _criterion(self, X, sample_weight, penalty, log_prob=None):
        if log_prob is None:
            log_prob = self.score_samples(X)
        log_prob = np.atleast_2d(log_prob)
        w = check_sample_weight(sample_weight, log_prob.shape[-1])
        w = np.atleast_2d(w)
        n_eff = kish_ess(w)
        wbar = w / w.sum(-1, keepdims=True)
        value = -2.0 * n_eff * (wbar * log_prob).sum(-1) + penalty(n_eff)
        return value if value.size > 1 or self._batched else float(value[0])

    def bic(self, X, sample_weight=None):
        r"""Weighted Bayesian information criterion (lower is better).

        .. math::

            \mathrm{BIC} = -2 N_{\rm eff} \sum_n \bar w_n \log p(x_n) + k \log N_{\rm eff},

        with :math:`\bar w` the normalised weights, :math:`N_{\mathrm{eff}} = 1 / \sum_n \bar w_n^2`
        their Kish effective sample size and ``k`` the number of free parameters. Unit weights give
        scikit-learn's ``GaussianMixture.bic`` exactly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,) or (n_batch, n_samples), default=None

        Returns
        -------
        bic : float or ndarray of shape (n_batch,)
        """
        k = self._n_parameters()
        return self._criterion(X, sample_weight, lambda n_eff: k * np.log(n_eff))

    def effective_n_parameters(self, X, sample_weight=None):
        r"""Free parameters counted by how heavy their rows' weights are (see :meth:`bic_eff`).

        .. math::

            k_{\rm eff} = (K - 1) + \sum_k P_k f_k + P_{\rm shared}, \qquad
            f_k = N_{\rm eff} \frac{\sum_n \bar w_n^2 r_{nk}}{\sum_n \bar w_n r_{nk}},

        with :math:`P_k` the mean and covariance parameters of component :math:`k`,
        :math:`P_{\rm shared}` the pooled covariance of ``"tied"``, and :math:`r_{nk}` the
        responsibilities. :math:`f_k` is the weighted mean weight of the component's rows over
        that of all rows: 1 for every component under unit weights (then
        :math:`k_{\rm eff}` is the count :meth:`bic` uses), large for a component that lives on a
        few heavy rows.

        Returns
        -------
        k_eff : float or ndarray of shape (n_batch,)
        """
        k_eff, _ = self._effective_counts(self._estimate_log_rho(X), sample_weight)
        return k_eff if k_eff.size > 1 or self._batched else float(k_eff[0])

    def _effective_counts(self, log_rho, sample_weight):
        """``k_eff`` (B,) and each component's Kish ESS ``(Σ w̄ r)² / Σ w̄² r²`` (B, K), from
        :meth:`_estimate_log_rho`'s ``(B, K, N)``."""
        resp = torch.softmax(log_rho, dim=1).mT.cpu().numpy().astype(np.float64)  # (B, N, K)
        w = np.atleast_2d(check_sample_weight(sample_weight, resp.shape[1]))
        wbar = w / w.sum(-1, keepdims=True)
        n_eff = kish_ess(wbar)
        mass = np.einsum("bn,bnk->bk", wbar, resp)
        mass2 = np.einsum("bn,bnk->bk", wbar**2, resp)
        tiny = np.finfo(np.float64).tiny
        factor = np.atleast_1d(n_eff)[:, None] * mass2 / np.maximum(mass, tiny)
        d, K = self.n_features_in_, self.n_components
        per_component = cov_ops.n_parameters(self.covariance_type, 1, d)
        shared = 0
        if self.covariance_type == "tied":  # the pooled covariance rests on every row
            shared, per_component = per_component - d, d
        k_eff = (K - 1) + per_component * factor.sum(-1) + shared
        comp_ess = mass**2 / np.maximum(np.einsum("bn,bnk->bk", wbar**2, resp**2), tiny)
        return k_eff, comp_ess

    def bic_eff(self, X, sample_weight=None):
        r"""Weighted BIC with the parameters counted by their rows' weights (lower is better).

        .. math::

            \mathrm{BIC}_{\rm eff} = -2 N_{\rm eff} \sum_n \bar w_n \log p(x_n)
            + k_{\rm eff} \log N_{\rm eff},

        with :math:`k_{\rm eff}` from :meth:`effective_n_parameters`. Unit weights give
        :meth:`bic` exactly. Under front-door weights a component can gain likelihood by sitting
        on a few heavy rows, which :meth:`bic`, whose penalty ignores which rows carry the
        weight, pays for like any other (weighted BIC over-splits); here its parameters count
        :math:`f_k` times. :math:`N_{\rm eff}\operatorname{tr}(J^{-1}V)`, the parameter count of
        Takeuchi's information criterion (TIC) for a weighted likelihood, reduces to
        :math:`k_{\rm eff}` when the per-row scores of each component are uncorrelated with the
        rows' weights. A member with a component on fewer effective rows than its covariance
        needs (``d + 1`` for ``"full"``, 2 otherwise) gets ``inf``: there the likelihood
        measures ``reg_covar``, not the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,) or (n_batch, n_samples), default=None

        Returns
        -------
        bic_eff : float or ndarray of shape (n_batch,)

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_mech.mixture import WeightedGaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.concatenate([rng.normal(-3, 1, (300, 2)), rng.normal(3, 1, (100, 2))])
        >>> gm = WeightedGaussianMixture(2, random_state=0).fit(X)
        >>> bool(np.isclose(gm.bic_eff(X), gm.bic(X)))         # unit weights: BIC itself
        True
        >>> w = np.r_[np.ones(300), np.full(100, 5.0)]          # the second blob's rows weigh 5x
        >>> gm.fit(X, sample_weight=w)._n_parameters()           # what bic counts
        11
        >>> round(gm.effective_n_parameters(X, w), 1)  # heavy blob counts more, light one less
        9.6
        """
        log_rho = self._estimate_log_rho(X)  # one E-step for both the fit and the count
        k_eff, comp_ess = self._effective_counts(log_rho, sample_weight)
        minimum = self.n_features_in_ + 1 if self.covariance_type == "full" else 2
        degenerate = (comp_ess < minimum).any(-1)
        penalty = np.where(degenerate, np.inf, k_eff)
        log_prob = torch.logsumexp(log_rho, dim=1).cpu().numpy()
        return self._criterion(
            X, sample_weight, lambda n_eff: penalty * np.log(n_eff), log_prob=log_prob
        )

    def aic(self, X, sample_weight=None):
        r"""Weighted Akaike information criterion,
        :math:`-2 N_{\mathrm{eff}} \sum_n \bar w_n \log p(x_n) + 2k` (see :meth:`bic`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,) or (n_batch, n_samples), default=None

        Returns
        -------
        aic : float or ndarray of shape (n_batch,)
        """
        k = self._n_parameters()
        return self._criterion(X, sample_weight, lambda n_eff: 2.0 * k + 0.0 * n_eff)

"""The batched weighted EM loop shared by the Gaussian and the variational mixtures.

Like scikit-learn's ``sklearn/mixture/_base.py``, this module owns everything that is not specific
to one model: parameter validation (declared once in ``_parameter_constraints``), input checks,
initialisation of the means (weighted k-means++, paper Alg. 1), ``n_init`` restarts, the iteration
and its convergence test, bookkeeping, warnings and the scoring/sampling API. Subclasses supply
``_initialize`` (parameters from the initial means), ``_m_step`` (parameters from the weighted
statistics of :func:`~bayes_mech.mixture._covariances.weighted_statistics`), ``_log_const``
(everything in ``log ρ`` but the Mahalanobis term), ``_lower_bound``, ``_store`` (fitted
attributes) and ``_fitted_log_const`` (``_log_const`` from the fitted attributes, for scoring).
Parameters travel as a dict of tensors with a leading member axis, so selecting the active
members or the best restart is one indexing operation for every model.

A fit with weights of shape ``(B, N)`` runs ``B · n_init`` mixtures as one batched computation over
the same rows. Each member converges on its own: once ``|Δ lower bound| < tol`` its parameters are
frozen and it drops out of the remaining iterations.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from typing import ClassVar

import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.cluster import kmeans_plusplus
from sklearn.utils.validation import check_is_fitted

from bayes_mech._stratified import antithetic_normals, golden_uniforms, inverse_cdf
from bayes_mech._threads import native_threads, torch_threads
from bayes_mech._validation import (
    check_array,
    check_option,
    check_positive_int,
    check_random_state,
    check_sample_weight,
    resolve_device,
    torch_generator,
)
from bayes_mech.exceptions import ConvergenceWarning
from bayes_mech.mixture import _covariances as cov_ops
from bayes_mech.mixture import _gemm

__all__ = ["BaseWeightedMixture", "MixtureWarning", "kish_ess", "weighted_kmeans_plusplus"]


class MixtureWarning(UserWarning):
    """Numerical trouble in a mixture fit (collapsed components, repaired covariances)."""


def kish_ess(weights: np.ndarray) -> np.ndarray:
    """Kish effective sample size ``(Σ w)² / Σ w²`` along the last axis."""
    weights = np.asarray(weights, dtype=np.float64)
    return weights.sum(-1) ** 2 / np.square(weights).sum(-1)


def canonical_order(X: np.ndarray) -> np.ndarray:
    """Row indices of ``X`` in lexicographic order (stable: equal rows keep their order)."""
    return np.lexsort(X.T[::-1])


def weighted_kmeans_plusplus(
    X: np.ndarray, n_clusters: int, weights: np.ndarray, rng, order: np.ndarray | None = None
):
    """Initial means ``(n_clusters, d)`` by weighted k-means++, independent of the row order.

    scikit-learn's ``kmeans_plusplus(sample_weight=...)`` draws each centre by inverting the
    cumulative weighted potential, so integer weights pick the same centres as the rows repeated
    in place, but a different row order picks others. Rows are put in one canonical
    (lexicographic) order first and zero-weight rows dropped: then the same seed gives the same
    centres for any permutation of the rows and for integer weights as for repeated rows.
    ``order`` is :func:`canonical_order` of ``X``, for callers that start many runs on the same
    rows (sorting costs as much as a 4-centre run at N = 5000).
    """
    order = canonical_order(X) if order is None else order
    rows = order[weights[order] > 0]
    # X and the weights were checked by the caller; scikit-learn's parameter validation was a
    # third of each call (about 1 ms at N = 5000, run ~100 times per learner fit).
    # Many short distance products: OpenBLAS on one thread, as in the EM (see _threads_for).
    with (
        sklearn.config_context(skip_parameter_validation=True, assume_finite=True),
        native_threads(1, "blas"),
    ):
        centers, _ = kmeans_plusplus(
            X[rows], n_clusters, sample_weight=weights[rows], random_state=rng
        )
    return centers


def _check_X(X) -> np.ndarray:
    """The mixtures' ``X``: 2-D, finite, real (sparse, complex and 0-feature input refused)."""
    return check_array(X, "X")


#: Below this many elements per E-step (rows · members · components · features) the whole fit
#: runs on one thread: small ops gain nothing from OpenMP, and on a busy machine every parallel op
#: can wait a scheduler time slice for its second thread (30x slower fits were measured).
SMALL_WORK = 2**21


#: From this many elements per E-step on, a fit's products on numpy's BLAS keep OpenBLAS's
#: threads: each product then runs long enough (milliseconds) that a wait for a core is small
#: beside it. Below, OpenBLAS runs on one thread (see :func:`_threads_for`).
BLAS_THREAD_WORK = 2**26


@contextlib.contextmanager
def _threads_for(work: int, device: torch.device):
    """Run a CPU fit on one thread where more would not help; restore the caller's counts.

    torch's OpenMP threads and OpenBLAS's threads (the products on CPUs where torch's MKL is
    slow: :func:`~bayes_mech.mixture._gemm.numpy_blas`) both spin-wait after an op for the
    next one. An op that needs two threads while the other core is busy (with the other pool's
    spinning thread, or with another program) waits for a scheduler time slice, and EM's ops
    are short. So torch's ops run on one thread below :data:`SMALL_WORK` and always where the
    products use numpy's BLAS, and OpenBLAS's below :data:`BLAS_THREAD_WORK` (scikit-learn's
    k-means limits BLAS to one thread in its loop for the same reason). Measured on the
    project's 2-core AMD EPYC: a (N = 20,000, B = 16, K = 10, d = 16 full) fit of 10 iterations
    took 11.3 s with both pools at two threads and 1.36 s with torch's at one; with the other
    core busy with a second program, the learner's per-draw selection on the 8x8 digits
    (``n_components="bic_eff"``, ``covariance_type="auto"``, S = 8) took 52.9 s with OpenBLAS at
    two threads and 11.4 s at one. The price on an idle machine: 20.4 s against 25.7 s for the
    same fit at S = 32, and 2.0-2.5 s against 2.0-2.8 s for the paper's A.1 (S = 32).
    """
    cpu = device.type == "cpu"
    single = cpu and (work < SMALL_WORK or _gemm.numpy_blas())
    blas_single = cpu and _gemm.numpy_blas() and work < BLAS_THREAD_WORK
    with torch_threads(1 if single else None), native_threads(1 if blas_single else None, "blas"):
        yield


# -- one-place parameter validation -----------------------------------------------------------


def _positive_int(name, value):
    check_positive_int(value, name)


def _non_negative_int(name, value):
    check_positive_int(value, name, minimum=0)


def _real(minimum, *, allow_none=False, strict=False):
    def check(name, value):
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number; got {value!r}.")
        if not np.isfinite(value) or value < minimum or (strict and value == minimum):
            op = ">" if strict else ">="
            raise ValueError(f"{name} must be a finite number {op} {minimum}; got {value!r}.")

    return check


def _one_of(*options):
    def check(name, value):
        check_option(value, name, options)

    return check


def _dtype(name, value):
    if value not in (torch.float64, torch.float32):
        raise ValueError(f"{name} must be torch.float64 or torch.float32; got {value!r}.")


def _device(name, value):
    resolve_device(value)


def _anything(name, value):
    return None


class BaseWeightedMixture(DensityMixin, BaseEstimator):
    """Shared fit/score machinery; not for direct use (see the concrete mixtures)."""

    _parameter_constraints: ClassVar[dict] = {
        "n_components": _positive_int,
        "covariance_type": _one_of(*cov_ops.COVARIANCE_TYPES),
        "tol": _real(0.0),
        "reg_covar": _real(0.0),
        "max_iter": _non_negative_int,
        "n_init": _positive_int,
        "init_params": _one_of("k-means++", "random"),
        "means_init": _anything,
        "random_state": _anything,
        "device": _device,
        "dtype": _dtype,
    }

    #: Whether the lower bound needs the weighted entropy of the responsibilities.
    _needs_entropy = False

    def _check_params(self) -> None:
        for name, check in self._parameter_constraints.items():
            check(name, getattr(self, name))

    # -- fitting ---------------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Fit one mixture per weight vector by weighted EM (paper Alg. 1).

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_samples, n_features)
            Rows shared by every mixture.
        y : None
            Ignored; present for scikit-learn compatibility.
        sample_weight : array-like of shape (n_samples,) or (n_batch, n_samples), default=None
            Non-negative weights. A 2-D array fits ``n_batch`` mixtures at once and gives every
            fitted attribute a leading ``n_batch`` axis. Only relative weights matter for
            :class:`WeightedGaussianMixture`.

        Returns
        -------
        self
        """
        self._check_params()
        X = _check_X(X)
        n_samples, n_features = X.shape
        weights = check_sample_weight(sample_weight, n_samples)
        batched = weights.ndim == 2
        W = weights.reshape(-1, n_samples)
        K = self.n_components
        n_positive = (W > 0).sum(1)
        if n_positive.min() < K:
            where = f" in batch row {int(n_positive.argmin())}" if batched else ""
            raise ValueError(
                f"Expected at least n_components = {K} rows with positive weight, but got "
                f"{int(n_positive.min())}{where} (n_samples = {n_samples}); lower n_components."
            )
        device = resolve_device(self.device)
        # Rows that no member weights cannot change any fit; dropping them saves their cost.
        keep = W.sum(0) > 0
        X, W = X[keep], W[:, keep]
        work = X.shape[0] * self.n_init * W.shape[0] * K * n_features
        with _threads_for(work, device):  # the whole fit: setup, EM and bookkeeping
            return self._fit_rows(X, W, batched, device)

    def _fit_rows(self, X, W, batched, device):
        """:meth:`fit` on checked rows ``X`` and weights ``W`` (B, N), every row weighted."""
        K, n_features = self.n_components, X.shape[1]
        kw = {"dtype": self.dtype, "device": device}
        rng = check_random_state(self.random_state)
        means0 = self._initial_means(X, W, rng)  # (n_init, B, K, d)
        center = X.mean(0)  # work in centred coordinates: smaller moments, less cancellation
        Xc = torch.as_tensor(X - center, **kw)
        Wn = torch.as_tensor(W / W.sum(1, keepdims=True), **kw)
        Ws = Wn * torch.as_tensor(self._weight_total(W), **kw)[:, None]
        n_batch, n_init = W.shape[0], means0.shape[0]
        cov_global = self._global_covariance(Xc, Wn)
        self._fit_center = center
        self._n_repaired = 0
        params = self._initialize(
            Xc,
            Ws.repeat(n_init, 1),
            torch.as_tensor(means0 - center, **kw).reshape(n_init * n_batch, K, n_features),
            cov_global.repeat(n_init, 1, 1),
        )
        params, lb, history, n_iter, converged, change = self._run_em(
            Xc, Ws.repeat(n_init, 1), params
        )
        # n_init restarts: keep the best lower bound per batch member.
        # Bookkeeping lives on the CPU; parameters stay on the fit's device.
        lb, change = lb.cpu(), change.cpu()
        pick = lb.reshape(n_init, n_batch).argmax(0) * n_batch + torch.arange(n_batch)
        params = {key: val[pick.to(device)] for key, val in params.items()}
        self.n_features_in_ = n_features
        self._batched = batched
        self._store(params, torch.as_tensor(center, **kw), Wn)
        sq = (lambda a: a) if batched else (lambda a: a[0])
        self.converged_ = sq(converged[pick].cpu().numpy())
        self.n_iter_ = sq(n_iter[pick].cpu().numpy())
        self.lower_bound_ = sq(lb[pick].cpu().numpy())
        hist = history[pick][:, : max(1, int(n_iter.max()))].cpu().numpy()
        self.lower_bounds_ = sq(hist)
        self._warn_convergence(self.max_iter, converged[pick], change[pick], batched)
        return self

    def _weight_total(self, W: np.ndarray) -> np.ndarray:
        """What the weights of each member sum to inside the model (1: only ratios matter)."""
        return np.ones(W.shape[0])

    def _initial_means(self, X, W, rng) -> np.ndarray:
        """Initial means ``(n_init, B, K, d)``: weighted k-means++ (or weighted random rows)."""
        K, (n_batch, _), d = self.n_components, W.shape, X.shape[1]
        if self.means_init is not None:
            shape = np.shape(self.means_init)
            if shape not in ((K, d), (1, K, d), (n_batch, K, d)):
                raise ValueError(
                    f"means_init must have shape ({K}, {d}) or ({n_batch}, {K}, {d}); got {shape}."
                )
            means = check_array(np.reshape(self.means_init, (-1, d)), "means_init")
            return np.broadcast_to(means.reshape(-1, K, d), (self.n_init, n_batch, K, d)).copy()
        out = np.empty((self.n_init, n_batch, K, d))
        order = canonical_order(X) if self.init_params == "k-means++" else None
        for i in range(self.n_init):  # initialisation only: not the hot path
            for b in range(n_batch):
                if self.init_params == "k-means++":
                    out[i, b] = weighted_kmeans_plusplus(X, K, W[b], rng, order)
                else:
                    p = W[b] / W[b].sum()
                    out[i, b] = X[rng.choice(X.shape[0], K, replace=False, p=p)]
        return out

    def _global_covariance(self, Xc, Wn):
        """Weighted covariance of all rows per member, ``(B, d, d)`` (paper Alg. 1 init)."""
        n, d = Xc.shape
        mean = Wn @ Xc
        second = torch.zeros(Wn.shape[0], d, d, dtype=Xc.dtype, device=Xc.device)
        step = cov_ops.chunk_rows(n, Xc.element_size() * Wn.shape[0] * d)
        for s in range(0, n, step):
            x, w = Xc[s : s + step], Wn[:, s : s + step]
            second += (w[..., None] * x).mT @ x
        return second - mean[:, :, None] * mean[:, None, :]

    def _run_em(self, Xc, W, params):
        """Iterate E- and M-steps on all active members; return their fits and bookkeeping."""
        n_members = W.shape[0]
        device = Xc.device
        lb = torch.full((n_members,), -torch.inf, dtype=Xc.dtype, device=device)
        change = torch.full_like(lb, torch.inf)
        history = torch.full((n_members, max(1, self.max_iter)), torch.nan, dtype=Xc.dtype)
        history = history.to(device)
        n_iter = torch.full((n_members,), self.max_iter, dtype=torch.long)
        converged = torch.zeros(n_members, dtype=torch.bool)
        active = None  # indices of the members still iterating; None while that is all of them
        features = second = None
        if cov_ops.uses_moments(self.covariance_type, Xc.shape[1]):
            features = cov_ops.RowFeatures(Xc, self.covariance_type)  # built once per fit
            if self.covariance_type == "tied":  # its M-step second moments: once per fit
                second = features.weighted_sums(W)
        elif self.covariance_type == "tied":  # the same on the direct path, as (B, d, d)
            second = cov_ops.weighted_gram(Xc, W)
        for it in range(1, self.max_iter + 1):
            # The common case (every member active) avoids all indexing: at small sizes the
            # per-iteration op count, not the arithmetic, sets the speed.
            sub = params if active is None else {k: v[active] for k, v in params.items()}
            stats = cov_ops.weighted_statistics(
                Xc,
                W if active is None else W[active],
                sub["means"],
                sub["precisions_cholesky"],
                self._log_const(sub),
                self.covariance_type,
                self.reg_covar,
                entropy=self._needs_entropy,
                features=features,
                second_moments=second if second is None or active is None else second[active],
            )
            new = self._m_step(stats, sub)
            new_lb = self._lower_bound(stats, new)
            if active is None:
                params = new
                step = new_lb - lb
                lb, change = new_lb, step
                history[:, it - 1] = new_lb
            else:
                for key, val in new.items():
                    params[key][active] = val
                step = new_lb - lb[active]
                lb[active], change[active] = new_lb, step
                history[active, it - 1] = new_lb
            done = step.abs() < self.tol
            if not bool(done.any()):  # the one host sync per iteration
                continue
            members = torch.arange(n_members, device=device) if active is None else active
            finished = members[done].cpu()
            n_iter[finished] = it
            converged[finished] = True
            if bool(done.all()):
                break
            active = members[~done]
        if self.max_iter == 0:
            stats = cov_ops.weighted_statistics(
                Xc, W, params["means"], params["precisions_cholesky"], self._log_const(params),
                self.covariance_type, self.reg_covar, entropy=self._needs_entropy,
            )  # fmt: skip
            lb = self._lower_bound(stats, params)
        return params, lb, history.cpu(), n_iter, converged, change

    def _warn_convergence(self, max_iter, converged, change, batched):
        if max_iter == 0 or bool(converged.all()):
            return
        n_bad = int((~converged).sum())
        worst = float(change[~converged].abs().max())
        who = f"{n_bad} of {converged.numel()} mixtures" if batched else "The mixture"
        warnings.warn(
            f"{who} did not converge in max_iter={max_iter} iterations: largest |Δ lower bound| "
            f"at the last iteration = {worst:.3g} > tol={self.tol}. Increase max_iter or tol, or "
            "check for degenerate data.",
            ConvergenceWarning,
            stacklevel=3,
        )

    # -- scoring ---------------------------------------------------------------------------------

    def _validate_X(self, X) -> torch.Tensor:
        check_is_fitted(self, "means_")
        X = _check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return torch.as_tensor(X, dtype=self.dtype, device=resolve_device(self.device))

    def _fitted_batch(self, name) -> torch.Tensor:
        return self._batch_tensor(getattr(self, name))

    def _batch_tensor(self, value) -> torch.Tensor:
        """A fitted numpy attribute as a tensor with a leading batch axis."""
        value = torch.as_tensor(
            np.asarray(value), dtype=self.dtype, device=resolve_device(self.device)
        )
        return value if self._batched else value[None]

    def _estimate_log_rho(self, X) -> torch.Tensor:
        """``log π_k p(x_n | k)`` (or its variational analogue), shape ``(B, K, N)``."""
        X = self._validate_X(X)
        means = self._fitted_batch("means_")
        prec = self._fitted_batch("precisions_cholesky_")
        log_const = self._fitted_log_const()
        center = means.reshape(-1, means.shape[-1]).mean(0)
        b, k, d = means.shape
        step = cov_ops.chunk_rows(X.shape[0], cov_ops._row_bytes("full", b, k, d, 8))
        with _threads_for(X.shape[0] * b * k * d, X.device):
            parts = [
                cov_ops.log_rho(
                    X[s : s + step] - center, means - center, prec, log_const, self.covariance_type
                )
                for s in range(0, X.shape[0], step)
            ]
        return torch.cat(parts, dim=-1)

    def _unbatch(self, value: torch.Tensor) -> np.ndarray:
        value = value.cpu().numpy()
        return value if self._batched else value[0]

    def score_samples(self, X):
        """Log density ``log p(x_n)`` of each row under each mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,) or (n_batch, n_samples)
        """
        return self._unbatch(torch.logsumexp(self._estimate_log_rho(X), dim=1))

    def score(self, X, y=None, sample_weight=None):
        """Weighted mean log-likelihood ``Σ_n w̄_n log p(x_n)`` (``w̄`` normalised to sum 1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,) or (n_batch, n_samples), default=None

        Returns
        -------
        score : float or ndarray of shape (n_batch,)
        """
        log_prob = np.atleast_2d(self.score_samples(X))
        w = check_sample_weight(sample_weight, log_prob.shape[-1])
        w = np.atleast_2d(w / w.sum(-1, keepdims=True))
        value = (w * log_prob).sum(-1)
        return value if self._batched else float(value[0])

    def predict_proba(self, X):
        """Responsibilities ``p(k | x_n)``, shape ``(n_samples, K)`` or ``(B, n_samples, K)``."""
        log_rho = self._estimate_log_rho(X)
        return self._unbatch(torch.softmax(log_rho, dim=1).mT)

    def predict(self, X):
        """Most probable component per row, shape ``(n_samples,)`` or ``(B, n_samples)``."""
        return self._unbatch(self._estimate_log_rho(X).argmax(1))

    def sample(self, n_samples=1, random_state=None, *, stratified=False):
        """Draw rows from each fitted mixture (in random order, not grouped by component).

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState, Generator or None
            Seeds the draw; the same seed gives the same samples.
        stratified : bool, default=False
            Draw with less Monte Carlo noise than independent rows, for training a model on the
            samples: rows come in antithetic pairs ``μ_k ± L_k ε`` (the pair's mean is the
            component's mean, and every odd moment of a component is exact), and the pairs'
            components follow a randomly shifted golden-ratio sequence, so every leading block
            of ``2j`` rows holds component ``k`` in a share within ``O(log j / j)`` of ``π_k``
            (independent rows: ``O(1 / √j)``). Each row is still distributed as the mixture;
            the rows are not independent.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features) or (n_batch, n_samples, n_features)
        labels : ndarray of shape (n_samples,) or (n_batch, n_samples)
        """
        check_is_fitted(self, "means_")
        n_samples = check_positive_int(n_samples, "n_samples")
        device = resolve_device(self.device)
        gen = torch_generator(random_state, device)
        weights = self._fitted_batch("weights_")
        means = self._fitted_batch("means_")
        cov = self._fitted_batch("covariances_")
        b, k, d = means.shape
        if stratified:
            labels, z = _stratified_draws(weights, n_samples, d, gen, self.dtype)
        else:
            labels = torch.multinomial(weights, n_samples, replacement=True, generator=gen)
            z = torch.randn(b, n_samples, d, generator=gen, dtype=self.dtype, device=device)
        mu = torch.gather(means, 1, labels[..., None].expand(-1, -1, d))
        if self.covariance_type == "spherical":
            out = mu + z * torch.gather(cov, 1, labels).sqrt()[..., None]
        elif self.covariance_type == "diag":
            out = mu + z * torch.gather(cov, 1, labels[..., None].expand(-1, -1, d)).sqrt()
        else:
            chol = torch.linalg.cholesky(cov)  # (B, K, d, d) or (B, d, d) for tied
            if self.covariance_type == "tied":
                out = mu + z @ chol.mT
            else:
                # Group by component with a batched matmul per chunk of rows: (B, K, c, d).
                step = cov_ops.chunk_rows(n_samples, 8 * b * k * d)
                out = torch.empty_like(z)
                for s in range(0, n_samples, step):
                    zc = z[:, s : s + step]
                    all_k = zc[:, None] @ chol.mT  # (B, K, c, d)
                    lab = labels[:, None, s : s + step, None].expand(-1, 1, -1, d)
                    out[:, s : s + step] = torch.gather(all_k, 1, lab)[:, 0]
                out = out + mu
        return self._unbatch(out), self._unbatch(labels)


def _stratified_draws(weights, n_samples: int, d: int, gen, dtype):
    """Component labels (B, n) and standard normal draws (B, n, d) for stratified sampling:
    antithetic pairs (rows 2j and 2j + 1 share a component and have opposite ε), with the
    pairs' components read off a randomly shifted golden-ratio sequence on ``cumsum(π)``."""
    b = weights.shape[0]
    n_pairs = (n_samples + 1) // 2
    u = golden_uniforms(b, n_pairs, gen, weights.device)
    pair_labels = inverse_cdf(weights, u)
    labels = pair_labels.repeat_interleave(2, dim=1)[:, :n_samples]
    z = antithetic_normals((b, n_samples, d), gen, dtype, weights.device)
    return labels, z

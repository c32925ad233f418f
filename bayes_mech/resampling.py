r"""Deconfounded samples from front-door weights: the causal bootstrap and CW-GMM sampling.

The causal bootstrap (Little & Badawy 2019; the paper's "CB" baseline) draws rows of the effect
``X`` with replacement, with probabilities equal to the front-door weights of one
(draw, intervention) pair, so that the resampled rows follow

.. math::

    \hat p(x \mid do(y = y_m), \theta_s) = \sum_n w_{smn}\, \delta(x - x_n)

(paper eq. 2 for the weights). Labelling the rows drawn for ``y_m`` with ``y_m`` gives a
non-confounded training set in which ``y`` is randomised.

CW-GMM sampling (paper Alg. 1-2) smooths that empirical distribution instead: for every
(draw, intervention) a Gaussian mixture is fitted to all rows by weighted EM with weights
:math:`w_{smn}`, and fresh rows are drawn from it.
"""

from __future__ import annotations

import numpy as np
import torch

from bayes_mech._validation import (
    check_array,
    check_positive_int,
    check_random_state,
    torch_generator,
)
from bayes_mech.mixture import WeightedGaussianMixture
from bayes_mech.weights import normalize_log_weights

__all__ = ["CWGMMFit", "causal_bootstrap", "cwgmm_resample"]


def _standardize_columns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X − center) / spread`` per column, and the ``center`` and ``spread`` that undo it.

    The mixtures add ``reg_covar`` to every variance, an absolute floor: fitted in the units of
    ``X``, a column on a 1e-8 scale would drown in it. Fitting in standardised coordinates and
    mapping back makes the CW-GMMs equivariant to the units of each column. Constant columns
    (spread 0) keep spread 1.
    """
    center = X.mean(axis=0)
    spread = X.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    return (X - center) / spread, center, spread


def causal_bootstrap(
    X, log_weights, n_samples: int, random_state=None, *, return_indices: bool = False
):
    """Resample rows of ``X`` with the front-door weights of every (draw, intervention).

    For each draw ``s`` and intervention ``m``, ``n_samples`` row indices are drawn independently
    with replacement from ``Categorical(w[s, m, :])``, where ``w = softmax(log_weights)`` over rows.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features) or (n_rows,)
        Effect; a 1-D ``X`` is one feature.
    log_weights : array-like or Tensor of shape (n_draws, n_values, n_rows)
        Front-door log-weights (e.g. from :func:`bayes_mech.weights.frontdoor_log_weights`);
        normalised here if they are not. ``-inf`` rows are never drawn.
    n_samples : int
        Rows drawn per (draw, intervention).
    random_state : None, int or numpy RandomState/Generator
        Seed; the same seed gives the same rows.
    return_indices : bool, default=False
        Also return the drawn row indices.

    Returns
    -------
    X_samples : ndarray of shape (n_draws, n_values, n_samples, n_features), float64
        ``X[indices]``.
    indices : ndarray of shape (n_draws, n_values, n_samples), int64
        Only if ``return_indices``.

    Raises
    ------
    ValueError
        On a length mismatch between ``X`` and the weights, NaN weights, or an intervention whose
        weights are all zero.

    Examples
    --------
    >>> import numpy as np, torch
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> lw = torch.log(torch.tensor([[[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]]], dtype=torch.float64))
    >>> Xs, idx = causal_bootstrap(X, lw, n_samples=4, random_state=0, return_indices=True)
    >>> Xs.shape, idx[0, 0].tolist()
    ((1, 2, 4, 1), [2, 2, 2, 2])
    >>> bool(np.isin(idx[0, 1], [0, 1]).all())
    True
    """
    X_arr = check_array(X, "X", ndim=2, allow_1d=True)
    n_samples = check_positive_int(n_samples, "n_samples", minimum=1)
    lw = normalize_log_weights(log_weights).detach().cpu()  # the generator and X live on the CPU
    n_draws, n_values, n_rows = lw.shape
    if n_rows != X_arr.shape[0]:
        raise ValueError(
            f"log_weights must have one weight per row of X: X has {X_arr.shape[0]} rows, "
            f"log_weights has {n_rows} along its last axis."
        )
    # torch.multinomial draws from all S·M categorical distributions in one call; it accepts
    # unnormalised float64 probabilities, and exp of normalised log-weights never overflows.
    probs = lw.exp().reshape(n_draws * n_values, n_rows)
    gen = torch_generator(random_state)
    idx = torch.multinomial(probs, n_samples, replacement=True, generator=gen)
    indices = idx.reshape(n_draws, n_values, n_samples).numpy().astype(np.int64)
    X_samples = X_arr[indices]
    return (X_samples, indices) if return_indices else X_samples


class CWGMMFit:
    """The S x M causally weighted mixtures of :func:`cwgmm_resample`.

    Attributes
    ----------
    members : list of (int, MixtureMember)
        Flat index ``s * M + m`` and the fitted mixture of every (draw, intervention).
    lower_bound, n_iter, converged : ndarray of shape (S, M)
        EM's final weighted log-likelihood per row, iterations and convergence flag.
    """

    def __init__(self, shape: tuple[int, int]):
        self.shape = shape
        self.members: list = []
        self.lower_bound = np.empty(shape)
        self.n_iter = np.empty(shape, dtype=np.int64)
        self.converged = np.empty(shape, dtype=bool)


class MixtureMember:
    """Batch member ``j`` of a batched mixture, with unbatched fitted attributes.

    The mixture was fitted to ``(X − center) / spread``; the attributes here are in the units
    of ``X``. A spherical covariance becomes a diagonal one there (``spread`` differs by column).
    """

    def __init__(self, gm: WeightedGaussianMixture, j: int, center, spread):
        cov = np.asarray(gm.covariances_[j])
        self.covariance_type = gm.covariance_type
        self.weights_ = gm.weights_[j]
        self.means_ = gm.means_[j] * spread + center
        if gm.covariance_type in ("full", "tied"):
            self.covariances_ = cov * np.outer(spread, spread)
        elif gm.covariance_type == "diag":
            self.covariances_ = cov * spread**2
        else:
            self.covariances_ = cov[:, None] * spread**2
            self.covariance_type = "diag"


def cwgmm_resample(
    X,
    log_weights,
    n_components,
    n_samples: int,
    *,
    covariance_type: str = "full",
    random_state=None,
    device=None,
):
    """Fit a CW-GMM for every (draw, intervention) and draw ``n_samples`` rows from each.

    All members sharing a number of components are fitted in one batched EM
    (:class:`~bayes_mech.WeightedGaussianMixture` with ``sample_weight`` of shape (B, N)), in
    standardised coordinates (:func:`_standardize_columns`), so that rescaling a column of ``X``
    rescales its samples and changes nothing else.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        Effect (or its image under a feature map).
    log_weights : array-like or Tensor of shape (n_draws, n_values, n_rows)
        Front-door log-weights; normalised here if they are not.
    n_components : int or array-like of int of shape (n_values,)
        K of the mixtures of each intervention value.
    n_samples : int
        Rows drawn from each mixture.
    covariance_type : {"full", "diag", "spherical", "tied"}, default="full"
    random_state : None, int or numpy RandomState/Generator
        Seeds the EM initialisation and the sampling.
    device : str or torch.device, optional

    Returns
    -------
    samples : ndarray of shape (n_draws, n_values, n_samples, n_features)
    fit : CWGMMFit
        Mixtures and log-likelihoods in the units of ``X``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> X = np.random.default_rng(0).normal(size=(100, 1)) + np.repeat([[0.0], [10.0]], 50, axis=0)
    >>> lw = torch.log(torch.tensor([[[1.0] * 50 + [1e-9] * 50]], dtype=torch.float64))
    >>> samples, fit = cwgmm_resample(X, lw, n_components=1, n_samples=500, random_state=0)
    >>> samples.shape, bool(abs(samples.mean()) < 0.5), fit.converged.tolist()
    ((1, 1, 500, 1), True, [[True]])
    """
    X_arr = check_array(X, "X", ndim=2, allow_1d=True)
    lw = normalize_log_weights(log_weights)
    n_draws, n_values, n_rows = lw.shape
    n_samples = check_positive_int(n_samples, "n_samples")
    ks = np.broadcast_to(np.asarray(n_components), (n_values,)).astype(np.int64)
    rs = check_random_state(random_state)
    fit_seed, sample_seed = (int(v) for v in rs.randint(0, 2**31 - 1, size=2))
    W = lw.exp().numpy()  # (S, M, N); each row sums to one
    fit = CWGMMFit((n_draws, n_values))
    samples = np.empty((n_draws * n_values, n_samples, X_arr.shape[1]))
    Z, center, spread = _standardize_columns(X_arr)
    log_jacobian = float(np.log(spread).sum())  # log p_X(x) = log p_Z(z) − Σ_j log spread_j
    for K in np.unique(ks):
        cols = np.flatnonzero(ks == K)
        index = (np.arange(n_draws)[:, None] * n_values + cols[None, :]).ravel()
        gm = WeightedGaussianMixture(
            n_components=int(K),
            covariance_type=covariance_type,
            random_state=fit_seed,
            device=device,
        ).fit(Z, sample_weight=W[:, cols, :].reshape(-1, n_rows))
        fit.members.extend(
            (int(i), MixtureMember(gm, j, center, spread)) for j, i in enumerate(index)
        )
        for name in ("lower_bound", "n_iter", "converged"):
            getattr(fit, name).reshape(-1)[index] = getattr(gm, name + "_")
        fit.lower_bound.reshape(-1)[index] -= log_jacobian
        drawn, _ = gm.sample(n_samples, random_state=sample_seed + int(K))
        samples[index] = drawn * spread + center
    return samples.reshape(n_draws, n_values, n_samples, -1), fit

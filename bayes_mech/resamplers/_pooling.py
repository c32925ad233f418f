r"""Partial pooling of the CW-GMMs' component means across intervention values.

Each CW-GMM is fitted on its own intervention value's weights, so a component's mean carries
that value's sampling noise in every feature, also in the features that ``y`` does not move.
A member trained on the samples learns those noise differences between values as if they
were causal (with well-separated clusters a linear model separates them exactly). Measured on
the 64-dimensional synthetic of ``benchmarks/bench_selection.py`` (4 clusters, only feature 0
moved by ``y``; ``benchmarks/results/pooling.md``: 3 seeds, 8 draws, LogisticRegression):
samples from the true ``p(x | do(y))`` trained to 79.34 %, from the fitted 4-component diagonal
CW-GMMs to 77.76 %, and from the true model with only the fitted means in the 62 features ``y``
does not move to 77.67 %; fitted proportions (79.34 %) and variances (79.26 %) cost nothing.

The remedy is the hierarchical model's: for a component ``k`` matched across the values
``m = 1..M`` of one posterior draw and a feature ``j``,

.. math::

    \hat\mu_{mkj} \sim N(\theta_{kj} + \delta_{mkj}, v_{mkj}), \qquad
    \delta_{mkj} \sim N(0, \tau^2_j), \qquad v_{mkj} = \hat\sigma^2_{mkj} / n_{mk},

with :math:`n_{mk} = (\sum_n w_n r_{nk})^2 / \sum_n (w_n r_{nk})^2` the component's Kish
effective rows. :math:`\tau^2_j`, the between-value variance of feature ``j``, is estimated by
the DerSimonian-Laird moment estimator pooled over components (DerSimonian & Laird 1986,
*Control. Clin. Trials* 7(3)), and every mean is replaced by its posterior mean
:math:`\bar\mu_{kj} + \tau^2_j / (\tau^2_j + v_{mkj}) (\hat\mu_{mkj} - \bar\mu_{kj})`
(:math:`\bar\mu` the precision-weighted mean over values). A feature that ``y`` moves gets a
large :math:`\tau^2_j` and keeps its per-value means; one that it does not gets
:math:`\tau^2_j \approx 0` and the values share one mean, estimated from all their rows.
The shrinkage is per feature in the standardised coordinates the mixtures are fitted in
(invariant to rescaling a feature, not to rotations).

The model treats the intervention values as exchangeable, as classes are; on the grid of a
continuous ``y`` the effect of ``y`` is a trend that shrinking towards one mean would flatten,
so the learner refuses pooling there.

Components are matched across values by minimum-cost assignment to the value with the most
effective rows (cost: squared standardised distance between means). Only values whose
mixtures have the same K in that draw are pooled together; their covariance structures may
differ (with ``covariance_type="auto"`` they often do), since the model of the means needs only
each component's per-feature variances.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["component_variances", "match_components", "pool_fitted_means", "pool_means"]


def component_variances(covariances: np.ndarray, covariance_type: str, n_components: int):
    """Per-feature variances ``(B, K, d)`` of batched covariances of ``covariance_type``."""
    cov = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return np.diagonal(cov, axis1=-2, axis2=-1).copy()
    if covariance_type == "tied":
        diag = np.diagonal(cov, axis1=-2, axis2=-1)
        return np.repeat(diag[:, None, :], n_components, axis=1)
    if covariance_type == "diag":
        return cov.copy()
    if covariance_type == "spherical":
        return cov[..., None]  # broadcast over features by the caller's arithmetic
    raise ValueError(
        f"covariance_type must be one of 'full', 'tied', 'diag', 'spherical'; "
        f"got {covariance_type!r}."
    )


def match_components(means: np.ndarray, variances: np.ndarray, reference: int) -> np.ndarray:
    """Permutations ``(M, K)`` putting each value's components in the order of ``reference``'s.

    ``perm[m, k]`` is the component of value ``m`` matched to component ``k`` of the reference,
    by minimum total squared standardised distance between means (Hungarian algorithm).

    Examples
    --------
    >>> means = np.array([[[0.0], [5.0]], [[5.2], [0.1]]])
    >>> match_components(means, np.ones_like(means), reference=0).tolist()
    [[0, 1], [1, 0]]
    """
    n_values, n_components = means.shape[:2]
    perm = np.empty((n_values, n_components), dtype=np.int64)
    ref_mu, ref_var = means[reference], variances[reference]
    for m in range(n_values):
        diff = ref_mu[:, None, :] - means[m][None, :, :]
        scale = ref_var[:, None, :] + variances[m][None, :, :]
        cost = (diff**2 / scale).sum(-1)  # (K_ref, K_m)
        rows, cols = linear_sum_assignment(cost)
        perm[m, rows] = cols
    return perm


def pool_means(means: np.ndarray, variances: np.ndarray, n_eff: np.ndarray):
    """Empirical-Bayes posterior means of matched component means across intervention values.

    Parameters
    ----------
    means : ndarray of shape (M, K, d)
        Component means of ``M`` values, component ``k`` matched across values.
    variances : ndarray of shape (M, K, d)
        The components' per-feature variances.
    n_eff : ndarray of shape (M, K)
        The components' effective rows.

    Returns
    -------
    pooled : ndarray of shape (M, K, d)
    tau2 : ndarray of shape (d,)
        Between-value variance of each feature (DerSimonian-Laird, pooled over components).
    shrink : ndarray of shape (M, K, d)
        ``tau2 / (tau2 + v)``: 1 keeps a value's own mean, 0 replaces it by the pooled one.

    Examples
    --------
    Two values whose means differ by noise in feature 1 and by 3 in feature 0:

    >>> means = np.array([[[0.0, 0.05]], [[3.0, -0.05]]])
    >>> pooled, tau2, _ = pool_means(means, np.ones((2, 1, 2)), np.full((2, 1), 100.0))
    >>> pooled.round(3).tolist()
    [[[0.003, 0.0]], [[2.997, 0.0]]]
    """
    means = np.asarray(means, dtype=np.float64)
    n_values = means.shape[0]
    if n_values < 2:
        return means.copy(), np.zeros(means.shape[-1]), np.ones_like(means)
    v = np.broadcast_to(variances, means.shape) / np.asarray(n_eff, dtype=np.float64)[..., None]
    v = np.maximum(v, np.finfo(np.float64).tiny)
    prec = 1.0 / v
    total = prec.sum(0)  # (K, d)
    center = (prec * means).sum(0) / total
    q = (prec * (means - center) ** 2).sum(0)
    c = total - (prec**2).sum(0) / total
    tau2 = np.maximum(0.0, (q - (n_values - 1)).sum(0) / c.sum(0))  # (d,)
    shrink = tau2 / (tau2 + v)  # (M, K, d): 1 keeps the value's mean, 0 pools it fully
    return center + shrink * (means - center), tau2, shrink


def pool_fitted_means(groups, W: np.ndarray, Z: np.ndarray, n_values: int) -> np.ndarray:
    """Partially pool, in place, the means of batched mixtures across each draw's values.

    ``groups`` holds ``(mixture, flat member indices s * M + m, batch positions)`` as in
    :func:`~bayes_mech.resamplers.cwgmm._draw_from`; ``W`` ``(S * M, N)`` the weights each
    member was fitted to and ``Z`` ``(N, d)`` the rows, both in the mixtures' coordinates.
    The members of one draw with the same K are pooled together, whatever their covariance
    structures (the model of the means needs only each component's per-feature variances).

    Returns the pooled share of every member, ``(S * M,)``: the mean over its components and
    features of ``1 - shrink`` (0: its own means kept, 1: fully pooled); NaN for a member
    pooled with no other value.
    """
    share = np.full(W.shape[0], np.nan)
    # (member, mixture, batch position) of every member, by (draw, K)
    by_draw_k: dict[tuple[int, int], list] = {}
    for gm, index, positions in groups:
        n_components = gm.weights_.shape[-1]
        for i, pos in zip(np.asarray(index).tolist(), np.asarray(positions).tolist(), strict=True):
            by_draw_k.setdefault((i // n_values, n_components), []).append((i, gm, pos))
    resp = {}  # one E-pass per mixture, only where some draw is pooled
    for members in by_draw_k.values():
        if len(members) < 2:
            continue
        means, var, n_eff = [], [], []
        for i, gm, pos in members:
            if id(gm) not in resp:
                resp[id(gm)] = np.asarray(gm.predict_proba(Z))  # (B, N, K)
            wr = W[i][:, None] * resp[id(gm)][pos]  # (N, K)
            n_eff.append(wr.sum(0) ** 2 / np.maximum((wr**2).sum(0), np.finfo(np.float64).tiny))
            mean = gm.means_[pos]
            k = mean.shape[0]
            v = component_variances(gm.covariances_[pos][None], gm.covariance_type, k)[0]
            means.append(mean)
            var.append(np.broadcast_to(v, mean.shape))
        means, var, n_eff = np.stack(means), np.stack(var), np.stack(n_eff)
        perm = match_components(means, var, reference=int(np.argmax(n_eff.sum(1))))
        order = perm[..., None]
        pooled, _, shrink = pool_means(
            np.take_along_axis(means, order, 1),
            np.take_along_axis(var, order, 1),
            np.take_along_axis(n_eff, perm, 1),
        )
        out = means.copy()
        np.put_along_axis(out, order, pooled, axis=1)
        for row, (i, gm, pos) in enumerate(members):
            gm.means_[pos] = out[row]
            share[i] = 1.0 - shrink[row].mean()
    return share

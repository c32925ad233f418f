"""Cross-validated weighted log-likelihood: the ``"cv"`` criterion of model selection.

BIC's penalty is an asymptotic approximation, and with few effective rows in many dimensions it
fails: the identified-K rule then pins ``K = 1``. The held-out log-likelihood needs no parameter
count. Each row belongs to one of ``n_folds`` folds; the mixture is fitted to the other folds'
weights and scored on the fold's own rows, and the weighted held-out log-likelihoods of all
folds add up to one number per weight vector. Everything is batched: the ``n_folds · B``
training weight vectors of a candidate ``K`` are one batched fit.
"""

from __future__ import annotations

import numpy as np

from bayes_mech.mixture._base import kish_ess
from bayes_mech.mixture._covariances import n_parameters
from bayes_mech.mixture.gaussian import WeightedGaussianMixture

#: Rows times members scored per call of ``score_samples`` (bounds the ``(B, K, rows)`` array).
SCORE_CHUNK = 2**22


def weighted_folds(W: np.ndarray, n_folds: int, rng) -> np.ndarray:
    """Fold index of every row for every weight vector, shape ``(B, N)``.

    Rows are ranked by weight and each block of ``n_folds`` consecutive ranks is dealt to the
    folds in random order, so each fold holds about ``1 / n_folds`` of every member's weight mass.
    Front-door weights put much of the mass on a few rows, and a plain random split can leave a
    fold with most of it: its training set would then miss what the mixture must describe.
    """
    n_batch, n_rows = W.shape
    ranks = np.argsort(-W, axis=1, kind="stable")
    n_blocks = -(-n_rows // n_folds)
    deal = np.argsort(rng.random_sample((n_batch, n_blocks, n_folds)), axis=-1)
    folds = np.empty((n_batch, n_rows), dtype=np.int64)
    np.put_along_axis(folds, ranks, deal.reshape(n_batch, -1)[:, :n_rows], axis=1)
    return folds


class HeldOutDeviance:
    r"""The ``"cv"`` score of candidate mixtures for weight vectors ``W`` (B, N).

    For member ``b`` with folds :math:`F_1..F_m` (:func:`weighted_folds`) and
    :math:`\hat\theta_{-f}` the mixture fitted to the weights with fold ``f`` set to zero,

    .. math::

        \mathrm{CV} = -2 N_{\rm eff} \sum_f \sum_{n \in F_f} \bar w_n
        \log p(x_n \mid \hat\theta_{-f}),

    the held-out deviance on the scale of the weighted BIC (lower is better; :math:`\bar w`
    normalised, :math:`N_{\rm eff}` the Kish effective sample size). Each fold's fit starts from
    the full-data start of its member (``means_init``), so the candidates of one member compare
    mixtures grown from the same centres, as with BIC.
    """

    def __init__(self, X: np.ndarray, W: np.ndarray, n_folds: int, rng):
        self.X, self.W, self.n_folds = X, W, n_folds
        self.folds = weighted_folds(W, n_folds, rng)
        self.n_eff = kish_ess(W)
        self.wbar = W / W.sum(1, keepdims=True)
        #: Whether row n is in fold f of member b, (F, B, N).
        self.held = self.folds[None] == np.arange(n_folds)[:, None, None]
        #: Positive-weight training rows of every member's smallest training set.
        self.n_train = ((W[None] > 0) & ~self.held).sum(-1).min(0)
        #: Held-out log-likelihood of every row, per fitted (structure, K): (members, float32).
        self.log_lik: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def score(self, k: int, members: np.ndarray, mixture_kwargs: dict) -> np.ndarray:
        """Held-out deviance of ``k`` components for batch members ``members``, shape ``(len,)``.

        ``mixture_kwargs`` go to :class:`WeightedGaussianMixture` (``means_init`` of shape
        ``(len(members), k, d)`` is repeated for every fold).
        """
        W, held, n_folds = self.W[members], self.held[:, members], self.n_folds
        train = np.where(held, 0.0, W[None]).reshape(-1, W.shape[1])
        kwargs = dict(mixture_kwargs)
        if kwargs.get("means_init") is not None:
            kwargs["means_init"] = np.tile(np.asarray(kwargs["means_init"]), (n_folds, 1, 1))
        gm = WeightedGaussianMixture(k, **kwargs).fit(self.X, sample_weight=train)
        log_prob = self._score_samples(gm, train.shape[0]).reshape(n_folds, *W.shape)
        row_log_lik = np.where(held, log_prob, 0.0).sum(0)  # each row is held out once
        key = (kwargs.get("covariance_type", "full"), int(k))
        self.log_lik[key] = (members, row_log_lik.astype(np.float32))
        return -2.0 * self.n_eff[members] * (self.wbar[members] * row_log_lik).sum(1)

    def one_standard_error(self, scores, types, cands, n_features: int) -> np.ndarray:
        r"""The fewest-parameter (structure, K) within one standard error of the best score.

        ``scores`` (B, T, C) over ``types`` x ``cands``; returns flat indices into (T, C). The
        standard error is that of the paired difference to the best candidate,
        :math:`2 N_{\rm eff} \sqrt{\sum_n \bar w_n^2 (\delta_n - \bar\delta)^2}` with
        :math:`\delta_n` the difference of the two held-out log-likelihoods of row ``n``: heavy
        weights on rows where the two disagree widen it. The rule (the "one-standard-error rule"
        of Hastie, Tibshirani & Friedman, *Elements of Statistical Learning*, 7.10) takes the
        simplest model the data cannot tell from the best. It does not undo every over-split:
        on front-door weights over 4 Gaussian clusters in 32 dimensions the minimum sat at
        K = 5-7 and K = 4 was more than one standard error from it in most draws (extra
        components fit lumps of a few heavy rows that recur across folds).
        """
        n_batch, n_cands = scores.shape[0], len(cands)
        flat = scores.reshape(n_batch, -1)
        params = np.array([n_parameters(t, int(k), n_features) for t in types for k in cands])
        by_size = np.argsort(params, kind="stable")
        choice = np.argmin(flat, axis=1)
        wbar = self.wbar
        for b in range(n_batch):
            best = choice[b]
            best_ll = self._row_log_lik(types[best // n_cands], cands[best % n_cands], b)
            for idx in by_size[params[by_size] < params[best]].tolist():
                if not np.isfinite(flat[b, idx]):
                    continue
                delta = self._row_log_lik(types[idx // n_cands], cands[idx % n_cands], b)
                delta = delta - best_ll
                mean = (wbar[b] * delta).sum()
                se = 2.0 * self.n_eff[b] * np.sqrt((wbar[b] ** 2 * (delta - mean) ** 2).sum())
                if flat[b, idx] - flat[b, best] <= se:
                    choice[b] = idx
                    break
        return choice

    def _row_log_lik(self, covariance_type: str, k, member: int) -> np.ndarray:
        members, log_lik = self.log_lik[str(covariance_type), int(k)]
        return log_lik[np.searchsorted(members, member)].astype(np.float64)

    def _score_samples(self, gm, n_members: int) -> np.ndarray:
        n_rows = self.X.shape[0]
        step = max(1, SCORE_CHUNK // max(1, n_members * gm.n_components))
        parts = [
            np.atleast_2d(gm.score_samples(self.X[s : s + step])) for s in range(0, n_rows, step)
        ]
        return np.concatenate(parts, axis=1)

"""Choosing the number of mixture components for weighted data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_mech._validation import (
    check_option,
    check_positive_int,
    check_random_state,
    check_sample_weight,
    resolve_device,
    seed_from,
)
from bayes_mech.mixture._base import (
    _check_X,
    _threads_for,
    canonical_order,
    kish_ess,
    weighted_kmeans_plusplus,
)
from bayes_mech.mixture._covariances import COVARIANCE_TYPES, n_parameters
from bayes_mech.mixture._crossval import HeldOutDeviance
from bayes_mech.mixture.dirichlet import WeightedBayesianGaussianMixture
from bayes_mech.mixture.gaussian import WeightedGaussianMixture

__all__ = ["AUTO_COVARIANCE_TYPES", "CRITERIA", "SelectionResult", "select_n_components"]

#: The criteria of :func:`select_n_components`.
CRITERIA = ("bic", "aic", "bic_eff", "cv", "dp")

#: The structures ``covariance_type="auto"`` chooses among, jointly with K: from the most
#: flexible (a full covariance per component) to the fewest parameters per component, which is
#: what lets K > 1 be identified with few effective rows in many dimensions.
AUTO_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@dataclass(frozen=True)
class SelectionResult:
    """What :func:`select_n_components` chose and why.

    Attributes
    ----------
    n_components : int or ndarray of shape (n_batch,)
        The chosen ``K`` (per batch member for 2-D weights).
    criterion : {"bic", "aic", "bic_eff", "cv", "dp"}
    candidates : ndarray of shape (n_candidates,)
        The ``K`` tried (``"bic"``/``"aic"``/``"cv"``), or ``1..max(candidates)`` for ``"dp"``.
    scores : ndarray of shape (n_candidates,) or (n_batch, n_candidates)
        ``"bic"``/``"aic"``/``"cv"``: the criterion of each candidate (lower is better; ``inf``
        where a candidate was not fitted: fewer positive-weight rows than components, or, except
        for the smallest candidate, at least as many free parameters as the effective sample size
        :math:`N_{\rm eff}` (``"bic"``/``"aic"``) or more components than the positive-weight
        rows of a training fold (``"cv"``); or a member that stopped early by ``patience``).
        ``"cv"``: the held-out deviance (see :func:`select_n_components`). ``"dp"``: the fitted DP
        mixture's component weights sorted in decreasing order, so that ``n_components`` is the
        number of them above ``weight_threshold``.
        With ``covariance_type="auto"`` one more axis before the candidates: the structures of
        :data:`AUTO_COVARIANCE_TYPES`, in that order (with a list of structures, those, in the
        same order).
    estimator : WeightedGaussianMixture or WeightedBayesianGaussianMixture
        ``"dp"``: the fitted DP mixture. ``"bic"``/``"aic"``: the mixture fitted with the chosen
        ``K`` (unbatched), or ``None`` for 2-D weights, whose members may choose different ``K``.
    fits : dict of (str, int) to (WeightedGaussianMixture, ndarray of int)
        ``"bic"``/``"aic"``: for every (covariance type, ``K``) that was fitted, the batched
        mixture and the batch rows (of ``sample_weight``) it was fitted to, so that a caller can
        use the chosen fits without fitting again.
    covariance_type : str or ndarray of str of shape (n_batch,)
        The covariance structure of the chosen mixtures: the one asked for, or with ``"auto"``
        the one chosen with ``K`` (per batch member for 2-D weights).
    """

    n_components: int | np.ndarray
    criterion: str
    candidates: np.ndarray
    scores: np.ndarray
    estimator: object = None
    fits: dict | None = None
    covariance_type: str | np.ndarray = "full"

    def __iter__(self):
        """Unpack as ``n_components, scores = select_n_components(...)``."""
        return iter((self.n_components, self.scores))


def select_n_components(
    X,
    sample_weight=None,
    candidates=range(1, 11),
    criterion="bic",
    random_state=None,
    patience=None,
    n_folds=5,
    allowed=None,
    **mixture_kwargs,
) -> SelectionResult:
    r"""Choose the number of components of a weighted Gaussian mixture.

    ``"bic"`` and ``"aic"`` fit a :class:`WeightedGaussianMixture` for every candidate ``K`` (all
    batch members in one batched fit per ``K``) and pick the smallest weighted criterion

    .. math::

        \mathrm{BIC}(K) = -2 N_{\rm eff} \sum_n \bar w_n \log p(x_n \mid \hat\theta_K)
        + k_K \log N_{\rm eff}, \qquad \mathrm{AIC}(K) = \ldots + 2 k_K,

    with :math:`N_{\rm eff}` the Kish effective sample size (paper §3, step 3). ``"cv"`` fits the
    same mixtures and scores them by the weighted held-out log-likelihood over ``n_folds`` folds,
    as a deviance on the scale of BIC,

    .. math::

        \mathrm{CV}(K) = -2 N_{\rm eff} \sum_f \sum_{n \in F_f} \bar w_n
        \log p(x_n \mid \hat\theta_{K,-f}),

    with :math:`\hat\theta_{K,-f}` fitted without fold :math:`F_f` (folds dealt in order of
    weight, so that each holds about an equal share of the weight mass; each fold's fit starts
    from the member's full-data start). It needs no parameter count, so it can find ``K > 1``
    where BIC's identification rule below pins ``K = 1`` (few effective rows in many
    dimensions), at ``n_folds + 1`` times BIC's cost. A candidate with
    ``k_K >= N_eff`` free parameters is skipped (unless it is the smallest): such a mixture can
    put components on single rows, whose likelihood then grows without bound as their
    covariances shrink to ``reg_covar``, so its criterion measures ``reg_covar``, not the data
    (unweighted BIC chose K = 10 on 20 rows from 2 clusters in 5 of 5 seeds without this rule).
    Front-door weights often leave a few dozen effective rows, so this matters. ``"bic_eff"``
    (:meth:`WeightedGaussianMixture.bic_eff`) counts each component's parameters by how heavy the
    weights of its rows are, so a component that sits on a few heavy rows pays for them; it
    replaces the identification rule by one per component (no component on fewer effective rows
    than its covariance needs) and so reaches ``K > 1`` in many dimensions. ``"dp"`` fits one
    :class:`WeightedBayesianGaussianMixture` truncated at ``max(candidates)`` and counts the
    components whose weight exceeds its ``weight_threshold``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    sample_weight : array-like of shape (n_samples,) or (n_batch, n_samples), default=None
    candidates : iterable of int, default=range(1, 11)
    criterion : {"bic", "aic", "bic_eff", "cv", "dp"}, default="bic"
    random_state : int, RandomState, Generator or None
        Seeds the initialisation: one weighted k-means++ run per batch member whose first ``K``
        centres start the fit with ``K`` components (nested starts; with ``n_init > 1`` or
        ``init_params="random"`` every candidate draws its own).
    patience : int or None, default=None
        Stop trying larger ``K`` for a batch member once its criterion has risen ``patience``
        times in a row since its best (``None``: try every candidate). ``MechanismLearner`` uses
        2, which cuts the per-draw selection on the paper's A.1 (N = 5000, 64 weight vectors)
        from about 4.4 s to 1.5 s; a larger ``K`` that undercuts a minimum after two rises is
        usually one lucky EM start, and it made the choice vary with the seed.
    n_folds : int, default=5
        Folds of ``criterion="cv"`` (at least 2; ignored by the other criteria).
    allowed : array-like of bool of shape (n_batch, n_candidates), default=None
        The candidates each batch member may choose (``None``: all). A member is fitted only at
        its allowed ``K`` (``patience`` counts those), so a narrow set per member is cheaper
        than the whole scan; its smallest allowed ``K`` is fitted even where not identified.
        Not with ``"dp"``.
    **mixture_kwargs
        Passed to the mixture (``covariance_type``, ``n_init``, ``tol``, ...). With
        ``covariance_type="auto"`` (``"bic"``/``"aic"``/``"bic_eff"``/``"cv"``) the structure is
        chosen with K, per batch member, among :data:`AUTO_COVARIANCE_TYPES`: the criterion is
        minimised over both; a list of structures (``["diag", "spherical"]``) chooses among
        those only. Each structure has its own identification limit (a diagonal or spherical mixture
        identifies more components than a full one on the same effective rows), which is what
        lets K > 1 be found with few effective rows in many dimensions.

    Returns
    -------
    SelectionResult
        Also unpacks as ``(n_components, scores)``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_mech.mixture import select_n_components
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(c, 1.0, (150, 2)) for c in ([0, 0], [8, 0], [0, 8])])
    >>> k, scores = select_n_components(X, candidates=range(1, 6), random_state=0)
    >>> int(k), scores.shape
    (3, (5,))
    """
    check_option(criterion, "criterion", CRITERIA)
    X = _check_X(X)
    weights = check_sample_weight(sample_weight, X.shape[0])
    cands = np.asarray(list(candidates))
    if cands.size == 0:
        raise ValueError("candidates must contain at least one number of components; got none.")
    for k in cands.tolist():
        check_positive_int(k, "candidates")
    cands = np.unique(cands)
    if criterion == "dp":
        if chooses_structure(mixture_kwargs.get("covariance_type", "full")):
            raise ValueError(
                "covariance_type='auto' chooses the structure by the weighted BIC or AIC; with "
                "criterion='dp' pass one of "
                f"{list(COVARIANCE_TYPES)}."
            )
        dp = WeightedBayesianGaussianMixture(
            n_components=int(cands.max()), random_state=random_state, **mixture_kwargs
        ).fit(X, sample_weight=weights)
        scores = -np.sort(-np.atleast_2d(dp.weights_), axis=-1)
        scores = scores if weights.ndim == 2 else scores[0]
        return SelectionResult(
            n_components=dp.effective_n_components_,
            criterion="dp",
            candidates=np.arange(1, int(cands.max()) + 1),
            scores=scores,
            estimator=dp,
        )
    W = np.atleast_2d(weights)
    n_positive = int((W > 0).sum(1).min())
    if cands.min() > n_positive:
        raise ValueError(
            f"Every candidate exceeds the {n_positive} rows with positive weight; "
            f"got candidates {cands.tolist()}."
        )
    first_run = None  # every member's first k-means++ run: _NestedStarts.FIRST_RUN centres
    if allowed is None:
        allowed = np.ones((W.shape[0], cands.size), dtype=bool)
    else:  # a member allowed only K <= k needs no longer a start than k
        allowed = _check_allowed(allowed, W.shape[0], cands, n_positive)
        first_run = cands[allowed.shape[1] - 1 - np.argmax(allowed[:, ::-1], axis=1)]
    covariance_type = mixture_kwargs.pop("covariance_type", "full")
    types = structures_to_scan(covariance_type)
    if patience is not None:
        patience = check_positive_int(patience, "patience")
    nested = (
        mixture_kwargs.get("n_init", 1) == 1
        and mixture_kwargs.get("init_params", "k-means++") == "k-means++"
        and mixture_kwargs.get("means_init") is None
    )
    # One set of nested k-means++ starts for every structure: the structures then compare
    # mixtures grown from the same centres, and the starts cost once.
    k_max = int(min(cands.max(), n_positive))
    starts = _NestedStarts(X, W, k_max, random_state, first_run) if nested else None
    cv = None
    if criterion == "cv":
        n_folds = check_positive_int(n_folds, "n_folds", minimum=2)
        # Its own stream: the starts (and so "bic"/"aic") see the same draws as without "cv".
        cv = HeldOutDeviance(X, W, n_folds, np.random.RandomState(seed_from(random_state) + 1))
    scan = _Scan(
        X, W, weights, cands, criterion, n_positive, patience, starts, random_state, cv, allowed
    )
    # The fits, starts and scores on the threads a fit of the largest K would use (each fit
    # sets them again; scoring and k-means++ run between fits).
    work = X.shape[0] * W.shape[0] * k_max * X.shape[1]
    with _threads_for(work, resolve_device(mixture_kwargs.get("device"))):
        scores = np.stack([scan.run(ctype, mixture_kwargs) for ctype in types], axis=1)
    if cv is None:
        best = np.argmin(scores.reshape(W.shape[0], -1), axis=1)
    else:
        best = cv.one_standard_error(scores, types, cands, X.shape[1])
    # A member with no finite score (bic_eff's degenerate fits at every K it was allowed) takes
    # its smallest allowed K of the first structure: the fit that always ran.
    nowhere = ~np.isfinite(scores.reshape(W.shape[0], -1)).any(1)
    best[nowhere] = scan.first[nowhere]
    t_idx, k_idx = np.divmod(best, cands.size)
    chosen, chosen_types = cands[k_idx], np.asarray(types)[t_idx]
    out_scores = scores if chooses_structure(covariance_type) else scores[:, 0]
    if weights.ndim == 1:
        key = (str(chosen_types[0]), int(chosen[0]))
        return SelectionResult(
            int(chosen[0]), criterion, cands, out_scores[0], scan.fits[key][0], scan.fits,
            str(chosen_types[0]),
        )  # fmt: skip
    return SelectionResult(chosen, criterion, cands, out_scores, None, scan.fits, chosen_types)


def _check_allowed(allowed, n_batch: int, cands: np.ndarray, n_positive: int) -> np.ndarray:
    """``allowed`` as a (n_batch, n_candidates) bool array in the order of the sorted unique
    ``cands``; a member with no allowed candidate within its rows gets the smallest."""
    mask = np.asarray(allowed)
    if mask.dtype != bool or mask.shape != (n_batch, cands.size):
        raise ValueError(
            f"allowed must be a bool array of shape (n_batch, n_candidates) = ({n_batch}, "
            f"{cands.size}); got dtype {mask.dtype} and shape {mask.shape}."
        )
    mask = mask & (cands <= n_positive)
    mask[~mask.any(1), 0] = True
    return mask


def chooses_structure(covariance_type) -> bool:
    """Whether ``covariance_type`` asks for the structure to be chosen: ``"auto"`` or a
    sequence of structures."""
    return isinstance(covariance_type, (list, tuple, np.ndarray)) or covariance_type == "auto"


def structures_to_scan(covariance_type) -> tuple[str, ...]:
    """The structures a selection scans: one, :data:`AUTO_COVARIANCE_TYPES` for ``"auto"``, or
    those of a sequence (in the order of :data:`AUTO_COVARIANCE_TYPES`)."""
    if not isinstance(covariance_type, (list, tuple, np.ndarray)):
        check_option(covariance_type, "covariance_type", (*COVARIANCE_TYPES, "auto"))
        return AUTO_COVARIANCE_TYPES if covariance_type == "auto" else (covariance_type,)
    given = list(covariance_type)
    if not given:
        raise ValueError(
            "covariance_type as a sequence must name at least one of "
            f"{list(AUTO_COVARIANCE_TYPES)}; got an empty sequence."
        )
    for name in given:
        check_option(name, "covariance_type", COVARIANCE_TYPES)
    return tuple(t for t in AUTO_COVARIANCE_TYPES if t in given)


class _Scan:
    """The weighted BIC/AIC of every candidate K for one covariance structure, batched.

    Members whose criterion rose ``patience`` times in a row, or whose larger K are no longer
    identified (``k_K >= N_eff`` free parameters), try no larger K; fits are kept in ``fits``
    under ``(structure, K)``.
    """

    def __init__(
        self, X, W, weights, cands, criterion, n_positive, patience, starts, seed, cv, allowed
    ):
        self.X, self.W, self.weights, self.cands = X, W, weights, cands
        self.criterion, self.n_positive, self.patience = criterion, n_positive, patience
        self.starts, self.seed, self.cv, self.allowed = starts, seed, cv, allowed
        self.first = allowed.argmax(1)  # each member's smallest allowed candidate
        self.n_eff = kish_ess(W)
        self.fits = {}

    def run(self, covariance_type: str, mixture_kwargs: dict) -> np.ndarray:
        X, W, n_batch = self.X, self.W, self.W.shape[0]
        scores = np.full((n_batch, self.cands.size), np.inf)
        active = np.ones(n_batch, dtype=bool)
        best = np.full(n_batch, np.inf)
        rises = np.zeros(n_batch, dtype=np.int64)
        for j, k in enumerate(self.cands.tolist()):  # one batched fit per K, not per member
            if k > self.n_positive:
                continue
            if self.criterion == "bic_eff":  # its own per-component rule, after the fit
                identified = np.ones(n_batch, dtype=bool)
            elif self.cv is None:
                identified = n_parameters(covariance_type, k, X.shape[1]) < self.n_eff
            else:  # held-out scores need no parameter count; each training fold needs k rows
                identified = self.cv.n_train >= k
            smallest = j <= self.first  # fitted even where not identified
            run = active & self.allowed[:, j] & (identified | smallest)
            if not run.any():
                active &= identified | smallest
                continue
            kwargs = {**mixture_kwargs, "covariance_type": covariance_type}
            if self.starts is not None:
                kwargs["means_init"] = self.starts.first(k, np.flatnonzero(run))
            gm = WeightedGaussianMixture(k, random_state=self.seed, **kwargs)
            sw = self.weights if self.weights.ndim == 1 else W[run]
            gm.fit(X, sample_weight=sw)
            scores[run, j] = self._score(gm, sw, k, np.flatnonzero(run), kwargs)
            self.fits[covariance_type, k] = (gm, np.flatnonzero(run))
            improved = scores[run, j] < best[run]
            best[run] = np.minimum(best[run], scores[run, j])
            rises[run] = np.where(improved, 0, rises[run] + 1)
            active &= identified | smallest
            if self.patience is not None:
                active &= rises < self.patience
        return scores

    def _score(self, gm, sw, k, members, kwargs):
        if self.criterion == "bic":
            return gm.bic(self.X, sw)
        if self.criterion == "aic":
            return gm.aic(self.X, sw)
        if self.criterion == "bic_eff":
            return gm.bic_eff(self.X, sw)
        if k > self.cv.n_train[members].min():  # only the smallest candidate gets here
            return np.inf
        return self.cv.score(k, members, {**kwargs, "random_state": self.seed})


class _NestedStarts:
    """Initial means from weighted k-means++ runs, nested across candidate ``K``.

    k-means++ places centres one at a time, so the first ``K`` of a longer run are a k-means++
    initialisation for ``K``: every candidate grows the previous one's start by one centre. The
    criterion then compares nested starts rather than unrelated random ones (a smoother curve in
    ``K``). A member first gets a run of ``FIRST_RUN`` centres, and a run of ``k_max`` only if it
    goes past that: with per-draw selection over hundreds of weight vectors (a regression grid)
    one long run each cost more than all the EM fits. ``first_run`` (B,) sets each member's first
    run instead (a member allowed only ``K <= k`` gets one run of ``k``).
    """

    FIRST_RUN = 4

    def __init__(self, X, W, k_max: int, random_state, first_run=None):
        self.X, self.W, self.k_max = X, W, k_max
        self.first_run = np.full(W.shape[0], self.FIRST_RUN) if first_run is None else first_run
        self.rng = check_random_state(random_state)
        self.means = np.empty((W.shape[0], k_max, X.shape[1]))
        self.depth = np.zeros(W.shape[0], dtype=np.int64)
        self.order = canonical_order(X)

    def first(self, k: int, rows: np.ndarray) -> np.ndarray:
        """The first ``k`` centres of the members ``rows``, shape ``(len(rows), k, d)``."""
        for b in rows[self.depth[rows] < k].tolist():
            depth = self.k_max if self.depth[b] else min(self.k_max, max(k, self.first_run[b]))
            self.means[b, :depth] = weighted_kmeans_plusplus(
                self.X, depth, self.W[b], self.rng, self.order
            )
            self.depth[b] = depth
        return self.means[rows, :k]

r"""CW-GMM sampling (paper Alg. 1-2): a causally weighted Gaussian mixture per (draw, value).

For every posterior draw ``s`` and intervention value ``y_m`` a Gaussian mixture is fitted to all
rows of ``X`` by weighted EM with the front-door weights :math:`w_{smn}` (paper eq. 2), and fresh
rows are drawn from it: a smoothed version of the causal bootstrap's
:math:`\sum_n w_{smn}\, \delta(x - x_n)`. K is fixed or chosen per (draw, value).
"""

from __future__ import annotations

import numbers

import numpy as np

from bayes_mech._validation import (
    check_array,
    check_positive_int,
    check_random_state,
    seed_from,
)
from bayes_mech.mixture import WeightedGaussianMixture, select_n_components
from bayes_mech.mixture.selection import AUTO_COVARIANCE_TYPES, chooses_structure
from bayes_mech.resamplers._base import FrontDoorProblem, MixtureResampler, standardize_columns
from bayes_mech.resamplers._pooling import pool_fitted_means
from bayes_mech.resamplers._program import CWGMMProgram, MixtureBank
from bayes_mech.weights import normalize_log_weights

__all__ = ["CWGMMFit", "CWGMMResampler", "choose_n_components", "cwgmm_resample"]

#: Candidate numbers of components when ``n_components`` is a criterion ("bic", "aic",
#: "bic_eff", "cv" or "dp").
K_CANDIDATES = range(1, 11)
#: ``select_n_components(patience=...)``: stop at a criterion that has risen twice in a row.
PATIENCE = 2
#: Posterior draws per intervention value that scan every covariance structure with
#: ``covariance_type="auto"``; the value's other draws scan only the structures these chose.
STRUCTURE_DRAWS = 4
#: With ``covariance_type="auto"``, the later draws choose K within this distance of a K that
#: one of the value's first :data:`STRUCTURE_DRAWS` draws chose.
K_WINDOW = 1


class CWGMMFit:
    """The S x M causally weighted mixtures of :func:`cwgmm_resample`.

    Attributes
    ----------
    members : list of (int, MixtureMember)
        Flat index ``s * M + m`` and the fitted mixture of every (draw, intervention).
    lower_bound, n_iter, converged : ndarray of shape (S, M)
        EM's final weighted log-likelihood per row, iterations and convergence flag (of the
        fit before any partial pooling of the means).
    pooled_share : ndarray of shape (S, M)
        With partial pooling, each member's share of pooling (0: own means, 1: fully pooled;
        :func:`~bayes_mech.resamplers._pooling.pool_fitted_means`); NaN where not pooled.
    """

    def __init__(self, shape: tuple[int, int]):
        self.shape = shape
        self.members: list = []
        self.pooled_share = np.full(shape, np.nan)
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
    partial_pooling: bool = False,
):
    """Fit a CW-GMM for every (draw, intervention) and draw ``n_samples`` rows from each.

    All members sharing a number of components are fitted in one batched EM
    (:class:`~bayes_mech.WeightedGaussianMixture` with ``sample_weight`` of shape (B, N)), in
    standardised coordinates (:func:`~bayes_mech.resamplers.standardize_columns`), so that
    rescaling a column of ``X`` rescales its samples and changes nothing else.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        Effect (or its image under a feature map).
    log_weights : array-like or Tensor of shape (n_draws, n_values, n_rows)
        Front-door log-weights; normalised here if they are not.
    n_components : int or array-like of int of shape (n_values,) or (n_draws, n_values)
        K of the mixtures of each intervention value, or of each (draw, value).
    n_samples : int
        Rows drawn from each mixture.
    covariance_type : {"full", "diag", "spherical", "tied"}, default="full"
    random_state : None, int or numpy RandomState/Generator
        Seeds the EM initialisation and the sampling.
    device : str or torch.device, optional
    partial_pooling : bool, default=False
        Shrink each draw's component means across its intervention values by empirical Bayes
        (:mod:`bayes_mech.resamplers._pooling`) before sampling.

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
    ks = _per_member(n_components, n_draws, n_values)
    rs = check_random_state(random_state)
    fit_seed, sample_seed = (int(v) for v in rs.randint(0, 2**31 - 1, size=2))
    W = lw.exp().numpy().reshape(-1, n_rows)  # (S * M, N); each row sums to one
    Z, center, spread = standardize_columns(X_arr)
    groups = []
    for K in np.unique(ks):
        index = np.flatnonzero(ks == K)
        gm = WeightedGaussianMixture(
            n_components=int(K),
            covariance_type=covariance_type,
            random_state=fit_seed,
            device=device,
        ).fit(Z, sample_weight=W[index])
        groups.append((gm, index, np.arange(index.size)))
    pool = (W, Z) if partial_pooling else None
    return _draw_from(groups, (n_draws, n_values), n_samples, center, spread, sample_seed, pool)


def _per_member(n_components, n_draws: int, n_values: int) -> np.ndarray:
    """K of every (draw, value) as a flat ``(S * M,)`` array from K per value or per member."""
    ks = np.asarray(n_components)
    ks = ks if ks.ndim == 2 else np.broadcast_to(ks, (n_values,))[None, :]
    return np.broadcast_to(ks, (n_draws, n_values)).astype(np.int64).reshape(-1)


def _draw_from(groups, shape, n_samples, center, spread, seed, pool=None):
    """Samples and :class:`CWGMMFit` from batched mixtures fitted in standardised coordinates.

    ``groups`` holds ``(mixture, flat member indices s * M + m, batch positions)``: member
    ``index[i]`` is batch member ``positions[i]`` of ``mixture``. ``pool``: ``(W, Z)``, the
    members' weights and the standardised rows, to pool the means across values first.
    """
    n_draws, n_values = shape
    fit = CWGMMFit(shape)
    if pool is not None:
        fit.pooled_share = pool_fitted_means(groups, *pool, n_values).reshape(shape)
    samples = np.empty((n_draws * n_values, n_samples, center.size))
    log_jacobian = float(np.log(spread).sum())  # log p_X(x) = log p_Z(z) − Σ_j log spread_j
    for gm, index, positions in groups:
        fit.members.extend(
            (int(i), MixtureMember(gm, int(j), center, spread))
            for i, j in zip(index.tolist(), positions.tolist(), strict=True)
        )
        for name in ("lower_bound", "n_iter", "converged"):
            getattr(fit, name).reshape(-1)[index] = np.atleast_1d(getattr(gm, name + "_"))[
                positions
            ]
        fit.lower_bound.reshape(-1)[index] -= log_jacobian
        K = gm.weights_.shape[-1]
        drawn, _ = gm.sample(n_samples, random_state=seed + int(K), stratified=True)
        samples[index] = drawn.reshape(-1, n_samples, center.size)[positions] * spread + center
    return samples.reshape(n_draws, n_values, n_samples, -1), fit


def choose_n_components(
    X: np.ndarray,
    weights: np.ndarray,
    n_components,
    keys,
    *,
    covariance_type: str,
    seed: int,
    candidates=K_CANDIDATES,
) -> np.ndarray:
    """K for each weight vector in ``weights`` (B, N): fixed, from a dict keyed by ``keys``,
    or chosen by :func:`~bayes_mech.select_n_components` ("bic", "aic", "bic_eff", "cv", "dp")
    in standardised coordinates (those the mixtures are fitted in)."""
    n_batch = weights.shape[0]
    if isinstance(n_components, numbers.Integral):
        return np.full(n_batch, int(n_components))
    if isinstance(n_components, dict):
        key_values = np.asarray(list(n_components.keys()), dtype=np.float64)
        values = np.asarray(keys).astype(np.float64)
        if values.ndim != 1 or set(key_values.tolist()) != set(values.tolist()):
            raise ValueError(
                f"n_components as a dict must have one key per intervention value "
                f"{values.tolist()}; got keys {key_values.tolist()}."
            )
        return np.array(
            [check_positive_int(n_components[v], f"n_components[{v}]") for v in keys.tolist()]
        )
    Z = standardize_columns(X)[0]
    chosen = _select(Z, weights, n_components, covariance_type, seed, candidates=candidates)
    return np.atleast_1d(np.asarray(chosen.n_components, dtype=int))


def _select(
    Z, weights, criterion, covariance_type, seed, device=None, candidates=K_CANDIDATES, allowed=None
):
    """The resamplers' K selection: :data:`K_CANDIDATES`, :data:`PATIENCE`, in standardised
    coordinates ``Z``."""
    return select_n_components(
        Z,
        sample_weight=weights,
        candidates=candidates,
        criterion=criterion,
        covariance_type=covariance_type,
        random_state=seed,
        patience=PATIENCE,
        allowed=allowed,
        device=device,
    )


def choose_structures(
    Z, W, criterion, shape, seed, device=None, covariance_type="auto"
) -> list[tuple[str, ...]]:
    """The covariance structures each intervention value's draws choose among, for
    ``covariance_type="auto"``.

    ``W`` holds the weights of every (draw, value) as rows ``s * M + m``. The first
    :data:`STRUCTURE_DRAWS` draws of each value scan every (structure, K) of
    :data:`~bayes_mech.mixture.selection.AUTO_COVARIANCE_TYPES`; the structures they chose are
    the ones every draw of the value then chooses among, with K. Scanning every structure for
    every draw cost about as much per structure as the chosen one's scan. The draws still choose
    per draw where the first ones disagree, so most of the structure's uncertainty stays in the
    ensemble, but not all: ``benchmarks/bench_selection.py --rule-check`` counts the later draws
    whose own scan of everything would have chosen outside the set
    (``benchmarks/results/selection_rule.md``).

    One component with a full covariance is the tied mixture with one component: a first draw
    that chose it votes for ``"tied"``, which holds that mixture at K = 1 and costs a fraction
    of ``"full"`` at K > 1 (on the raw digits the first draws' K = 1 had put ``"full"`` in the
    set, and its 64-dimensional K = 2 and 3 fits were a third of the fit).

    ``covariance_type``: ``"auto"`` (all four) or a list of the structures to choose among.

    Returns one tuple of structure names per value, in the order of ``AUTO_COVARIANCE_TYPES``.
    """
    return _probe_structures(Z, W, criterion, shape, seed, device, covariance_type)[0]


def _probe_structures(Z, W, criterion, shape, seed, device=None, covariance_type="auto"):
    """:func:`choose_structures`'s structures and the first draws' own selection (its fits are
    those draws' CW-GMMs)."""
    n_draws, n_values = shape
    n_probe = min(n_draws, STRUCTURE_DRAWS)
    # rows s * M + m with s < n_probe: the first n_probe * M rows
    result = _select(Z, W[: n_probe * n_values], criterion, covariance_type, seed, device)
    return structure_sets(result.covariance_type, result.n_components, n_values), result


def structure_sets(types, ks, n_values: int) -> list[tuple[str, ...]]:
    """The structures each value's first draws chose, from their structures and K as rows
    ``s * M + m``; a single full component counts as ``"tied"`` (the same mixture)."""
    votes = np.asarray(types, dtype=object).reshape(-1, n_values)
    votes[(np.asarray(ks).reshape(-1, n_values) == 1) & (votes == "full")] = "tied"
    return [tuple(t for t in AUTO_COVARIANCE_TYPES if t in votes[:, m]) for m in range(n_values)]


def k_window(probe_ks, n_values: int) -> np.ndarray:
    """Which of :data:`K_CANDIDATES` each value's later draws may choose, ``(M, C)`` bool: those
    within :data:`K_WINDOW` of a K that one of its first draws chose (``probe_ks``, the
    first draws' K as rows ``s * M + m``)."""
    ks = np.asarray(probe_ks).reshape(-1, n_values)
    cands = np.asarray(K_CANDIDATES)
    return (np.abs(cands[None, None, :] - ks[:, :, None]) <= K_WINDOW).any(0)


def _select_and_draw(
    X,
    log_weights,
    criterion,
    n_samples,
    *,
    covariance_type,
    seed,
    device,
    ks=None,
    partial_pooling=False,
):
    """Per-member K by ``criterion`` ("bic"/"aic"/"bic_eff"/"cv"), each (draw, value) on its
    own weights; with ``covariance_type="auto"`` the structure too: the first
    :data:`STRUCTURE_DRAWS` draws among all four (their scan is :func:`choose_structures`'s),
    the others among the structures those chose for the value, at K within :data:`K_WINDOW` of
    theirs (:func:`k_window`). The selection's own fits at the chosen K are the CW-GMMs (no
    second fit). With ``ks`` (S, M) given, K is fixed per member and only the
    structure is chosen, per member, by ``criterion`` at that K.

    Returns samples, :class:`CWGMMFit`, K (S, M) and the covariance structure (S, M).
    """
    W = normalize_log_weights(log_weights).exp().cpu().numpy()
    n_draws, n_values, n_rows = W.shape
    fit_seed, sample_seed = (int(v) for v in check_random_state(seed).randint(0, 2**31 - 1, 2))
    Z, center, spread = standardize_columns(X)
    W = W.reshape(-1, n_rows)
    done = []  # (members, selection) whose selection has already run
    if ks is not None:
        flat = ks.reshape(-1)
        parts = [
            (np.flatnonzero(flat == k), [int(k)], covariance_type, None)
            for k in np.unique(flat).tolist()
        ]
    elif chooses_structure(covariance_type) and n_draws > STRUCTURE_DRAWS:
        # (with no more draws than that, every draw scans every structure: the same fits)
        structures, probe = _probe_structures(
            Z, W, criterion, (n_draws, n_values), fit_seed, device, covariance_type
        )
        probe_rows = STRUCTURE_DRAWS * n_values  # the first draws keep their scan of all four
        done.append((np.arange(probe_rows), probe))
        rest = np.arange(probe_rows, W.shape[0])
        window = k_window(probe.n_components, n_values)
        parts = []
        for t in dict.fromkeys(structures):  # one selection per set of structures
            values = [m for m in range(n_values) if structures[m] == t]
            members = rest[np.isin(rest % n_values, values)]  # member s * M + m is of value m
            parts.append((members, K_CANDIDATES, list(t), window[members % n_values]))
    else:
        parts = [(np.arange(W.shape[0]), K_CANDIDATES, covariance_type, None)]
    done += [
        (members, _select(Z, W[members], criterion, ctype, fit_seed, device, candidates, allowed))
        for members, candidates, ctype, allowed in parts
    ]
    chosen_k = np.empty(W.shape[0], dtype=np.int64)
    chosen_t = np.empty(W.shape[0], dtype=object)
    groups = []
    for members, result in done:
        k_part = np.atleast_1d(np.asarray(result.n_components, dtype=np.int64))
        t_part = np.broadcast_to(np.asarray(result.covariance_type), k_part.shape)
        chosen_k[members], chosen_t[members] = k_part, t_part
        for t, K in sorted({(str(t), int(k)) for t, k in zip(t_part, k_part, strict=True)}):
            gm, rows = result.fits[t, K]
            local = np.flatnonzero((k_part == K) & (t_part == t))
            groups.append((gm, members[local], np.searchsorted(rows, local)))
    pool = (W, Z) if partial_pooling else None
    shape = (n_draws, n_values)
    samples, fit = _draw_from(groups, shape, n_samples, center, spread, sample_seed, pool)
    return samples, fit, chosen_k.reshape(shape), chosen_t.astype(str).reshape(shape)


def _mode(values) -> str:
    """The most frequent entry (the first in sorted order on a tie)."""
    labels, counts = np.unique(np.asarray(values), return_counts=True)
    return str(labels[np.argmax(counts)])


class CWGMMResampler(MixtureResampler):
    """``resampler="cwgmm"``: CW-GMMs of every (draw, intervention), K chosen per draw.

    With a criterion ("bic", "aic", "bic_eff", "cv", "dp"), every (draw, value) chooses its own K on
    its own front-door weights, with its own Kish effective sample size: the uncertainty about K is
    then part of the ensemble's spread instead of one choice shared by every member. On the paper's
    A.1 (N = 5000, 20 replications of benchmarks/bench_calibration.py) the coverage of the members'
    90 % band went from 0.83 (one K from the draw-averaged weights) to 0.89.

    Parameters
    ----------
    n_components : int, "bic", "aic", "bic_eff", "cv", "dp" or dict, default="bic"
        As for :class:`~bayes_mech.MechanismLearner`.
    covariance_type : {"full", "diag", "spherical", "tied", "auto"}, default="full"
    device : str or torch.device, optional

    Attributes
    ----------
    n_components_ : ndarray of shape (M,)
        K per intervention value: the most frequent over draws.
    n_components_draws_ : ndarray of shape (S, M)
        K of every (draw, value).
    covariance_type_ : ndarray of str of shape (M,)
        The covariance structure per intervention value (the most frequent over draws).
    covariance_type_draws_ : ndarray of str of shape (S, M)
        The structure of every (draw, value). With ``covariance_type="auto"`` and a criterion
        (``"bic"``/``"aic"``/``"bic_eff"``/``"cv"``) chosen with K by it, among the structures
        the value's first draws chose (:func:`choose_structures`); otherwise by the weighted BIC
        at the member's K (fixed K, a dict, or ``"dp"``, whose K then comes from a
        full-covariance DP mixture).
    mixtures_ : MixtureBank
        The S x M fitted mixtures, in the units of ``X``.
    fit_ : dict of str to ndarray of shape (S, M)
        EM's ``lower_bound``, ``n_iter`` and ``converged`` per mixture.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from bayes_mech.resamplers import CWGMMResampler, FrontDoorProblem
    >>> X = np.random.default_rng(0).normal(size=(200, 1)) + np.repeat([[0.0], [9.0]], 100, 0)
    >>> lw = torch.log(torch.tensor([[[1.0] * 100 + [1e-12] * 100]], dtype=torch.float64))
    >>> problem = FrontDoorProblem(X, None, None, None, {}, np.array([1]), lw, None)
    >>> rows = CWGMMResampler(n_components=1).resample(problem, 400, random_state=0)
    >>> rows.shape, bool(abs(rows.mean()) < 0.3)
    ((1, 1, 400, 1), True)
    """

    name = "cwgmm"

    def resample(self, problem: FrontDoorProblem, n_samples: int, random_state=None) -> np.ndarray:
        # One seed for the K choice and the fits: an int random_state then gives exactly the
        # fit of cwgmm_resample(..., random_state=random_state) for the chosen K.
        seed = random_state if isinstance(random_state, int) else seed_from(random_state)
        S, M = problem.log_weights.shape[:2]
        auto = chooses_structure(self.covariance_type)  # "auto" or a list of structures
        options = dict(
            covariance_type=self.covariance_type,
            device=self.device,
            partial_pooling=self.partial_pooling,
        )
        types = None
        X = problem.joint_rows
        if self.n_components in ("bic", "aic", "bic_eff", "cv"):
            samples, fit, ks, types = _select_and_draw(
                X, problem.log_weights, self.n_components, n_samples, seed=seed, **options
            )
        else:
            if self.n_components == "dp":
                weights = problem.log_weights.exp().reshape(S * M, -1).cpu().numpy()
            else:  # fixed K, or one per value
                weights = problem.log_weights.exp().mean(dim=0).cpu().numpy()
            chosen = choose_n_components(
                X,
                weights,
                self.n_components,
                problem.interventions,
                # the DP mixture fits one structure: with "auto", K from a full-covariance DP
                covariance_type="full" if auto else self.covariance_type,
                seed=seed,
            )
            ks = np.broadcast_to(chosen.reshape(-1, M), (S, M)).copy()
            if auto:  # the structure by the weighted BIC at each member's K
                samples, fit, ks, types = _select_and_draw(
                    X, problem.log_weights, "bic", n_samples, seed=seed, ks=ks, **options
                )
            else:
                samples, fit = cwgmm_resample(
                    X, problem.log_weights, ks, n_samples, random_state=seed, **options
                )
        if types is None:
            types = np.full((S, M), self.covariance_type)
        self.covariance_type_draws_ = types
        self.covariance_type_ = np.array([_mode(col) for col in types.T])
        self.n_components_draws_ = ks
        self.n_components_ = np.array([np.bincount(col).argmax() for col in ks.T])
        self.pooled_share_draws_ = fit.pooled_share
        self.fit_ = {
            "lower_bound": fit.lower_bound,
            "n_iter": fit.n_iter,
            "converged": fit.converged,
        }
        self.mixtures_ = MixtureBank.from_mixtures(fit.members, fit.shape)
        return samples

    def interventional_model(self, interventions, feature_map=None):
        return CWGMMProgram(self.mixtures_, interventions, feature_map)

    def fit_stats(self):
        out = {f"em_{k}": (np.asarray(v), ["intervention"]) for k, v in self.fit_.items()}
        out["n_components"] = (self.n_components_draws_, ["intervention"])
        types = getattr(self, "covariance_type_draws_", None)
        if types is not None:
            out["covariance_type"] = (np.asarray(types, dtype=str), ["intervention"])
        share = getattr(self, "pooled_share_draws_", None)
        if share is not None and np.isfinite(share).any():
            out["pooled_share"] = (np.asarray(share), ["intervention"])
        return out

    def state_arrays(self):
        out = {f"mixtures/{k}": v for k, v in self.mixtures_.arrays().items()}
        out.update({f"fit/{k}": np.asarray(v) for k, v in self.fit_.items()})
        out["n_components"] = np.asarray(self.n_components_)
        out["n_components_draws"] = np.asarray(self.n_components_draws_)
        out["covariance_type_draws"] = np.asarray(self.covariance_type_draws_, dtype=str)
        out["pooled_share_draws"] = np.asarray(self.pooled_share_draws_)
        return out

    @classmethod
    def from_state(cls, arrays):
        out = cls()
        out.n_components_ = arrays["n_components"]
        n_draws = arrays["mixtures/weights"].shape[0]
        # Models saved before K was chosen per draw hold one K per value.
        out.n_components_draws_ = arrays.get(
            "n_components_draws",
            np.broadcast_to(out.n_components_, (n_draws, out.n_components_.size)),
        )
        out.mixtures_ = MixtureBank(
            arrays["mixtures/weights"], arrays["mixtures/means"], arrays["mixtures/scale"]
        )
        out.fit_ = {k[4:]: v for k, v in arrays.items() if k.startswith("fit/")}
        if "covariance_type_draws" in arrays:  # models saved before "auto" leave it to load()
            out.covariance_type_draws_ = arrays["covariance_type_draws"]
            out.covariance_type_ = np.array([_mode(c) for c in out.covariance_type_draws_.T])
        shape = out.n_components_draws_.shape  # models saved before partial pooling: none
        out.pooled_share_draws_ = arrays.get("pooled_share_draws", np.full(shape, np.nan))
        return out

    def describe(self, value_labels):
        parts = []
        for m, (v, k) in enumerate(zip(value_labels, self.n_components_.tolist(), strict=True)):
            lo, hi = (
                int(self.n_components_draws_[:, m].min()),
                int(self.n_components_draws_[:, m].max()),
            )
            part = f"{v}: {k}" + (f" ({lo}-{hi} over draws)" if lo != hi else "")
            types = getattr(self, "covariance_type_draws_", None)
            if types is not None and (np.unique(types).size > 1 or types.flat[0] != "full"):
                mode = self.covariance_type_[m]
                share = int((types[:, m] == mode).sum())
                part += f" {mode}" + (f" in {share}/{types.shape[0]}" if share < len(types) else "")
            parts.append(part)
        line = "K per intervention: " + ", ".join(parts)
        share = getattr(self, "pooled_share_draws_", None)
        if share is not None and np.isfinite(share).any():
            pooled = np.isfinite(share)
            line += (
                f"; means partially pooled across values in {int(pooled.any(1).sum())}/"
                f"{share.shape[0]} draws (median pooled share {np.median(share[pooled]):.2f})"
            )
        return line

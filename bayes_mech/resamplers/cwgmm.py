r"""CW-GMM sampling (paper Alg. 1-2): a causally weighted Gaussian mixture per (draw, value).

For every posterior draw ``s`` and intervention value ``y_m`` a Gaussian mixture is fitted to all
rows of ``X`` by weighted EM with the front-door weights :math:`w_{smn}` (paper eq. 2), and fresh
rows are drawn from it: a smoothed version of the causal bootstrap's
:math:`\sum_n w_{smn}\, \delta(x - x_n)`. K is fixed or chosen per intervention value.
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
from bayes_mech.resamplers._base import FrontDoorProblem, MixtureResampler, standardize_columns
from bayes_mech.resamplers._program import CWGMMProgram, MixtureBank
from bayes_mech.weights import normalize_log_weights

__all__ = ["CWGMMFit", "CWGMMResampler", "choose_n_components", "cwgmm_resample"]

#: Candidate numbers of components when ``n_components`` is "bic", "aic" or "dp".
K_CANDIDATES = range(1, 11)


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
    standardised coordinates (:func:`~bayes_mech.resamplers.standardize_columns`), so that
    rescaling a column of ``X`` rescales its samples and changes nothing else.

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
    Z, center, spread = standardize_columns(X_arr)
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


def choose_n_components(
    X: np.ndarray, weights: np.ndarray, n_components, keys, *, covariance_type: str, seed: int
) -> np.ndarray:
    """K for each weight vector in ``weights`` (B, N): fixed, from a dict keyed by ``keys``,
    or chosen by :func:`~bayes_mech.select_n_components` ("bic", "aic", "dp") in standardised
    coordinates (those the mixtures are fitted in)."""
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
    chosen, _ = select_n_components(
        standardize_columns(X)[0],
        sample_weight=weights,
        candidates=K_CANDIDATES,
        criterion=n_components,
        covariance_type=covariance_type,
        random_state=seed,
    )
    return np.atleast_1d(np.asarray(chosen, dtype=int))


class CWGMMResampler(MixtureResampler):
    """``resampler="cwgmm"``: CW-GMMs of every (draw, intervention), K chosen per value.

    Parameters
    ----------
    n_components : int, "bic", "aic", "dp" or dict, default="bic"
        As for :class:`~bayes_mech.MechanismLearner`; chosen on the draw-averaged weights.
    covariance_type : {"full", "diag", "spherical", "tied"}, default="full"
    device : str or torch.device, optional

    Attributes
    ----------
    n_components_ : ndarray of shape (M,)
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
        # fit of cwgmm_resample(..., random_state=random_state).
        seed = random_state if isinstance(random_state, int) else seed_from(random_state)
        mean_w = problem.log_weights.exp().mean(dim=0).cpu().numpy()  # (M, N)
        self.n_components_ = choose_n_components(
            problem.X,
            mean_w,
            self.n_components,
            problem.interventions,
            covariance_type=self.covariance_type,
            seed=seed,
        )
        samples, fit = cwgmm_resample(
            problem.X,
            problem.log_weights,
            self.n_components_,
            n_samples,
            covariance_type=self.covariance_type,
            random_state=seed,
            device=self.device,
        )
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
        return {f"em_{k}": (np.asarray(v), ["intervention"]) for k, v in self.fit_.items()}

    def state_arrays(self):
        out = {f"mixtures/{k}": v for k, v in self.mixtures_.arrays().items()}
        out.update({f"fit/{k}": np.asarray(v) for k, v in self.fit_.items()})
        out["n_components"] = np.asarray(self.n_components_)
        return out

    @classmethod
    def from_state(cls, arrays):
        out = cls()
        out.n_components_ = arrays["n_components"]
        out.mixtures_ = MixtureBank(
            arrays["mixtures/weights"], arrays["mixtures/means"], arrays["mixtures/scale"]
        )
        out.fit_ = {k[4:]: v for k, v in arrays.items() if k.startswith("fit/")}
        return out

    def describe(self, value_labels):
        ks = ", ".join(
            f"{v}: {k}" for v, k in zip(value_labels, self.n_components_.tolist(), strict=True)
        )
        return f"K per intervention: {ks}"

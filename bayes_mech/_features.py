"""The space the mixtures are fitted in: ``feature_map="pca"`` and the dimension check.

A Gaussian mixture over ``d`` columns needs ``K (d + d (d + 1) / 2) + K - 1`` free parameters
with full covariances, and the front-door weights often leave only a few hundred effective rows
(Kish ESS). Past the point where even one component has more parameters than effective rows, the
identified-K rule of :func:`~bayes_mech.select_n_components` pins K to 1 and the mixture cannot
represent a multi-modal :math:`p(x \\mid do(y))`. The learner says so, with the numbers, and
``feature_map="pca"`` reduces ``x`` to as many principal components as the weights support.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA

from bayes_mech._auto_selection import dimension_pins_k
from bayes_mech.mixture._base import MixtureWarning
from bayes_mech.mixture._covariances import n_parameters
from bayes_mech.mixture.selection import chooses_structure, structures_to_scan
from bayes_mech.resamplers._base import warn_if_constant_columns

__all__ = [
    "PCA_VARIANCE",
    "FeatureSpaceMixin",
    "fit_feature_map",
    "pca_n_components",
    "warn_if_high_dimensional",
]

#: Share of the variance of ``X`` that ``feature_map="pca"`` keeps (unless the weights allow fewer).
PCA_VARIANCE = 0.95


def pca_n_components(X: np.ndarray, n_eff: float) -> int:
    """Principal components for ``feature_map="pca"``.

    The fewest components that explain :data:`PCA_VARIANCE` of the variance, but no more than
    the largest ``q`` whose single full-covariance Gaussian (``q + q (q + 1) / 2`` parameters)
    has fewer parameters than ``n_eff / 2`` (so that at least K = 2 can be identified).
    """
    eig = np.linalg.eigvalsh(np.atleast_2d(np.cov(X, rowvar=False)))[::-1].clip(min=0.0)
    ratios = eig / eig.sum() if eig.sum() > 0 else np.ones_like(eig) / eig.size
    q_variance = int(np.searchsorted(np.cumsum(ratios), PCA_VARIANCE) + 1)
    q_identified = 1
    while q_identified < X.shape[1] and n_parameters("full", 1, q_identified + 1) < n_eff / 2:
        q_identified += 1
    return int(max(1, min(q_variance, q_identified, X.shape[1])))


def fit_feature_map(feature_map, X: np.ndarray, n_eff: float):
    """The fitted feature map: a clone of the user's transformer, or the ``"pca"`` shorthand
    (an exact, deterministic PCA: ``svd_solver="full"``)."""
    if isinstance(feature_map, str):  # "pca" (checked in the learner's parameter validation)
        return PCA(pca_n_components(X, n_eff), svd_solver="full").fit(X)
    return clone(feature_map).fit(X)


def warn_if_high_dimensional(
    n_features: int,
    n_eff: float,
    covariance_type: str,
    where: str,
    stacklevel: int = 2,
    n_components="bic",
) -> None:
    """Warn when a 2-component mixture has at least as many free parameters as effective rows
    (the identified-K rule of ``"bic"`` and ``"aic"`` then keeps K = 1) but would not in two
    dimensions, so that reducing the dimension helps. The other criteria (``"bic_eff"``,
    ``"cv"``, ``"dp"``) and a K given by the user have no such rule, so they get no warning.
    Weights too thin for a 2-D mixture are the ``FrontDoorWeightWarning``'s to report."""
    if not (isinstance(n_components, str) and n_components in ("bic", "aic")):
        return
    # a choice of structures ("auto" or a list) may take the leanest, so only its limit matters
    if chooses_structure(covariance_type):
        covariance_type = min(
            structures_to_scan(covariance_type), key=lambda t: n_parameters(t, 2, n_features)
        )
    if not dimension_pins_k(covariance_type, n_features, n_eff):
        return
    k2 = n_parameters(covariance_type, 2, n_features)
    warnings.warn(
        f"The mixtures model {n_features} dimensions ({where}) but the front-door weights leave "
        f"N_eff = {n_eff:.0f} effective rows (smallest over intervention values, median over "
        f"draws): a 2-component {covariance_type}-covariance mixture has {k2} free parameters, so "
        f"K cannot rise above 1 by n_components={n_components!r} and p(x | do(y)) is modelled as "
        "one Gaussian. Reduce the dimension first: feature_map='pca' (or a PCA(q) of your own); "
        "or leave n_components, covariance_type and partial_pooling at their defaults ('auto'), "
        "which switch here to n_components='bic_eff' with the structure chosen per draw (and "
        "partial pooling for a discrete y): that found the true K where the BIC could not on the "
        "benchmark's high-dimensional synthetic data, at several times the fit time (see the "
        "'Choosing K' page).",
        MixtureWarning,
        stacklevel=stacklevel,
    )


class FeatureSpaceMixin:
    """The learner's map between ``X`` and the space its resampler models."""

    def _map_features(self, X: np.ndarray, name: str) -> np.ndarray:
        """The coordinates the resampler models: ``feature_map``'s, or X (the bootstrap's rows)."""
        self.feature_map_ = None
        n_eff = float(self.weight_diagnostics_["ess"].median("draw").min())
        if name == "bootstrap":
            self._resolve_selection(X.shape[1], n_eff)
            return X
        if self.feature_map is None:
            Xf, where = X, "X"
        else:
            self.feature_map_ = fit_feature_map(self.feature_map, X, n_eff)
            Xf = np.asarray(self.feature_map_.transform(X), dtype=np.float64)
            where = "feature_map space"
        warn_if_constant_columns(Xf, where)
        chosen = self._resolve_selection(Xf.shape[1], n_eff)
        warn_if_high_dimensional(
            Xf.shape[1], n_eff, chosen["covariance_type"], where, 5, chosen["n_components"]
        )
        return Xf

    def _unmap_features(self, samples: np.ndarray) -> np.ndarray:
        """Samples (S, M, n, d') in the feature map's space back in the units of X."""
        fmap = self._sampling_map()
        if fmap is None:
            return samples
        flat = fmap.inverse_transform(samples.reshape(-1, samples.shape[-1]))
        return np.asarray(flat, dtype=np.float64).reshape(*samples.shape[:3], -1)

    def _sampling_map(self):
        """The map between the samplers' rows and the members' inputs: ``feature_map_``, with
        the covariates passed through after it when the members read them."""
        fmap = getattr(self, "feature_map_", None)
        names = getattr(self, "covariate_names_", None)
        if fmap is None or not getattr(self, "covariates_as_features", False) or not names:
            return fmap
        return LeadingColumnsMap(fmap, len(names))


class LeadingColumnsMap:
    """A fitted feature map applied to all columns but the last ``n_tail``, which pass through.

    The samplers model ``[feature_map(x), c]`` when the members read the covariates ``c``.
    """

    def __init__(self, feature_map, n_tail: int):
        self.feature_map, self.n_tail = feature_map, n_tail

    def transform(self, X):
        X = np.asarray(X, dtype=np.float64)
        head = self.feature_map.transform(X[:, : -self.n_tail])
        return np.concatenate([np.asarray(head, dtype=np.float64), X[:, -self.n_tail :]], 1)

    def inverse_transform(self, Z):
        Z = np.asarray(Z, dtype=np.float64)
        head = self.feature_map.inverse_transform(Z[:, : -self.n_tail])
        return np.concatenate([np.asarray(head, dtype=np.float64), Z[:, -self.n_tail :]], 1)

"""The ensemble: training one member per posterior draw and combining their predictions.

:class:`EnsemblePredictorMixin` gives :class:`~bayes_mech.MechanismLearner` its ``predict*``
methods and ``score``; the learner only orchestrates the stages that produce the deconfounded
rows the members are trained on.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from joblib import Parallel, delayed
from scipy.special import ndtr
from sklearn.base import clone, is_classifier
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names

from bayes_mech._labels import check_any_labels
from bayes_mech._threads import one_thread
from bayes_mech._validation import check_array
from bayes_mech.exceptions import NotFittedError, VoteShareWarning

__all__ = [
    "HOLDOUT_FRACTION",
    "EnsemblePredictorMixin",
    "empirical_mixture_interval",
    "member_probabilities",
    "normal_mixture_interval",
]

#: Share of each member's deconfounded samples held out to estimate its residuals.
HOLDOUT_FRACTION = 0.2
#: Members trained on fewer elements than this (rows x features) are fitted with every thread
#: pool at one thread when they run in this process (``n_jobs`` None or 1): on the project's
#: 2-core AMD EPYC with the other core busy, 32 LogisticRegression members on A.1 (N = 2000)
#: took 0.9-1.8 s with the pools at two threads and 0.2 s at one.
SMALL_MEMBER_WORK = 2**20


def member_probabilities(estimator, X: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """One member's class probabilities with columns aligned to ``classes``, shape (n, C).

    A member without ``predict_proba`` (e.g. ``SVC()``) votes: probability 1 for its prediction.
    """
    out = np.zeros((X.shape[0], classes.size))
    if hasattr(estimator, "predict_proba"):
        out[:, np.searchsorted(classes, estimator.classes_)] = estimator.predict_proba(X)
    else:
        out[np.arange(X.shape[0]), np.searchsorted(classes, estimator.predict(X))] = 1.0
    return out


def normal_mixture_interval(means: np.ndarray, sd: np.ndarray, alpha: float) -> np.ndarray:
    r"""Central ``1 - alpha`` interval of :math:`\frac1S \sum_s \mathcal N(\mu_{ns}, \sigma_s^2)`.

    Parameters
    ----------
    means : ndarray of shape (n, S)
    sd : ndarray of shape (S,)
    alpha : float in (0, 1)

    Returns
    -------
    ndarray of shape (n, 2)
        Lower and upper quantiles, found by bisection on the mixture's CDF (monotone, so the
        bracket of +-8 sd around the extreme means always holds both quantiles).

    Examples
    --------
    >>> import numpy as np
    >>> normal_mixture_interval(np.zeros((1, 2)), np.ones(2), 0.05).round(3)
    array([[-1.96,  1.96]])
    """
    sd = np.maximum(np.asarray(sd, dtype=np.float64), 1e-12)[None, :]
    lo = (means - 8 * sd).min(axis=1)
    hi = (means + 8 * sd).max(axis=1)
    out = []
    for q in (alpha / 2, 1 - alpha / 2):
        a, b = lo.copy(), hi.copy()
        for _ in range(60):  # 60 halvings shrink the bracket below float64 resolution
            mid = 0.5 * (a + b)
            below = ndtr((mid[:, None] - means) / sd).mean(axis=1) < q
            a, b = np.where(below, mid, a), np.where(below, b, mid)
        out.append(0.5 * (a + b))
    return np.stack(out, axis=1)


def empirical_mixture_interval(
    means: np.ndarray, residuals: np.ndarray, alpha: float
) -> np.ndarray:
    r"""Central ``1 - alpha`` interval of :math:`\frac1S \sum_s \hat F_s(t - \mu_{ns})`.

    Each member's predictive distribution is its prediction plus a residual drawn from its own
    held-out residuals (the empirical distribution :math:`\hat F_s`); the ensemble's is their
    equal mixture. No Gaussian shape is assumed: on a randomised design the residuals of a
    regression are often lighter-tailed than a normal, and a Gaussian interval then over-covers.

    Parameters
    ----------
    means : ndarray of shape (n, S)
    residuals : ndarray of shape (S, n_holdout)
    alpha : float in (0, 1)

    Returns
    -------
    ndarray of shape (n, 2)
        The mixture's ``alpha/2`` and ``1 - alpha/2`` quantiles, by bisection on its CDF.

    Examples
    --------
    >>> import numpy as np
    >>> res = np.linspace(-1.0, 1.0, 2001)[None, :]  # one member, residuals uniform on [-1, 1]
    >>> empirical_mixture_interval(np.array([[3.0]]), res, 0.1).round(2)
    array([[2.1, 3.9]])
    """
    res = np.sort(np.asarray(residuals, dtype=np.float64), axis=1)
    n_res = res.shape[1]
    lo = (means + res[:, 0]).min(axis=1) - 1e-9
    hi = (means + res[:, -1]).max(axis=1) + 1e-9

    def cdf(t):  # (n,) -> (n,): mean over members of #{r <= t - mu} / n_res
        shifted = t[:, None] - means  # (n, S)
        counts = np.stack(
            [np.searchsorted(res[s], shifted[:, s], side="right") for s in range(res.shape[0])],
            axis=1,
        )
        return counts.mean(axis=1) / n_res

    out = []
    for q in (alpha / 2, 1 - alpha / 2):
        a, b = lo.copy(), hi.copy()
        for _ in range(60):
            mid = 0.5 * (a + b)
            below = cdf(mid) < q
            a, b = np.where(below, mid, a), np.where(below, b, mid)
        out.append(0.5 * (a + b))
    return np.stack(out, axis=1)


def _fit_member(estimator, X: np.ndarray, y: np.ndarray, seed: int):
    """Train one ensemble member (module level so that joblib can ship it to workers)."""
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=seed)
    return estimator.fit(X, y)


def _wraps_classifier(learner) -> bool:
    """``available_if`` check; its AttributeError says why (``hasattr`` is still False)."""
    if not is_classifier(learner.estimator):
        raise AttributeError(
            "predict_proba is only available when estimator is a classifier; got "
            f"{type(learner.estimator).__name__}."
        )
    return True


def _wraps_regressor(learner) -> bool:
    if is_classifier(learner.estimator):
        raise AttributeError(
            "predict_interval is only available for regressors; estimator is the classifier "
            f"{type(learner.estimator).__name__}."
        )
    return True


class EnsemblePredictorMixin:
    """Training and prediction of the S members (one per posterior draw)."""

    def __sklearn_tags__(self):
        """The wrapped estimator's type: a learner of a classifier is a classifier."""
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        return tags

    @property
    def _is_regressor(self) -> bool:
        return not is_classifier(self.estimator)

    def _sample_sizes(self, n_rows: int) -> tuple[int, int]:
        """Deconfounded rows per intervention value to train each member on, and to hold out
        (regressors: for the residuals of ``predict_interval``)."""
        per_value = max(1, (self.n_samples or n_rows) // self.interventions_.shape[0])
        n_holdout = max(2, int(np.ceil(per_value * HOLDOUT_FRACTION))) if self._is_regressor else 0
        return per_value, n_holdout

    def _fit_ensemble(self, samples: np.ndarray, per_value: int, member_seeds) -> None:
        """Train one clone per draw on its deconfounded rows (joblib, any backend)."""
        S, M = samples.shape[:2]
        labels = np.asarray(self.interventions_)
        train_X = samples[:, :, :per_value].reshape(S, M * per_value, -1)
        train_y = np.repeat(labels, per_value, axis=0)
        jobs = (
            delayed(_fit_member)(clone(self.estimator), train_X[s], train_y, member_seeds[s])
            for s in range(S)
        )
        # Many small fits in this process: their BLAS/OpenMP/torch pools on one thread
        # (bayes_mech._threads); n_jobs spreads the members over cores instead.
        small = self.n_jobs in (None, 1) and train_X[0].size < SMALL_MEMBER_WORK
        with one_thread(small):
            self.estimators_ = list(Parallel(n_jobs=self.n_jobs)(jobs))
        if self._is_regressor:
            hold_X = samples[:, :, per_value:].reshape(S, -1, samples.shape[-1])
            hold_y = np.repeat(labels, samples.shape[2] - per_value, axis=0)
            resid = [
                hold_y - np.asarray(est.predict(hold_X[s]), dtype=np.float64).reshape(hold_y.shape)
                for s, est in enumerate(self.estimators_)
            ]
            self.residuals_ = np.stack(resid)
            self.residual_std_ = np.sqrt((self.residuals_**2).mean(axis=1))
        else:
            self.classes_ = np.unique(train_y)

    def _check_fitted_X(self, X, covariates=None) -> np.ndarray:
        """``X`` checked against the fit, with the covariates after it when the members read
        them (``covariates_as_features``)."""
        if not hasattr(self, "estimators_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X, y, z) first."
            )
        _check_feature_names(self, X, reset=False)  # scikit-learn's warning or error on names
        X = check_array(X, "X", ndim=2)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return self._with_covariates(X, covariates)

    def predict_dist(self, X, covariates=None) -> xr.DataArray:
        """Every member's prediction.

        Members without ``predict_proba`` (``SVC()``) vote: their "probability" is 1 for the
        class they predict, and a :class:`~bayes_mech.VoteShareWarning` says so.

        Returns
        -------
        xarray.DataArray
            Dims ``(draw, sample, class)`` with class probabilities for classifiers, or
            ``(draw, sample)`` with predicted values for regressors.
        """
        self._warn_if_voting()
        return self._member_predictions(X, covariates)

    def _warn_if_voting(self) -> None:
        member = self.estimators_[0] if hasattr(self, "estimators_") else None
        if member is None or self._is_regressor or hasattr(member, "predict_proba"):
            return
        S, name = len(self.estimators_), type(member).__name__
        warnings.warn(
            f"{name} has no predict_proba, so each of the S = {S} members votes: the "
            f"ensemble's class 'probabilities' are the shares of members predicting each class "
            f"(multiples of 1/{S}), a measure of their agreement, not probabilities. For "
            f"probabilities wrap the estimator: CalibratedClassifierCV({name}(...)) from "
            f"sklearn.calibration.",
            VoteShareWarning,
            stacklevel=3,
        )

    def _member_predictions(self, X, covariates=None) -> xr.DataArray:
        X = self._check_fitted_X(X, covariates)
        S = len(self.estimators_)
        if self._is_regressor:
            values = np.stack(
                [np.asarray(e.predict(X), dtype=np.float64).reshape(-1) for e in self.estimators_]
            )
            return xr.DataArray(
                values, dims=("draw", "sample"), coords={"draw": np.arange(S)}, name="prediction"
            )
        probs = np.stack([member_probabilities(e, X, self.classes_) for e in self.estimators_])
        return xr.DataArray(
            probs,
            dims=("draw", "sample", "class"),
            coords={"draw": np.arange(S), "class": self.classes_},
            name="probability",
        )

    @available_if(_wraps_classifier)
    def predict_proba(self, X, covariates=None) -> np.ndarray:
        """Ensemble-mean class probabilities, shape (n_samples, n_classes).

        Present only when ``estimator`` is a classifier (``hasattr`` says so, as scikit-learn's
        meta-estimators do).
        """
        self._warn_if_voting()
        return self._member_predictions(X, covariates).mean("draw").values

    def predict(self, X, covariates=None) -> np.ndarray:
        """The most probable class (classifiers) or the ensemble-mean prediction (regressors).

        Voting members (no ``predict_proba``) give the majority vote, without a warning.
        """
        dist_ = self._member_predictions(X, covariates)
        if self._is_regressor:
            return dist_.mean("draw").values
        return self.classes_[dist_.mean("draw").values.argmax(axis=1)]

    def score(self, X, y, covariates=None) -> float:
        """Accuracy (classifiers) or R² (regressors) of :meth:`predict` on ``(X, y)``."""
        from sklearn.metrics import accuracy_score, r2_score

        y = check_any_labels(y, "y")
        metric = r2_score if self._is_regressor else accuracy_score
        return float(metric(y, self.predict(X, covariates)))

    @available_if(_wraps_regressor)
    def predict_interval(self, X, alpha: float = 0.1, covariates=None) -> np.ndarray:
        r"""Central ``1 - alpha`` predictive interval of a regressor ensemble, shape (n, 2).

        The predictive distribution is the equal mixture over members of :math:`f_s(x) + r`,
        :math:`r` drawn from member s's residuals on held-out deconfounded rows of its own draw
        (``residuals_``; empirical, no Gaussian assumed); its quantiles are found by bisection.
        Models saved by bayes-mech before format 2 kept only ``residual_std_`` and use
        :math:`\mathcal N(f_s(x), \sigma_s^2)` instead.
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1); got {alpha}.")
        means = self.predict_dist(X, covariates).values.T  # (n, S)
        if getattr(self, "residuals_", None) is None:
            return normal_mixture_interval(means, self.residual_std_, alpha)
        return empirical_mixture_interval(means, self.residuals_, alpha)

"""The learner's input checks: its parameters, the data given to ``fit``, the task's kind.

Kept apart from ``learner.py``, which orchestrates the stages of ``fit``.
"""

from __future__ import annotations

import numbers

import numpy as np

from bayes_mech._auto_selection import is_auto
from bayes_mech._labels import check_any_labels
from bayes_mech._validation import (
    check_array,
    check_consistent_length,
    check_option,
    check_positive_int,
)
from bayes_mech.mixture.selection import CRITERIA, structures_to_scan
from bayes_mech.resamplers import RESAMPLERS

__all__ = ["LearnerChecksMixin"]

#: The covariance structures the learner accepts ("auto": chosen with K).
COVARIANCE_TYPES = ("full", "diag", "spherical", "tied", "auto")


class LearnerChecksMixin:
    """``_check_params``, ``_check_data`` and ``_check_task`` of ``MechanismLearner``."""

    def _check_params(self) -> None:
        if not (hasattr(self.estimator, "fit") and hasattr(self.estimator, "predict")):
            raise TypeError(
                "estimator must be a scikit-learn estimator with fit and predict; got "
                f"{type(self.estimator).__name__}."
            )
        for name in ("progress", "covariates_as_features"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False; got {getattr(self, name)!r}.")
        pooling = self.partial_pooling
        if not (isinstance(pooling, (bool, np.bool_)) or is_auto(pooling)):
            raise TypeError(f"partial_pooling must be True, False or 'auto'; got {pooling!r}.")
        check_positive_int(self.n_draws, "n_draws", minimum=1)
        check_option(self.resampler, "resampler", tuple(RESAMPLERS))
        check_option(self.weight_smoothing, "weight_smoothing", (None, "psis"))
        check_option(self.data_uncertainty, "data_uncertainty", ("bayesian_bootstrap", None))
        if isinstance(self.covariance_type, (list, tuple)):
            structures_to_scan(self.covariance_type)  # names each unknown structure
        else:
            check_option(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        k = self.n_components
        if isinstance(k, str):
            check_option(k, "n_components", ("auto", *CRITERIA))
        elif not isinstance(k, dict):
            check_positive_int(k, "n_components", minimum=1)
        if self.n_samples is not None:
            check_positive_int(self.n_samples, "n_samples", minimum=1)
        n_jobs = self.n_jobs
        if n_jobs is not None and (
            isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)
        ):
            raise TypeError(
                f"n_jobs must be None or a non-zero integer (joblib's); got {n_jobs!r}."
            )
        if n_jobs == 0:
            raise ValueError("n_jobs must be None or a non-zero integer (joblib's); got 0.")
        fm = self.feature_map
        if isinstance(fm, str):
            check_option(fm, "feature_map", ("pca",))
        elif fm is not None and not all(
            hasattr(fm, a) for a in ("fit", "transform", "inverse_transform")
        ):
            raise TypeError(
                "feature_map must be a transformer with fit, transform and inverse_transform; "
                f"got {type(fm).__name__}."
            )

    def _check_data(self, X, y, z):
        X = check_array(X, "X", ndim=2, min_rows=2)
        y, z = self._encode_labels(check_any_labels(y, "y", min_rows=2, warn_column=True), z)
        z = check_array(z, "z", ndim=2, allow_1d=True, min_rows=2, dtype=None)
        check_consistent_length(X=X, y=y, z=z)
        if np.unique(y).size < 2:
            raise ValueError(
                f"y must take at least 2 distinct values to learn from (one class or one value "
                f"has no effect to deconfound); got the single value {y[0]!r} in all {y.size} rows."
            )
        if z.shape[1] == 1:
            z = z[:, 0]
        return X, y, z

    def _check_task(self) -> None:
        self._check_label_task()
        asked = not is_auto(self.partial_pooling) and bool(self.partial_pooling)
        if asked and self.y_kind_ == "continuous":  # ("auto" does not pool a continuous y)
            # Measured on the paper's A.2 (b = 0.4, N = 5000, 6 replications, cwgmm): pooling
            # towards one mean over the grid took the slope from 0.038 to 0.031 (estimand 0.041).
            raise ValueError(
                "partial_pooling=True needs a discrete y: it shrinks each class's mixture means "
                "towards one shared mean, which treats the intervention values as exchangeable; "
                "on a grid of a continuous y it would flatten the effect of y. Got a continuous "
                "y; fit with partial_pooling=False."
            )
        if self.y_kind_ == "discrete" and self._is_regressor:
            return  # a regressor on class labels is legal (e.g. ordinal y); nothing to check
        if self.y_kind_ == "continuous" and not self._is_regressor:
            raise ValueError(
                "estimator is a classifier but y is continuous; pass a regressor, or integer "
                "class labels as y."
            )

"""scikit-learn's common estimator checks, those that apply to a fit with a mechanism z.

``check_estimator`` calls ``fit(X, y)``; the learner needs ``fit(X, y, z)``. The checks that
never fit run on ``MechanismLearner`` itself. The others run on a subclass whose ``fit(X, y)``
supplies ``z`` as a noisy copy of ``y`` (a mechanism that carries y's information to x only
through y itself): then ``do(y)`` is conditioning on y, and the learner must behave like the
plain estimator (train, score, validate, pickle, ...) on scikit-learn's own test data.
"""

import warnings

import numpy as np
import pytest
import sklearn.utils.estimator_checks as checks
from sklearn.linear_model import LinearRegression, LogisticRegression

import bayes_mech as bm


class _NoisyCopyMechanism(bm.MechanismLearner):
    """MechanismLearner whose ``fit(X, y)`` uses ``z = code(y) + 0.2 · N(0, 1)``."""

    def fit(self, X, y, z=None):
        if z is None:
            y_arr = np.asarray(y)
            codes = y_arr if y_arr.dtype.kind == "f" else np.unique(y_arr, return_inverse=True)[1]
            codes = np.asarray(codes, dtype=np.float64).reshape(len(y_arr), -1)[:, 0]
            z = codes + 0.2 * np.random.default_rng(0).normal(size=len(y_arr))
        return super().fit(X, y, z)


def _learner(estimator, cls=bm.MechanismLearner):
    return cls(estimator, n_draws=2, n_components=1, progress=False, random_state=0)


WITHOUT_FIT = [
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_repr",
    "check_estimator_cloneable",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_valid_tag_types",
    "check_estimator_tags_renamed",
    "check_mixin_order",
    "check_estimators_unfitted",
]

WITH_FIT = [
    "check_dont_overwrite_parameters",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_estimators_pickle",
    "check_fit_idempotent",
    "check_estimators_dtypes",
    "check_fit2d_predict1d",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_estimators_nan_inf",
    "check_dict_unchanged",
    "check_methods_subset_invariance",
    "check_methods_sample_order_invariance",
    "check_supervised_y_2d",
    "check_supervised_y_no_nan",
    "check_f_contiguous_array_estimator",
    "check_complex_data",
    "check_dtype_object",
    "check_fit_score_takes_y",
    "check_estimators_fit_returns_self",
    "check_pipeline_consistency",
    "check_estimators_overwrite_params",
    "check_readonly_memmap_input",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimators_empty_data_messages",
]
CLASSIFIER = [
    "check_classifiers_train",
    "check_classifiers_one_label",
    "check_classifier_data_not_an_array",
    "check_classifiers_regression_target",
    "check_decision_proba_consistency",
]
REGRESSOR = [
    "check_regressors_train",
    "check_regressor_data_not_an_array",
    "check_regressors_no_decision_function",
    "check_regressors_int",
]


def _run(name, estimator):
    with warnings.catch_warnings():
        # The checks' tiny data sets trip the learner's own numerical warnings (weights, EM).
        warnings.simplefilter("ignore")
        getattr(checks, name)(type(estimator).__name__, estimator)


@pytest.mark.parametrize("name", WITHOUT_FIT)
@pytest.mark.parametrize("estimator", [LogisticRegression(), LinearRegression()])
def test_checks_without_fit(name, estimator):
    _run(name, _learner(estimator))


@pytest.mark.parametrize("name", WITH_FIT + CLASSIFIER)
def test_classifier_checks(name):
    _run(name, _learner(LogisticRegression(), _NoisyCopyMechanism))


@pytest.mark.parametrize("name", WITH_FIT + REGRESSOR)
def test_regressor_checks(name):
    _run(name, _learner(LinearRegression(), _NoisyCopyMechanism))


def test_string_class_labels():
    # scikit-learn's own check: string and object labels, predictions in the same labels
    _run("check_classifiers_classes", _learner(LogisticRegression(), _NoisyCopyMechanism))

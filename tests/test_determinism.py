"""Determinism on CPU: the same ``random_state`` gives bit-identical predictions, whatever the
global random state, across ``n_jobs`` values and across a save/load round trip."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression

import bayes_mech as bm
from bayes_mech.exceptions import FrontDoorWeightWarning


def fit(estimator=None, data=None, **kw):
    X, y, z = data
    kw = {"n_draws": 4, "n_components": 2, "progress": False, "random_state": 7, **kw}
    learner = bm.MechanismLearner(estimator or LogisticRegression(), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrontDoorWeightWarning)  # A.1's weights are thin
        return learner.fit(X, y, z)


@pytest.fixture(scope="module")
def a1():
    d = bm.datasets.make_frontdoor_classification(400, random_state=0)
    test = bm.datasets.make_frontdoor_classification(300, confounded=False, random_state=1)
    return (d.X, d.y, d.z), test.X


@pytest.fixture(scope="module")
def reference(a1):
    data, _ = a1
    return fit(data=data)


def assert_same_predictions(a, b, X):
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict_dist(X).values, b.predict_dist(X).values)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_same_seed_bit_identical_whatever_the_global_state(a1, reference):
    data, X_test = a1
    np.random.seed(123)  # noqa: NPY002 - the global state must not leak into the fit
    torch.manual_seed(456)
    torch.rand(10)
    again = fit(data=data)
    assert_same_predictions(reference, again, X_test)
    np.testing.assert_array_equal(reference.log_weights_.numpy(), again.log_weights_.numpy())
    for name, value in reference.draws_.items():
        assert torch.equal(value, again.draws_[name]), name
    a = reference.sample_interventional(1, 200, random_state=3)
    b = again.sample_interventional(1, 200, random_state=3)
    np.testing.assert_array_equal(a, b)


def test_different_seed_differs(a1, reference):
    """The identity above is not vacuous: another seed gives other members."""
    data, X_test = a1
    other = fit(data=data, random_state=8)
    assert not np.array_equal(reference.predict_proba(X_test), other.predict_proba(X_test))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_n_jobs_does_not_change_predictions(a1, reference, n_jobs):
    data, X_test = a1
    parallel = fit(data=data, n_jobs=n_jobs)
    assert_same_predictions(reference, parallel, X_test)


def test_save_load_round_trip_is_bit_identical(a1, reference, tmp_path):
    _, X_test = a1
    loaded = bm.load(reference.save(tmp_path / "model"))
    assert_same_predictions(reference, loaded, X_test)
    # A second round trip changes nothing either.
    twice = bm.load(loaded.save(tmp_path / "again"))
    assert_same_predictions(loaded, twice, X_test)
    # The CW-GMMs are saved whole: the loaded program samples exactly as the fitted one.
    cwgmm = fit(data=a1[0], resampler="cwgmm")
    loaded = bm.load(cwgmm.save(tmp_path / "cwgmm"))
    np.testing.assert_array_equal(
        cwgmm.sample_interventional(2, 300, random_state=5),
        loaded.sample_interventional(2, 300, random_state=5),
    )


def test_regressor_round_trip_and_refit(tmp_path):
    d = bm.datasets.make_frontdoor_regression(300, random_state=0)
    data = (d.X, d.y, d.z)
    first = fit(LinearRegression(), data=data, n_components=1)
    second = fit(LinearRegression(), data=data, n_components=1)
    X = d.X[:50]
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    np.testing.assert_array_equal(first.predict_interval(X), second.predict_interval(X))
    loaded = bm.load(first.save(tmp_path / "reg"))
    np.testing.assert_array_equal(first.predict(X), loaded.predict(X))
    np.testing.assert_array_equal(first.predict_interval(X), loaded.predict_interval(X))


def test_bootstrap_resampler_is_deterministic(a1):
    data, X_test = a1
    a = fit(data=data, resampler="bootstrap")
    b = fit(data=data, resampler="bootstrap", n_jobs=2)
    assert_same_predictions(a, b, X_test)

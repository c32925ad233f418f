"""Degenerate but legal data: the learner fits, predicts finite probabilities, and warns (with
numbers) exactly where the result deserves less trust.

Cases: duplicate rows, constant columns of X, features on scales of 1e-8 and 1e8, N = 20, K
larger than the clusters present, and one intervention value with ESS/N < 1 %.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import bayes_mech as bm
from bayes_mech.exceptions import FrontDoorWeightWarning
from bayes_mech.mixture._base import MixtureWarning


def frontdoor(n: int, seed: int = 0, y2_share: float | None = None, z_gap: float = 1.5):
    """Front-door data with y in {1, 2}: u -> y, u -> x, y -> z -> x."""
    rng = np.random.default_rng(seed)
    u = rng.random(n) < 0.5
    p2 = np.where(u, 0.8, 0.2) if y2_share is None else np.full(n, y2_share)
    y = np.where(rng.random(n) < p2, 2, 1)
    z = rng.normal(z_gap * y, 1.0)
    X = np.c_[z + 2 * u + rng.normal(size=n), z - u + rng.normal(size=n)]
    return X, y, z


def learner(**kw):
    # The CW-GMM: these cases probe what degenerate weights do to it (auto would switch away).
    kw = {"n_draws": 4, "n_components": 2, "resampler": "cwgmm", "progress": False,
          "random_state": 0, **kw}  # fmt: skip
    return bm.MechanismLearner(LogisticRegression(), **kw)


def fit_expecting(expected, X, y, z, **kw):
    """Fit, and require exactly the warning categories in ``expected`` (a set), no others."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = learner(**kw).fit(X, y, z)
    got = {w.category for w in caught}
    assert got == set(expected), [f"{w.category.__name__}: {w.message}" for w in caught]
    messages = {w.category: str(w.message) for w in caught}
    return fitted, messages


def assert_sane(fitted, X):
    proba = fitted.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert set(np.unique(fitted.predict(X))) <= {1, 2}


@pytest.fixture(scope="module")
def data():
    return frontdoor(600, seed=3, z_gap=1.0)


@pytest.fixture(scope="module")
def reference(data):
    X, y, z = data
    fitted, _ = fit_expecting(set(), X, y, z)
    return fitted


def test_reference_data_fits_without_warnings(reference, data):
    assert_sane(reference, data[0])


def test_duplicate_rows(data):
    X, y, z = data
    Xd, yd, zd = np.tile(X[:60], (10, 1)), np.tile(y[:60], 10), np.tile(z[:60], 10)
    fitted, _ = fit_expecting(set(), Xd, yd, zd)
    assert_sane(fitted, X)
    assert np.isfinite(fitted.mixture_fit_["lower_bound"]).all()


def test_every_row_twice_changes_little(reference, data):
    """Replicating every row is a change of N only: predictions stay close to the original."""
    X, y, z = data
    fitted, _ = fit_expecting(set(), np.r_[X, X], np.r_[y, y], np.r_[z, z])
    assert np.mean(fitted.predict(X) == reference.predict(X)) > 0.9


def test_constant_column_warns_and_works(data):
    X, y, z = data
    Xc = X.copy()
    Xc[:, 1] = 3.0
    fitted, messages = fit_expecting({MixtureWarning}, Xc, y, z)
    assert "1 constant column(s) of X: column 1 (value 3)" in messages[MixtureWarning]
    assert "drop constant columns" in messages[MixtureWarning]
    assert_sane(fitted, Xc)
    # The floor puts noise of sd ~ sqrt(reg_covar) = 1e-3 on the constant column, no more.
    samples = fitted.sample_interventional(1, 2000, random_state=0)
    assert samples[:, 1].std() < 5e-3
    assert abs(samples[:, 1].mean() - 3.0) < 1e-3


@pytest.mark.parametrize("scale", [1e-8, 1e8])
def test_extreme_scales(data, reference, scale):
    # The CW-GMMs are fitted in standardised coordinates: a column on a 1e-8 or 1e8 scale is
    # represented like any other (no covariance-floor noise, no warning), and rescaling a column
    # rescales the deconfounded samples and changes nothing else.
    X, y, z = data
    factor = np.array([scale, 1.0])
    fitted, _ = fit_expecting(set(), X * factor, y, z)
    assert_sane(fitted, X * factor)
    samples = fitted.sample_interventional(1, 4000, random_state=0)
    ratio = samples.std(0) / (X * factor).std(0)
    assert np.all((ratio > 0.5) & (ratio < 2)), ratio
    np.testing.assert_allclose(
        fitted.sample_interventional(2, 500, random_state=1) / factor,
        reference.sample_interventional(2, 500, random_state=1),
        rtol=1e-6,
        atol=1e-8,
    )
    np.testing.assert_array_equal(fitted.n_components_, reference.n_components_)


def test_extreme_scales_with_standard_scaler_feature_map(data):
    """The remedy the warning names: mixtures in standardised space, samples mapped back."""
    X, y, z = data
    Xs = X * np.array([1e-8, 1e8])
    fitted, _ = fit_expecting(set(), Xs, y, z, feature_map=StandardScaler())
    assert_sane(fitted, Xs)
    ratio = fitted.sample_interventional(1, 4000, random_state=0).std(0) / Xs.std(0)
    assert np.all((ratio > 0.5) & (ratio < 2)), ratio
    # Rescaling the features rescales the deconfounded samples and nothing else.
    plain, _ = fit_expecting(set(), X, y, z, feature_map=StandardScaler())
    np.testing.assert_allclose(
        fitted.sample_interventional(2, 500, random_state=1) / np.array([1e-8, 1e8]),
        plain.sample_interventional(2, 500, random_state=1),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("n_components", [1, 2, "bic"])
def test_twenty_rows(n_components):
    X, y, z = frontdoor(20, seed=1)
    fitted, _ = fit_expecting(set(), X, y, z, n_components=n_components)
    assert_sane(fitted, X)
    assert fitted.n_samples_fit_ == 20
    assert np.all(fitted.n_components_ <= 20)


def test_more_components_than_clusters():
    """Two tight clusters, K = 8: the extra components share the clusters; nothing breaks."""
    rng = np.random.default_rng(0)
    X, y, z = frontdoor(400, seed=0)
    centres = np.where(rng.random(400) < 0.5, -5.0, 5.0)
    X = centres[:, None] + rng.normal(0, 0.1, (400, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", FrontDoorWeightWarning)  # A.1-like weights are thin
        fitted = learner(n_components=8).fit(X, y, z)
    assert_sane(fitted, X)
    assert np.all(fitted.n_components_ == 8)
    samples = fitted.sample_interventional(2, 4000, random_state=0)
    # Samples stay on the two clusters: nearly all within 1 of a centre.
    near = np.min(np.abs(samples[:, :1] - np.array([[-5.0, 5.0]])), axis=1) < 1.0
    assert near.mean() > 0.98


def test_one_intervention_with_ess_below_one_percent():
    """y = 2 is rare (3 %) and z separates the classes: its weights rest on a handful of rows."""
    X, y, z = frontdoor(2000, seed=0, y2_share=0.03, z_gap=4.0)
    with pytest.warns(FrontDoorWeightWarning) as record:
        fitted = learner().fit(X, y, z)
    assert len(record) == 1
    message = str(record[0].message)
    assert "y=2: ESS/N = 0.00" in message and "y=1:" not in message
    assert "weight_smoothing" in message
    ess = fitted.weight_diagnostics_["ess_fraction"]
    assert float(ess.sel(intervention=2).min()) < 0.01
    assert float(ess.sel(intervention=1).min()) > 0.2
    assert_sane(fitted, X)

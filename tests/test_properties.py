"""Property-based tests (hypothesis) on small random finite inputs.

Whatever finite data comes in, fits and predictions never hold NaN, probabilities lie in [0, 1]
and sum to 1, shapes and dtypes are as documented, normalised weights sum to 1, and the EM lower
bound never decreases. The library's own warnings about degenerate data (collapsed components,
thin front-door weights, tiny classes, non-convergence) are legitimate for random inputs and are
ignored here; any other warning (e.g. a numpy RuntimeWarning from an overflow) fails the test.

CI runs a few examples per property (derandomised, so CI is reproducible); BAYES_MECH_SLOW=1 runs
500 per property with fresh randomness.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from conftest import SLOW, scale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.linear_model import LinearRegression, LogisticRegression

import bayes_mech as bm
from bayes_mech.exceptions import ConvergenceWarning, FrontDoorWeightWarning, MechanismWarning
from bayes_mech.mechanisms import GaussianMechanism
from bayes_mech.mixture._base import MixtureWarning

pytestmark = pytest.mark.slow

COV_TYPES = ("full", "tied", "diag", "spherical")
LEGIT = (MixtureWarning, ConvergenceWarning, FrontDoorWeightWarning, MechanismWarning)


def _settings(short: int, long: int = 500):
    return settings(
        deadline=None,
        max_examples=scale(short, long),
        derandomize=not SLOW,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@contextmanager
def only_legit_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for category in LEGIT:
            warnings.simplefilter("ignore", category)
        yield


def finite_floats(lo=-1e3, hi=1e3):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def weighted_rows(draw, max_rows=30, max_features=3, max_batch=3):
    """X (n, d), weights (B, n) with positive mass per row, and a K that the weights allow."""
    n = draw(st.integers(2, max_rows))
    d = draw(st.integers(1, max_features))
    X = draw(hnp.arrays(np.float64, (n, d), elements=finite_floats()))
    B = draw(st.integers(1, max_batch))
    W = draw(hnp.arrays(np.float64, (B, n), elements=st.floats(0, 10, allow_subnormal=False)))
    W[:, 0] += 1.0  # positive mass in every row
    k = draw(st.integers(1, min(4, int((W > 0).sum(1).min()))))
    return X, W, k


def _check_mixture(gm, X, W, k):
    B, n = W.shape
    d = X.shape[1]
    for name in ("weights_", "means_", "covariances_", "lower_bound_"):
        value = np.asarray(getattr(gm, name))
        assert value.dtype == np.float64, name
        assert np.isfinite(value).all(), name
    assert gm.weights_.shape == (B, k) and gm.means_.shape == (B, k, d)
    assert np.all(gm.weights_ >= 0)
    np.testing.assert_allclose(gm.weights_.sum(-1), 1.0, atol=1e-9)
    proba = gm.predict_proba(X)
    assert proba.shape == (B, n, k)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(-1), 1.0, atol=1e-9)
    log_prob = gm.score_samples(X)
    assert log_prob.shape == (B, n) and log_prob.dtype == np.float64
    assert not np.isnan(log_prob).any()
    labels = gm.predict(X)
    assert labels.shape == (B, n) and labels.min() >= 0 and labels.max() < k
    samples, comp = gm.sample(5, random_state=0)
    assert samples.shape == (B, 5, d) and np.isfinite(samples).all()
    assert comp.shape == (B, 5)


def _assert_monotone(hist, X, reg_covar=1e-6):
    """Non-decreasing up to rounding. Covariances come from moments, E[xx'] - mm', whose absolute
    error is ~eps * spread²; relative to a covariance near its floor reg_covar that moves the bound
    by ~eps * d * spread² / reg_covar (1e-4 for hypothesis' spread of 1e3)."""
    hist = np.atleast_2d(hist)
    steps = np.diff(hist, axis=1)
    spread = float(np.ptp(X, axis=0).max())
    rounding = 100 * np.finfo(np.float64).eps * X.shape[1] * spread**2 / reg_covar
    tol = 1e-8 * np.maximum(np.abs(hist[:, 1:]), 1.0) + rounding
    ok = np.isnan(steps) | (steps >= -tol)
    assert ok.all(), np.nanmin(steps)


# ------------------------------------------------------------------------------ mixtures
@_settings(25)
@given(data=weighted_rows(), cov=st.sampled_from(COV_TYPES), seed=st.integers(0, 2**31 - 1))
def test_weighted_gmm_fit_is_finite_normalised_and_monotone(data, cov, seed):
    X, W, k = data
    gm = bm.WeightedGaussianMixture(k, covariance_type=cov, max_iter=50, random_state=seed)
    with only_legit_warnings():
        gm.fit(X, sample_weight=W)
        _check_mixture(gm, X, W, k)
    _assert_monotone(gm.lower_bounds_, X)
    assert gm.n_iter_.shape == (W.shape[0],) and np.all(gm.n_iter_ >= 1)


@_settings(10)
@given(data=weighted_rows(max_batch=2), cov=st.sampled_from(COV_TYPES), seed=st.integers(0, 99))
def test_dp_mixture_fit_is_finite_and_normalised(data, cov, seed):
    X, W, k = data
    dp = bm.WeightedBayesianGaussianMixture(k, covariance_type=cov, max_iter=50, random_state=seed)
    with only_legit_warnings():
        dp.fit(X, sample_weight=W)
        _check_mixture(dp, X, W, k)
    # Its lower bound is not checked here: see test_dp_lower_bound_decreases_known_case.


# ------------------------------------------------------------------------------- weights
@_settings(15)
@given(
    lw=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=6),
        elements=st.one_of(finite_floats(-700, 700), st.just(-np.inf)),
    )
)
def test_normalised_weights_sum_to_one_and_ess_in_range(lw):
    lw[..., 0] = np.where(np.isfinite(lw[..., 0]), lw[..., 0], 0.0)  # mass in every (s, m)
    with only_legit_warnings():
        out = bm.normalize_log_weights(lw)
        diag = bm.weight_diagnostics(out)
    w = out.exp().numpy()
    assert out.shape == lw.shape and out.dtype.is_floating_point
    assert not np.isnan(w).any() and np.all(w >= 0) and np.all(w <= 1)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-9)
    n = lw.shape[-1]
    ess = diag["ess"].values
    assert np.all(ess >= 1 - 1e-9) and np.all(ess <= n + 1e-9)
    frac = diag["ess_fraction"].values
    assert np.all((frac > 0) & (frac <= 1 + 1e-12))


@_settings(25)
@given(s=st.integers(1, 8), n=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
def test_bayesian_bootstrap_weights_sum_to_one(s, n, seed):
    lw = bm.bayesian_bootstrap_log_weights(s, n, random_state=seed)
    w = lw.exp().numpy()
    assert lw.shape == (s, n) or lw.shape == (s, 1, n)
    assert np.isfinite(w).all() and np.all(w >= 0)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-9)


@st.composite
def frontdoor_data(draw, max_rows=30, max_features=2, n_classes=2):
    """(X, y, z) with every class of y present at least twice."""
    n = draw(st.integers(2 * n_classes + 2, max_rows))
    d = draw(st.integers(1, max_features))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(1, n_classes)))
    y[: 2 * n_classes] = np.repeat(np.arange(1, n_classes + 1), 2)
    z = draw(hnp.arrays(np.float64, n, elements=finite_floats(-50, 50)))
    z[0] = z.max() + 0.5  # constant z is refused with a clear error (see test_bad_inputs.py)
    X = draw(hnp.arrays(np.float64, (n, d), elements=finite_floats(-50, 50)))
    return X, y, z


@_settings(10)
@given(data=frontdoor_data(n_classes=3), s=st.integers(1, 4), seed=st.integers(0, 999))
def test_frontdoor_weights_are_normalised(data, s, seed):
    _, y, z = data
    with only_legit_warnings():
        mechanism = GaussianMechanism().fit(y, z)
        draws = mechanism.sample_posterior(s, random_state=seed)
        lw = bm.frontdoor_log_weights(mechanism, y, z, [1, 2, 3], draws)
    w = lw.exp().numpy()
    assert lw.shape == (s, 3, y.size)
    assert not np.isnan(w).any() and np.all(w >= 0)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-9)


# ------------------------------------------------------------------------------- learner
@_settings(4)
@given(data=frontdoor_data(), k=st.sampled_from([1, 2]), seed=st.integers(0, 999))
def test_learner_classifier_probabilities(data, k, seed):
    X, y, z = data
    learner = bm.MechanismLearner(
        LogisticRegression(),
        mechanism="gaussian",  # "auto" reads whole-number z as discrete
        n_draws=2,
        n_components=k,
        progress=False,
        random_state=seed,
    )
    with only_legit_warnings():
        learner.fit(X, y, z)
        proba = learner.predict_proba(X)
        pred = learner.predict(X)
        dist = learner.predict_dist(X)
    assert proba.shape == (X.shape[0], 2) and proba.dtype == np.float64
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-9)
    assert set(np.unique(pred)) <= {1, 2} and pred.shape == (X.shape[0],)
    assert dist.dims == ("draw", "sample", "class") and dist.shape == (2, X.shape[0], 2)
    w = learner.log_weights_.exp().numpy()
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-9)


@_settings(3)
@given(data=frontdoor_data(), seed=st.integers(0, 999))
def test_learner_regressor_predictions_and_intervals(data, seed):
    X, y, z = data
    rng = np.random.default_rng(seed)
    y_cont = y + rng.normal(0, 0.5, y.size)  # continuous cause
    learner = bm.MechanismLearner(
        LinearRegression(),
        mechanism="linear-gaussian",
        n_draws=2,
        n_components=1,
        progress=False,
        random_state=seed,
    )
    with only_legit_warnings():
        learner.fit(X, y_cont, z)
        pred = learner.predict(X)
        interval = learner.predict_interval(X, alpha=0.2)
    assert pred.shape == (X.shape[0],) and pred.dtype == np.float64
    assert np.isfinite(pred).all()
    assert interval.shape == (X.shape[0], 2) and np.isfinite(interval).all()
    assert np.all(interval[:, 0] <= interval[:, 1])


@pytest.mark.xfail(
    strict=True,
    reason="found by hypothesis: the variational lower bound of WeightedBayesianGaussianMixture "
    "drops by 5.9e-4 at iteration 8 on 3 rows with a duplicate and K = 3, without a "
    "MixtureWarning. scikit-learn's BayesianGaussianMixture, whose bound ours reproduces to "
    "1e-12 with unit weights, drops too on the same rows replicated (see "
    "test_dp_bound_drop_is_shared_with_scikit_learn): the drop comes from the bound as "
    "scikit-learn computes it, not from the weighting. Remove this marker once an exact ELBO "
    "replaces it",
)
def test_dp_lower_bound_decreases_known_case():
    X = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    dp = bm.WeightedBayesianGaussianMixture(3, max_iter=50, random_state=0)
    with only_legit_warnings():
        dp.fit(X, sample_weight=np.array([[2.0, 1.0, 1.0]]))
    _assert_monotone(dp.lower_bounds_, X)


def test_dp_bound_drop_is_shared_with_scikit_learn():
    # The rows of the xfail above, replicated instead of weighted: scikit-learn's own variational
    # mixture also lets its lower bound fall, so the drop is not an artefact of our weighting.
    from sklearn.mixture import BayesianGaussianMixture

    X = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    bounds = []

    class Recording(BayesianGaussianMixture):
        def _compute_lower_bound(self, log_resp, log_prob_norm):
            bounds.append(super()._compute_lower_bound(log_resp, log_prob_norm))
            return bounds[-1]

    with only_legit_warnings():
        Recording(n_components=3, max_iter=50, tol=0, random_state=0).fit(X)
    assert np.diff(bounds).min() < -1e-4

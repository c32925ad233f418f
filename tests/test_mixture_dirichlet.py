"""WeightedBayesianGaussianMixture: sklearn parity, weighted CAVI invariants, finding K."""

import numpy as np
import pytest
from conftest import scale
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.cluster import kmeans_plusplus
from sklearn.mixture import BayesianGaussianMixture

from bayes_mech.mixture import WeightedBayesianGaussianMixture

COV_TYPES = ["full", "tied", "diag", "spherical"]
PARAMS = ["weights_", "means_", "covariances_", "mean_precision_", "degrees_of_freedom_"]
CENTERS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])


def four_blobs(seed, n=150):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, 1.0, size=(n, 2)) for c in CENTERS])
    return X, np.repeat(np.arange(4), n)


def assert_same_fit(a, b, atol=1e-6):
    for name in PARAMS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=atol, rtol=0)
    np.testing.assert_allclose(a.lower_bound_, b.lower_bound_, atol=atol, rtol=1e-9)


def initial_resp(X, means, covariance_type):
    """Responsibilities of our Alg. 1 start (π = 1/K, global covariance), for sklearn's init."""
    cov = np.cov(X.T, bias=True) + 1e-6 * np.eye(X.shape[1])
    cov = {
        "full": cov,
        "tied": cov,
        "diag": np.diag(np.diag(cov)),
        "spherical": np.eye(X.shape[1]) * np.diag(cov).mean(),
    }[covariance_type]
    log_p = np.stack([multivariate_normal(m, cov).logpdf(X) for m in means], 1)
    return np.exp(log_p - logsumexp(log_p, 1, keepdims=True))


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_unit_weights_match_sklearn(covariance_type, prior_type):
    X, _ = four_blobs(0, n=60)
    X = np.column_stack([X, np.random.default_rng(1).normal(size=len(X))])
    k = 6
    means0, _ = kmeans_plusplus(X, k, random_state=0)
    resp0 = initial_resp(X, means0, covariance_type)

    class Reference(BayesianGaussianMixture):
        def _initialize_parameters(self, X, random_state, xp=None):
            self._initialize(X, resp0)

    kw = {
        "covariance_type": covariance_type,
        "weight_concentration_prior_type": prior_type,
        "tol": 1e-8,
        "max_iter": 500,
    }
    ref = Reference(n_components=k, **kw).fit(X)
    ours = WeightedBayesianGaussianMixture(k, means_init=means0, **kw).fit(X)
    assert ours.n_iter_ == ref.n_iter_
    for name in PARAMS:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), atol=1e-5, rtol=0)
    ref_bound = np.asarray(ref.lower_bound_).item()  # sklearn gives (1,) for "tied"
    assert ours.lower_bound_ == pytest.approx(ref_bound, abs=1e-5)
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-8)
    if prior_type == "dirichlet_process":
        np.testing.assert_allclose(ours.weight_concentration_[1], ref.weight_concentration_[1])


def test_finds_true_k_and_weights_remove_a_component():
    n_seeds = 10
    found, found_weighted = [], []
    for seed in range(n_seeds):
        X, labels = four_blobs(seed)
        W = np.stack([np.ones(len(X)), (labels != 2).astype(float)])  # member 2: no cluster 2
        dp = WeightedBayesianGaussianMixture(10, random_state=seed).fit(X, sample_weight=W)
        found.append(dp.effective_n_components_[0])
        found_weighted.append(dp.effective_n_components_[1])
    assert sum(k == 4 for k in found) >= 9, found
    assert sum(k == 3 for k in found_weighted) >= 9, found_weighted


@pytest.mark.parametrize("weight_scale", ["ess", "n_samples"])
def test_weight_scale_invariance(weight_scale):
    X, _ = four_blobs(1, n=50)
    w = np.random.default_rng(0).exponential(size=len(X))
    kw = {"weight_scale": weight_scale, "random_state": 0}
    a = WeightedBayesianGaussianMixture(6, **kw).fit(X, sample_weight=w)
    b = WeightedBayesianGaussianMixture(6, **kw).fit(X, sample_weight=321.0 * w)
    assert_same_fit(a, b, atol=1e-9)


def test_ess_scaling_sets_the_data_total():
    X, _ = four_blobs(2, n=50)
    w = np.random.default_rng(0).exponential(size=len(X))
    ess = w.sum() ** 2 / (w**2).sum()
    dp = WeightedBayesianGaussianMixture(6, random_state=0).fit(X, sample_weight=w)
    # β_k = β₀ + N_k and ν_k = ν₀ + N_k with Σ_k N_k = N_eff (up to scikit-learn's 10 ε per k).
    assert (dp.mean_precision_ - 1.0).sum() == pytest.approx(ess, rel=1e-10)
    assert (dp.degrees_of_freedom_ - 2.0).sum() == pytest.approx(ess, rel=1e-10)
    raw = WeightedBayesianGaussianMixture(6, weight_scale="sum", random_state=0)
    assert (raw.fit(X, sample_weight=w).mean_precision_ - 1.0).sum() == pytest.approx(w.sum())


def test_integer_weights_equal_replicated_rows_with_sum_scale():
    X, _ = four_blobs(3, n=40)
    counts = np.random.default_rng(0).integers(1, 4, size=len(X))
    kw = {"weight_scale": "sum", "means_init": X[[0, 50, 90, 130, 20]], "tol": 1e-10}
    a = WeightedBayesianGaussianMixture(5, **kw).fit(X, sample_weight=counts)
    b = WeightedBayesianGaussianMixture(5, **kw).fit(np.repeat(X, counts, axis=0))
    assert a.n_iter_ == b.n_iter_
    assert_same_fit(a, b)


def test_integer_weights_equal_shuffled_replicated_rows_from_k_means_plus_plus():
    # No means_init: weighted k-means++ in a canonical row order picks the same centres for
    # integer weights as for the repeated rows, whatever order either comes in.
    X, _ = four_blobs(3, n=40)
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 4, size=len(X))
    perm = rng.permutation(len(X))
    kw = {"weight_scale": "sum", "random_state": 7, "tol": 1e-10}
    a = WeightedBayesianGaussianMixture(5, **kw).fit(X[perm], sample_weight=counts[perm])
    b = WeightedBayesianGaussianMixture(5, **kw).fit(np.repeat(X, counts, axis=0))
    assert_same_fit(a, b, atol=1e-8)


def test_zero_weights_equal_dropped_rows():
    X, _ = four_blobs(4, n=50)
    w = np.random.default_rng(0).exponential(size=len(X))
    w[::3] = 0.0
    a = WeightedBayesianGaussianMixture(6, random_state=2).fit(X, sample_weight=w)
    b = WeightedBayesianGaussianMixture(6, random_state=2).fit(X[w > 0], sample_weight=w[w > 0])
    assert_same_fit(a, b, atol=1e-9)


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_lower_bound_never_decreases(covariance_type, prior_type):
    X, _ = four_blobs(5, n=60)
    W = np.random.default_rng(0).exponential(size=(2, len(X)))
    dp = WeightedBayesianGaussianMixture(
        8,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        tol=1e-10,
        max_iter=1000,
        random_state=0,
    ).fit(X, sample_weight=W)
    hist = dp.lower_bounds_
    steps = np.diff(hist, axis=1)
    ok = np.isnan(steps) | (steps >= -1e-9 * np.abs(hist[:, 1:]))
    assert ok.all(), np.nanmin(steps)
    assert np.all(dp.converged_)


def test_batched_fit_equals_separate_fits():
    X, labels = four_blobs(6, n=60)
    rng = np.random.default_rng(0)
    W = rng.exponential(size=(3, len(X)))
    W[1, labels == 0] = 0.0
    means0 = np.stack([X[rng.choice(len(X), 6, replace=False)] for _ in range(3)])
    batched = WeightedBayesianGaussianMixture(6, means_init=means0, tol=1e-6)
    batched.fit(X, sample_weight=W)
    assert batched.means_.shape == (3, 6, 2) and batched.effective_n_components_.shape == (3,)
    for b in range(3):
        one = WeightedBayesianGaussianMixture(6, means_init=means0[b], tol=1e-6)
        one.fit(X, sample_weight=W[b])
        assert batched.n_iter_[b] == one.n_iter_
        for name in PARAMS:
            np.testing.assert_allclose(getattr(batched, name)[b], getattr(one, name), atol=1e-9)
        np.testing.assert_allclose(batched.score_samples(X)[b], one.score_samples(X), atol=1e-9)


@pytest.mark.slow
def test_samples_match_mixture_moments():
    X, _ = four_blobs(7, n=scale(60, 200))
    dp = WeightedBayesianGaussianMixture(6, random_state=0).fit(X)
    n = scale(20_000, 200_000)
    samples, _ = dp.sample(n, random_state=0)
    pi, mu, cov = dp.weights_, dp.means_, dp.covariances_
    mean = pi @ mu
    total = np.einsum("k,kij->ij", pi, cov + mu[:, :, None] * mu[:, None, :]) - np.outer(mean, mean)
    assert np.all(np.abs(samples.mean(0) - mean) < 4.5 * np.sqrt(np.diag(total) / n))
    np.testing.assert_allclose(np.cov(samples.T), total, atol=0.05 * np.abs(total).max())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"weight_scale": "mean"}, ValueError, "weight_scale must be one of"),
        ({"weight_concentration_prior_type": "dp"}, ValueError, "'dirichlet_process'"),
        ({"weight_concentration_prior": 0.0}, ValueError, "weight_concentration_prior must"),
        ({"degrees_of_freedom_prior": 0.5}, ValueError, "degrees_of_freedom_prior must be > "),
        ({"covariance_prior": np.eye(3)}, ValueError, r"covariance_prior must be finite.*\(2, 2\)"),
        ({"covariance_prior": -np.eye(2)}, ValueError, "positive definite"),
        ({"mean_prior": [0.0]}, ValueError, r"mean_prior must be a finite array of shape \(2,\)"),
        ({"weight_threshold": 1.0}, ValueError, r"weight_threshold must be in \[0, 1\)"),
        ({"covariance_type": "fulll"}, ValueError, "covariance_type must be one of"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    X, _ = four_blobs(0, n=10)
    with pytest.raises(error, match=match):
        WeightedBayesianGaussianMixture(3, **kwargs).fit(X)


def test_user_priors_are_used():
    X, _ = four_blobs(8, n=40)
    dp = WeightedBayesianGaussianMixture(
        4, mean_prior=[5.0, 5.0], covariance_prior=2.0 * np.eye(2), degrees_of_freedom_prior=3.0,
        random_state=0,
    ).fit(X)  # fmt: skip
    np.testing.assert_allclose(dp.mean_prior_, [5.0, 5.0])
    np.testing.assert_allclose(dp.covariance_prior_, 2.0 * np.eye(2))
    assert dp.degrees_of_freedom_.sum() == pytest.approx(4 * 3.0 + len(X), rel=1e-9)


def test_sklearn_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    # check_sample_weight_equivalence_on_dense_data passes since k-means++ runs in a canonical
    # row order (it shuffles the weighted rows); before, the weighted fit started elsewhere.
    expected = {"check_parameters_default_constructible": "dtype defaults to torch.float64"}
    check_estimator(
        WeightedBayesianGaussianMixture(n_components=3),
        expected_failed_checks=expected,
        on_skip=None,
    )

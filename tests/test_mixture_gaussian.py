"""WeightedGaussianMixture: weighted-EM invariants, sklearn parity, batching and input checks."""

import numpy as np
import pytest
import torch
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import NotFittedError
from sklearn.mixture import GaussianMixture
from sklearn.utils.estimator_checks import check_estimator

from bayes_mech.exceptions import ConvergenceWarning
from bayes_mech.mixture import MixtureWarning, WeightedGaussianMixture
from bayes_mech.mixture import _covariances as cov_ops
from bayes_mech.mixture._base import canonical_order, weighted_kmeans_plusplus

COV_TYPES = ["full", "tied", "diag", "spherical"]
PARAMS = ["weights_", "means_", "covariances_", "precisions_cholesky_"]


def three_blobs(rng, n=(150, 150, 100)):
    centers = np.array([[-4.0, 0.0, 1.0], [4.0, 1.0, 0.0], [0.0, 6.0, -2.0]])
    scales = [1.0, 0.7, 0.5]
    return np.concatenate(
        [rng.normal(c, s, size=(m, 3)) for c, s, m in zip(centers, scales, n, strict=True)]
    )


def assert_same_fit(a, b, atol=1e-6):
    for name in PARAMS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=atol, rtol=0)
    np.testing.assert_allclose(a.lower_bound_, b.lower_bound_, atol=atol, rtol=0)


def precision_init(X, covariance_type, k, reg=1e-6):
    """scikit-learn's precisions_init equal to our Alg. 1 start: the global covariance."""
    cov = np.cov(X.T, bias=True) + reg * np.eye(X.shape[1])
    prec = np.linalg.inv(cov)
    return {
        "full": np.stack([prec] * k),
        "tied": prec,
        "diag": np.tile(1.0 / np.diag(cov), (k, 1)),
        "spherical": np.full(k, 1.0 / np.diag(cov).mean()),
    }[covariance_type]


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_unit_weights_match_sklearn(rng, covariance_type):
    X = three_blobs(rng)
    k = 3
    means0, _ = kmeans_plusplus(X, k, random_state=0)
    ours = WeightedGaussianMixture(
        k, covariance_type=covariance_type, means_init=means0, tol=1e-8, max_iter=300
    ).fit(X)
    ref = GaussianMixture(
        k,
        covariance_type=covariance_type,
        weights_init=np.full(k, 1 / k),
        means_init=means0,
        precisions_init=precision_init(X, covariance_type, k),
        tol=1e-8,
        max_iter=300,
    ).fit(X)
    assert ours.n_iter_ == ref.n_iter_
    for name in PARAMS:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), atol=1e-5, rtol=0)
    assert ours.lower_bound_ == pytest.approx(ref.lower_bound_, abs=1e-5)
    assert ours.bic(X) == pytest.approx(ref.bic(X), rel=1e-10)
    assert ours.aic(X) == pytest.approx(ref.aic(X), rel=1e-10)
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-8)
    assert ours.score(X) == pytest.approx(ref.score(X), abs=1e-10)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_integer_weights_equal_replicated_rows(rng, covariance_type):
    X = three_blobs(rng, n=(60, 60, 40))
    counts = rng.integers(1, 4, size=len(X))
    means0 = X[[0, 70, 130]]
    kw = {"covariance_type": covariance_type, "means_init": means0, "tol": 1e-10}
    weighted = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=counts)
    replicated = WeightedGaussianMixture(3, **kw).fit(np.repeat(X, counts, axis=0))
    assert weighted.n_iter_ == replicated.n_iter_
    assert_same_fit(weighted, replicated)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_integer_weights_equal_shuffled_replicated_rows_from_k_means_plus_plus(
    rng, covariance_type
):
    # scikit-learn's sample-weight check shuffles the weighted rows; k-means++ in a canonical
    # row order then still starts from the same centres as on the repeated rows (same seed).
    X = three_blobs(rng, n=(60, 60, 40))
    counts = rng.integers(0, 4, size=len(X))
    perm = rng.permutation(len(X))
    kw = {"covariance_type": covariance_type, "random_state": 5, "tol": 1e-10}
    weighted = WeightedGaussianMixture(3, **kw).fit(X[perm], sample_weight=counts[perm])
    replicated = WeightedGaussianMixture(3, **kw).fit(np.repeat(X, counts, axis=0))
    assert weighted.n_iter_ == replicated.n_iter_
    assert_same_fit(weighted, replicated)
    # Any permutation of the rows gives the same fit.
    again = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=counts)
    assert_same_fit(weighted, again)


def test_kmeans_plusplus_with_precomputed_order_picks_the_same_centres(rng):
    # Selection passes the canonical order once for ~100 runs; it must not change any start,
    # including with zero weights (dropped) and tied rows (kept in their stable order).
    X = np.round(three_blobs(rng, n=(60, 60, 40)), 1)
    X[10] = X[11]
    w = rng.uniform(0.5, 2.0, size=len(X))
    w[rng.random(len(X)) < 0.3] = 0.0
    order = canonical_order(X)
    assert np.all(np.diff(X[order, 0]) >= 0)
    for k in (1, 3, 6):
        plain = weighted_kmeans_plusplus(X, k, w, np.random.RandomState(4))
        given = weighted_kmeans_plusplus(X, k, w, np.random.RandomState(4), order)
        np.testing.assert_array_equal(plain, given)
        assert all((w[(X == c).all(1)] > 0).any() for c in given)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_zero_weights_equal_dropped_rows(rng, covariance_type):
    X = three_blobs(rng, n=(60, 60, 40))
    w = rng.uniform(0.5, 2.0, size=len(X))
    w[rng.random(len(X)) < 0.3] = 0.0
    kw = {"covariance_type": covariance_type, "random_state": 3}
    with_zeros = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=w)
    dropped = WeightedGaussianMixture(3, **kw).fit(X[w > 0], sample_weight=w[w > 0])
    # Same seed: zero-weight rows are dropped before k-means++, so the initialisation agrees too.
    assert_same_fit(with_zeros, dropped, atol=1e-9)


def test_weight_scale_changes_nothing(rng):
    X = three_blobs(rng)
    w = rng.exponential(size=len(X))
    a = WeightedGaussianMixture(3, random_state=0).fit(X, sample_weight=w)
    b = WeightedGaussianMixture(3, random_state=0).fit(X, sample_weight=1234.5 * w)
    assert_same_fit(a, b, atol=1e-9)
    assert a.bic(X, sample_weight=w) == pytest.approx(b.bic(X, sample_weight=1e-3 * w))


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_lower_bound_never_decreases(rng, covariance_type):
    X = np.concatenate([three_blobs(rng), rng.normal(0, 3, size=(100, 3))])
    W = rng.exponential(size=(3, len(X)))
    gm = WeightedGaussianMixture(5, covariance_type=covariance_type, tol=0, max_iter=60)
    with pytest.warns(ConvergenceWarning, match="tol=0"):  # tol=0 never converges, as sklearn
        gm.set_params(random_state=1).fit(X, sample_weight=W)
    hist = gm.lower_bounds_
    assert hist.shape == (3, 60)
    steps = np.diff(hist, axis=1)
    assert np.all(steps >= -1e-9 * np.abs(hist[:, 1:])), steps.min()
    assert np.all(hist[:, -1] > hist[:, 0] + 0.01)  # EM made real progress
    np.testing.assert_allclose(gm.lower_bound_, hist[:, -1])


def test_lower_bound_history_matches_max_iter_stepping(rng):
    X = three_blobs(rng)
    w = rng.exponential(size=len(X))
    full = WeightedGaussianMixture(3, tol=0, max_iter=8, random_state=0)
    with pytest.warns(ConvergenceWarning):
        full.fit(X, sample_weight=w)
    for m in (1, 4):
        with pytest.warns(ConvergenceWarning):
            part = WeightedGaussianMixture(3, tol=0, max_iter=m, random_state=0)
            part.fit(X, sample_weight=w)
        assert part.lower_bound_ == pytest.approx(full.lower_bounds_[m - 1], abs=1e-12)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_batched_fit_equals_separate_fits(rng, covariance_type):
    X = three_blobs(rng)
    W = rng.exponential(size=(4, len(X)))
    W[1, :150] = 0.0  # a member that never sees the first blob
    means0 = np.stack([X[rng.choice(len(X), 3, replace=False)] for _ in range(4)])
    means0[1] = X[[160, 200, 350]]
    kw = {"covariance_type": covariance_type, "tol": 1e-6, "max_iter": 200}
    batched = WeightedGaussianMixture(3, means_init=means0, **kw).fit(X, sample_weight=W)
    assert batched.means_.shape == (4, 3, 3)
    assert batched.converged_.shape == batched.n_iter_.shape == (4,)
    for b in range(4):
        one = WeightedGaussianMixture(3, means_init=means0[b], **kw).fit(X, sample_weight=W[b])
        assert batched.n_iter_[b] == one.n_iter_
        for name in PARAMS:
            np.testing.assert_allclose(getattr(batched, name)[b], getattr(one, name), atol=1e-9)
        assert batched.lower_bound_[b] == pytest.approx(one.lower_bound_, abs=1e-12)
        np.testing.assert_allclose(batched.score_samples(X)[b], one.score_samples(X), atol=1e-9)
        assert batched.bic(X, W)[b] == pytest.approx(one.bic(X, W[b]), rel=1e-10)
    # Members converge on their own schedule and then stop changing.
    assert len(set(batched.n_iter_.tolist())) > 1


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_chunked_statistics_equal_one_chunk(rng, covariance_type, monkeypatch):
    X = three_blobs(rng)
    W = rng.exponential(size=(2, len(X)))
    kw = {"covariance_type": covariance_type, "random_state": 0, "tol": 1e-9, "max_iter": 500}
    whole = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=W)
    monkeypatch.setattr(cov_ops, "CHUNK_BYTES", 4096)  # a few rows per chunk
    monkeypatch.setattr(cov_ops, "FEATURE_CACHE_BYTES", 0)  # row features rebuilt per chunk
    assert cov_ops.chunk_rows(len(X), cov_ops._row_bytes(covariance_type, 2, 3, 3, 8)) < 20
    chunked = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=W)
    assert_same_fit(whole, chunked, atol=1e-10)
    np.testing.assert_allclose(whole.score_samples(X), chunked.score_samples(X), atol=1e-10)


def test_n_init_keeps_best_per_member(rng):
    X = np.concatenate([three_blobs(rng), rng.normal(0, 4, size=(200, 3))])
    W = rng.exponential(size=(3, len(X)))
    one = WeightedGaussianMixture(6, n_init=1, random_state=7).fit(X, sample_weight=W)
    many = WeightedGaussianMixture(6, n_init=4, random_state=7).fit(X, sample_weight=W)
    assert np.all(many.lower_bound_ >= one.lower_bound_ - 1e-12)
    assert np.any(many.lower_bound_ > one.lower_bound_ + 1e-6)


def test_random_state_reproducible_and_init_params(rng):
    X = three_blobs(rng)
    for init in ("k-means++", "random"):
        a = WeightedGaussianMixture(3, init_params=init, random_state=5).fit(X)
        b = WeightedGaussianMixture(3, init_params=init, random_state=5).fit(X)
        assert_same_fit(a, b, atol=0)
        np.testing.assert_allclose(np.sort(a.weights_), [0.25, 0.375, 0.375], atol=0.01)


@pytest.mark.parametrize("stratified", [False, True])
@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_samples_reproduce_mixture_moments(rng, covariance_type, stratified):
    X = three_blobs(rng)
    W = np.stack([np.ones(len(X)), rng.exponential(size=len(X))])
    gm = WeightedGaussianMixture(3, covariance_type=covariance_type, random_state=0)
    gm.fit(X, sample_weight=W)
    n = 40_000
    samples, labels = gm.sample(n, random_state=1, stratified=stratified)
    assert samples.shape == (2, n, 3) and labels.shape == (2, n)
    again, _ = gm.sample(n, random_state=1, stratified=stratified)
    np.testing.assert_array_equal(samples, again)
    cov = gm.covariances_
    full = {
        "full": cov,
        "tied": np.repeat(cov[:, None], 3, axis=1),
        "diag": cov[..., None] * np.eye(3),
        "spherical": cov[..., None, None] * np.eye(3),
    }[covariance_type]
    for b in range(2):
        pi, mu = gm.weights_[b], gm.means_[b]
        mean = pi @ mu
        second = np.einsum("k,kij->ij", pi, full[b] + mu[:, :, None] * mu[:, None, :])
        total = second - np.outer(mean, mean)
        sd = np.sqrt(np.diag(total) / n)
        assert np.all(np.abs(samples[b].mean(0) - mean) < 4.5 * sd)
        np.testing.assert_allclose(np.cov(samples[b].T), total, atol=0.05 * np.abs(total).max())
        np.testing.assert_allclose(np.bincount(labels[b], minlength=3) / n, pi, atol=0.012)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_stratified_samples_pair_up_and_balance_components(rng, covariance_type):
    X = three_blobs(rng)
    W = np.stack([np.ones(len(X)), rng.exponential(size=len(X))])
    gm = WeightedGaussianMixture(3, covariance_type=covariance_type, random_state=0)
    gm.fit(X, sample_weight=W)
    n = 20_001  # odd: the last pair is cut
    samples, labels = gm.sample(n, random_state=1, stratified=True)
    assert samples.shape == (2, n, 3) and labels.shape == (2, n)
    np.testing.assert_array_equal(samples, gm.sample(n, random_state=1, stratified=True)[0])
    for b in range(2):
        pi, mu = gm.weights_[b], gm.means_[b]
        # Antithetic pairs share a component and mirror about its mean.
        np.testing.assert_array_equal(labels[b, 0:-1:2], labels[b, 1::2])
        mid = (samples[b, 0:-1:2] + samples[b, 1::2]) / 2
        np.testing.assert_allclose(mid, mu[labels[b, 0:-1:2]], atol=1e-12)
        # Every leading block holds each component within a few rows of n_j * pi
        # (independent labels: sd sqrt(n_j pi (1 - pi)), ~40 rows at n_j = 20,000).
        for n_j in (10, 100, 1000, 20_000):
            counts = np.bincount(labels[b, :n_j], minlength=3)
            assert np.all(np.abs(counts - n_j * pi) <= 2 + 2 * np.log(n_j)), (n_j, counts, pi)


def test_stratified_sample_mean_has_less_noise_than_independent(rng):
    # The point of stratifying: a statistic of the samples (here the overall mean) varies far
    # less over seeds; independent rows give sd ~ sqrt(Var / n), stratified rows only the
    # label sequence's shift.
    X = three_blobs(rng)
    gm = WeightedGaussianMixture(3, random_state=0).fit(X)
    n = 500
    iid = [gm.sample(n, random_state=s)[0].mean(0) for s in range(200)]
    strat = [gm.sample(n, random_state=s, stratified=True)[0].mean(0) for s in range(200)]
    ratio = np.std(strat, axis=0) / np.std(iid, axis=0)
    assert np.all(ratio < 0.25), ratio  # measured 0.12-0.15


def test_predict_shapes_and_consistency(rng):
    X = three_blobs(rng)
    gm = WeightedGaussianMixture(3, random_state=0).fit(X)
    proba = gm.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(gm.predict(X), proba.argmax(1))
    W = np.stack([np.ones(len(X))] * 2)
    gm.fit(X, sample_weight=W)
    assert gm.predict_proba(X).shape == (2, len(X), 3)
    assert gm.predict(X).shape == gm.score_samples(X).shape == (2, len(X))
    assert gm.score(X).shape == gm.aic(X, W).shape == (2,)


def test_torch_input_and_float32(rng):
    X = three_blobs(rng)
    a = WeightedGaussianMixture(3, random_state=0).fit(torch.as_tensor(X))
    b = WeightedGaussianMixture(3, random_state=0).fit(X)
    assert_same_fit(a, b, atol=0)
    c = WeightedGaussianMixture(3, random_state=0, dtype=torch.float32).fit(X)
    np.testing.assert_allclose(c.means_, b.means_, atol=1e-3)
    assert np.all(np.isfinite(c.score_samples(X)))
    # Above MOMENT_MAX_FEATURES the direct path runs, with single-precision BLAS syrk.
    wide = np.concatenate([rng.normal(m, 1.0, (200, 80)) for m in (0.0, 4.0)])
    single = WeightedGaussianMixture(2, random_state=0, dtype=torch.float32).fit(wide)
    double = WeightedGaussianMixture(2, random_state=0).fit(wide)
    np.testing.assert_allclose(single.means_, double.means_, atol=1e-3)
    np.testing.assert_allclose(single.covariances_, double.covariances_, atol=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(rng):  # pragma: no cover - runs on GPU machines only
    X = three_blobs(rng)
    W = rng.exponential(size=(3, len(X)))
    cpu = WeightedGaussianMixture(3, random_state=0).fit(X, sample_weight=W)
    gpu = WeightedGaussianMixture(3, random_state=0, device="cuda").fit(X, sample_weight=W)
    assert_same_fit(cpu, gpu, atol=1e-8)
    assert gpu.sample(10, random_state=0)[0].shape == (3, 10, 3)


def test_zero_variance_column_fits_without_nan(rng):
    X = np.column_stack([three_blobs(rng)[:, :2], np.full(400, 2.5)])
    gm = WeightedGaussianMixture(3, random_state=0).fit(X)
    assert np.all(np.isfinite(gm.covariances_)) and np.all(np.isfinite(gm.score_samples(X)))
    np.testing.assert_allclose(gm.covariances_[:, 2, 2], 1e-6, rtol=1e-6)


def test_collapsed_components_warn_with_numbers():
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 9.0]]), 20, axis=0)
    gm = WeightedGaussianMixture(3, reg_covar=0.0, random_state=0)
    with pytest.warns(MixtureWarning, match=r"\d+ covariance matrix update\(s\)"):
        gm.fit(X)
    assert np.all(np.isfinite(gm.means_))
    np.testing.assert_allclose(np.sort(gm.weights_), [1 / 3] * 3, atol=1e-9)


def test_convergence_warning_counts_members(rng):
    X = three_blobs(rng)
    W = rng.exponential(size=(3, len(X)))
    with pytest.warns(ConvergenceWarning, match=r"3 of 3 mixtures did not converge.*\|Δ"):
        WeightedGaussianMixture(3, max_iter=2, random_state=0).fit(X, sample_weight=W)
    with pytest.warns(ConvergenceWarning, match="The mixture did not converge"):
        WeightedGaussianMixture(3, max_iter=1, random_state=0).fit(X)


def test_not_fitted_error(rng):
    gm = WeightedGaussianMixture(2)
    for method in (gm.score_samples, gm.predict, gm.predict_proba, gm.bic):
        with pytest.raises(NotFittedError):
            method(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        gm.sample(3)


def _bad_fit(kwargs=None, X=None, w=None):
    X = np.random.default_rng(0).normal(size=(20, 2)) if X is None else X
    return WeightedGaussianMixture(**{"n_components": 2, **(kwargs or {})}).fit(X, sample_weight=w)


@pytest.mark.parametrize(
    ("kwargs", "X", "w", "error", "match"),
    [
        ({}, np.full((5, 2), np.nan), None, ValueError, "X must be finite; got 10 NaN"),
        ({}, np.array([[0.0, np.inf], [1, 1], [2, 2]]), None, ValueError, "1 infinite"),
        ({}, np.arange(10.0), None, ValueError, r"X must be a 2-D.*reshape\(-1, 1\)"),
        ({}, None, np.r_[np.nan, np.ones(19)], ValueError, "sample_weight must be finite"),
        ({}, None, np.r_[-1.0, np.ones(19)], ValueError, "sample_weight must be non-negative"),
        ({}, None, np.zeros(20), ValueError, "sample_weight must have positive total mass"),
        ({}, None, np.ones(19), ValueError, r"sample_weight must have shape \(20,\)"),
        ({}, None, np.ones((2, 3, 20)), ValueError, r"sample_weight must have shape \(20,\)"),
        ({}, None, np.r_[1.0, np.zeros(19)], ValueError, "at least n_components = 2 rows"),
        ({"n_components": 30}, None, None, ValueError, "n_components = 30 rows"),
        ({"covariance_type": "fulll"}, None, None, ValueError, r"covariance_type.*'spherical'"),
        ({"reg_covar": -1e-3}, None, None, ValueError, "reg_covar must be a finite number >="),
        ({"n_components": 0}, None, None, ValueError, "n_components must be an integer >= 1"),
        ({"n_components": 2.5}, None, None, TypeError, "n_components must be an integer"),
        ({"tol": "x"}, None, None, TypeError, "tol must be a real number"),
        ({"init_params": "kmeans"}, None, None, ValueError, "init_params must be one of"),
        ({"means_init": np.zeros((3, 2))}, None, None, ValueError, r"means_init must have shape"),
        ({"dtype": torch.int64}, None, None, ValueError, "dtype must be torch.float64"),
        ({"device": "gpu0"}, None, None, ValueError, "device must name a torch device"),
    ],
)
def test_bad_input_raises_naming_argument(kwargs, X, w, error, match):
    with pytest.raises(error, match=match):
        _bad_fit(kwargs, X, w)


def test_bad_input_at_predict_and_criteria(rng):
    gm = WeightedGaussianMixture(2, random_state=0).fit(rng.normal(size=(30, 2)))
    with pytest.raises(ValueError, match="X has 3 features, but WeightedGaussianMixture"):
        gm.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        gm.bic(np.zeros((4, 2)), sample_weight=np.ones(5))
    with pytest.raises(TypeError, match="sparse input is not supported"):
        import scipy.sparse

        gm.fit(scipy.sparse.csr_matrix(np.ones((5, 2))))


def test_sklearn_check_estimator():
    # torch.float64 is the documented dtype default; scikit-learn only allows numpy/builtin types
    # as parameter defaults, so that one check is expected to fail.
    expected = {
        "check_parameters_default_constructible": "dtype defaults to torch.float64 (a torch dtype)"
    }
    check_estimator(WeightedGaussianMixture(), expected_failed_checks=expected, on_skip=None)


def test_small_fits_restore_thread_count(rng):
    before = torch.get_num_threads()
    WeightedGaussianMixture(2, random_state=0).fit(rng.normal(size=(50, 2)))
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("gram", ["numpy blas", "syrk", "gemm"])
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_direct_path_equals_moment_path(rng, covariance_type, gram, monkeypatch):
    # full/tied switch from GEMMs on row moments to x − μ products above MOMENT_MAX_FEATURES
    # features; both must give the same fit, whether that path runs one matrix at a time on
    # numpy's BLAS (trmm, syrk, potrf/trtri: the choice on AMD CPUs) or batched on torch's, with
    # the Gram matrices from BLAS syrk (CPU) or a GEMM (other devices), and in chunks of a few
    # rows with a shorter last chunk (the reused buffers are sliced).
    X = three_blobs(rng)  # 400 rows: chunks of 7 leave a last chunk of 1
    W = rng.exponential(size=(2, len(X)))
    kw = {"covariance_type": covariance_type, "random_state": 0, "tol": 1e-9}
    moments = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=W)
    monkeypatch.setattr(cov_ops, "MOMENT_MAX_FEATURES", 0)
    monkeypatch.setattr(cov_ops, "CHUNK_BYTES", 8 * cov_ops._row_bytes("full", 2, 3, 3, 8) * 7)
    monkeypatch.setattr(cov_ops.gemm, "numpy_blas", lambda: gram == "numpy blas")
    if gram == "gemm":
        monkeypatch.setattr(cov_ops, "_SYRK", {})
    direct = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=W)
    assert_same_fit(moments, direct, atol=1e-9)
    np.testing.assert_allclose(moments.score_samples(X), direct.score_samples(X), atol=1e-9)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_high_dimensional_full_and_tied_match_sklearn(rng, covariance_type):
    # The direct path; tied on numpy's BLAS shares one trmm per member across components.
    d = cov_ops.MOMENT_MAX_FEATURES + 6
    X = np.concatenate([rng.normal(0, 1, (150, d)), rng.normal(2, 0.5, (150, d))])
    means0 = X[[0, 200]]
    kw = {"covariance_type": covariance_type, "means_init": means0, "tol": 1e-8}
    ours = WeightedGaussianMixture(2, **kw).fit(X)
    ref = GaussianMixture(
        2, weights_init=[0.5, 0.5], precisions_init=precision_init(X, covariance_type, 2), **kw
    ).fit(X)
    for name in PARAMS:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), atol=1e-5, rtol=0)
    assert ours.lower_bound_ == pytest.approx(ref.lower_bound_, abs=1e-5)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_translation_far_from_origin(rng, covariance_type):
    # Second moments are accumulated in centred coordinates, so a large offset costs no accuracy.
    X = three_blobs(rng)
    kw = {"covariance_type": covariance_type, "means_init": X[[0, 200, 350]], "tol": 1e-9}
    near = WeightedGaussianMixture(3, **kw).fit(X)
    kw["means_init"] = kw["means_init"] + 1e5
    far = WeightedGaussianMixture(3, **kw).fit(X + 1e5)
    np.testing.assert_allclose(far.means_ - 1e5, near.means_, atol=1e-6)
    np.testing.assert_allclose(far.covariances_, near.covariances_, atol=1e-6)
    assert far.lower_bound_ == pytest.approx(near.lower_bound_, abs=1e-8)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_wide_feature_gemm_order_gives_the_same_fit(rng, covariance_type, monkeypatch):
    # Rows with many features use Φ A (then a transpose) instead of A Φᵀ for the E-step; both
    # orders must give the same fit.
    X = three_blobs(rng)
    W = rng.exponential(size=(2, len(X)))
    kw = {"covariance_type": covariance_type, "random_state": 0, "tol": 1e-9}
    narrow = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=W)
    monkeypatch.setattr(cov_ops, "WIDE_FEATURES", 0)
    wide = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=W)
    assert_same_fit(narrow, wide, atol=1e-9)


def test_responsibilities_never_subnormal():
    # exp(−730) is a subnormal float64, on which x86 arithmetic is ~100x slower: far components
    # must get exactly zero instead (it changes no sum: they are < 1e-308 of the largest term).
    log_rho = torch.tensor([[0.0, -730.0, -5.0]], dtype=torch.float64).T  # (K=3, c=1)
    w = torch.tensor([[0.5]], dtype=torch.float64)
    rw, lse, _ = cov_ops._weighted_resp(log_rho.clone(), w, 0, False)
    tiny = torch.finfo(torch.float64).tiny
    assert not ((rw > 0) & (rw < tiny)).any()
    assert rw[1, 0] == 0.0 and rw[2, 0] > 0.0
    expected = torch.softmax(log_rho, 0) * 0.5
    torch.testing.assert_close(rw, torch.where(expected < tiny, 0.0, expected), rtol=1e-15, atol=0)
    assert lse.item() == pytest.approx(float(torch.logsumexp(log_rho, 0)), abs=1e-15)


def test_tied_second_moments_passed_once_per_fit_equal_the_per_iteration_sums(rng):
    # A tied mixture's M-step second moments sum_n w phi(x) need no responsibilities: the EM
    # computes them once per fit (RowFeatures.weighted_sums) and passes them to every iteration.
    X = torch.as_tensor(three_blobs(rng) - 1.0)
    W = torch.as_tensor(rng.exponential(size=(3, len(X))))
    feats = cov_ops.RowFeatures(X, "tied")
    phi = feats.rows(0, len(X))
    np.testing.assert_allclose(feats.weighted_sums(W), W @ phi, rtol=1e-12)
    d = X.shape[1]
    means = torch.as_tensor(rng.normal(size=(3, 4, d)))
    upper = torch.triu(torch.as_tensor(rng.uniform(0.2, 0.6, size=(d, d)))) + torch.eye(d)
    prec_chol = upper.expand(3, d, d)  # P with P P^T = the shared precision
    log_const = torch.zeros(3, 4, dtype=torch.float64)
    args = (X, W, means, prec_chol, log_const, "tied", 1e-6)
    given = cov_ops.weighted_statistics(*args, second_moments=feats.weighted_sums(W))
    summed = cov_ops.weighted_statistics(*args)
    for a, b in zip(given, summed, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # and the tied covariance is the weighted mean of the per-component scatter around the
    # new means (computed here without the shortcut)
    new_means, cov = summed[1], summed[2]
    r = torch.softmax(cov_ops.log_rho(X, means, prec_chol, log_const, "tied"), dim=1)
    wr = W[:, None, :] * r  # (B, K, N)
    diff = X[None, None] - new_means[:, :, None, :]
    scatter = torch.einsum("bkn,bkni,bknj->bij", wr, diff, diff) / wr.sum((1, 2))[:, None, None]
    np.testing.assert_allclose(cov, scatter + 1e-6 * torch.eye(d), rtol=1e-9, atol=1e-12)
    # The E-step leaves the shared quadratic part -1/2 x^T Lambda x out of the responsibilities
    # (it cancels there); the log-likelihood adds its weighted sum back: the same as
    # sum_n w logsumexp_k log rho with the quadratic part in every term.
    lse = torch.logsumexp(cov_ops.log_rho(X, means, prec_chol, log_const, "tied"), dim=1)
    np.testing.assert_allclose(summed[3], (W * lse).sum(-1), rtol=1e-11)


def test_weighted_gram_is_the_weighted_sum_of_outer_products(rng, monkeypatch):
    # the direct path's tied second moments, passed to every EM iteration; chunks of 7 rows
    monkeypatch.setattr(cov_ops, "CHUNK_BYTES", 7 * 8 * 3 * 5)
    X = torch.as_tensor(rng.normal(size=(50, 5)))
    W = torch.as_tensor(rng.exponential(size=(3, 50)))
    want = torch.einsum("bn,ni,nj->bij", W, X, X)
    np.testing.assert_allclose(cov_ops.weighted_gram(X, W), want, rtol=1e-12)

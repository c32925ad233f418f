"""Partial pooling of the CW-GMMs' component means across intervention values."""

import pickle
import warnings

import numpy as np
import pytest
from conftest import load_bench
from sklearn.linear_model import LinearRegression, LogisticRegression

import bayes_mech as bm
from bayes_mech.exceptions import FrontDoorWeightWarning
from bayes_mech.resamplers._pooling import component_variances, match_components, pool_means

SELECTION, _ = load_bench("selection")


def _dersimonian_laird(means, v):
    """Independent loop form of the estimator and the posterior means (one feature)."""
    n_values, n_components = means.shape
    num = den = 0.0
    centers = []
    for k in range(n_components):
        w = 1.0 / v[:, k]
        center = np.sum(w * means[:, k]) / w.sum()
        centers.append(center)
        num += np.sum(w * (means[:, k] - center) ** 2) - (n_values - 1)
        den += w.sum() - np.sum(w**2) / w.sum()
    tau2 = max(0.0, num / den)
    out = np.empty_like(means)
    for m in range(n_values):
        for k in range(n_components):
            out[m, k] = centers[k] + tau2 / (tau2 + v[m, k]) * (means[m, k] - centers[k])
    return out, tau2


def test_pool_means_matches_the_loop_form(rng):
    means = rng.normal(size=(3, 4, 5)) * np.array([0.05, 0.05, 2.0, 0.5, 0.01])
    variances = rng.uniform(0.5, 2.0, size=(3, 4, 5))
    n_eff = rng.uniform(20, 200, size=(3, 4))
    pooled, tau2, shrink = pool_means(means, variances, n_eff)
    for j in range(5):
        want, want_tau2 = _dersimonian_laird(means[..., j], variances[..., j] / n_eff)
        np.testing.assert_allclose(pooled[..., j], want, rtol=1e-12, atol=1e-14)
        assert tau2[j] == pytest.approx(want_tau2, rel=1e-12, abs=1e-15)
    assert shrink.shape == means.shape and np.all((shrink >= 0) & (shrink <= 1))
    assert tau2[2] > 1.0 and tau2[4] == 0.0  # the feature that differs keeps its spread


def test_noise_only_features_share_one_mean_and_real_differences_stay(rng):
    n_eff = np.full((2, 8), 100.0)
    variances = np.ones((2, 8, 40))
    truth = rng.normal(0, 3, size=(8, 40))
    means = truth + rng.normal(0, 0.1, size=(2, 8, 40))  # sampling noise, sd = sqrt(1/100)
    means[1, :, 0] += 4.0  # the intervention moves feature 0 only
    pooled, tau2, _ = pool_means(means, variances, n_eff)
    gap, raw = pooled[1] - pooled[0], means[1] - means[0]
    # Noise-only features: tau2 is 0 (one shared mean) in about half of them, small in the
    # rest; over 200 seeds the mean |gap| kept was 0.07-0.23 of the raw one (mean 0.15).
    assert np.abs(gap[:, 1:]).mean() < 0.3 * np.abs(raw[:, 1:]).mean()
    zero = tau2[1:] == 0
    assert zero.mean() > 0.2
    np.testing.assert_allclose(gap[:, 1:][:, zero], 0.0, atol=1e-12)
    # The moved feature keeps its difference: two values 4 apart give tau2 = 2 * 2**2 = 8 by
    # the moment estimator, so shrink = 8 / (8 + 0.01).
    np.testing.assert_allclose(gap[:, 0], raw[:, 0], rtol=2e-3)
    assert tau2[0] == pytest.approx(8.0, rel=0.02)


def test_pool_means_is_equivariant(rng):
    means = rng.normal(size=(3, 2, 4))
    variances = rng.uniform(0.5, 2.0, size=(3, 2, 4))
    n_eff = rng.uniform(5, 50, size=(3, 2))
    pooled, tau2, _ = pool_means(means, variances, n_eff)
    order = [2, 0, 1]  # the values' order does not matter
    again, tau2_again, _ = pool_means(means[order], variances[order], n_eff[order])
    np.testing.assert_allclose(again, pooled[order], rtol=1e-12)
    np.testing.assert_allclose(tau2_again, tau2, rtol=1e-12)
    scale = np.array([1.0, 10.0, 0.1, 3.0])  # nor the features' units
    rescaled, _, _ = pool_means(means * scale + 7.0, variances * scale**2, n_eff)
    np.testing.assert_allclose(rescaled, pooled * scale + 7.0, rtol=1e-10, atol=1e-10)


def test_one_value_is_left_alone():
    means = np.arange(6.0).reshape(1, 2, 3)
    pooled, tau2, shrink = pool_means(means, np.ones_like(means), np.ones((1, 2)))
    np.testing.assert_array_equal(pooled, means)
    assert np.all(tau2 == 0) and np.all(shrink == 1)


def test_match_components_recovers_a_permutation(rng):
    ref = rng.normal(0, 10, size=(5, 3))
    perms = [rng.permutation(5) for _ in range(3)]
    means = np.stack([ref] + [ref[p] + rng.normal(0, 0.1, size=(5, 3)) for p in perms])
    perm = match_components(means, np.ones_like(means), reference=0)
    assert perm[0].tolist() == list(range(5))
    for m, p in enumerate(perms, start=1):
        np.testing.assert_allclose(means[m][perm[m]], ref, atol=0.5)
        np.testing.assert_array_equal(p[perm[m]], np.arange(5))


def test_component_variances_per_structure(rng):
    full = np.stack([np.diag([1.0, 2.0]), np.diag([3.0, 4.0])])[None]  # (1, 2, 2, 2)
    np.testing.assert_array_equal(component_variances(full, "full", 2), [[[1, 2], [3, 4]]])
    tied = np.diag([5.0, 6.0])[None]
    np.testing.assert_array_equal(component_variances(tied, "tied", 3), [[[5, 6]] * 3])
    np.testing.assert_array_equal(component_variances(np.ones((1, 2, 2)), "diag", 2), 1.0)
    assert component_variances(np.ones((1, 2)), "spherical", 2).shape == (1, 2, 1)
    with pytest.raises(ValueError, match="covariance_type"):
        component_variances(full, "banana", 2)


def clusters(n, d, seed, confounded=True):
    """bench_selection's synthetic: 4 well-separated clusters in d dims; y moves feature 0 only
    (through z), the confounder u feature 1."""
    return SELECTION.synthetic_clusters(n, d, np.random.default_rng(seed), confounded)


def _fit(pooling, **kw):
    X, y, z = clusters(1500, 32, seed=0)
    options = dict(n_draws=4, n_components=4, covariance_type="diag", resampler="cwgmm")
    options.update(kw)
    learner = bm.MechanismLearner(
        LogisticRegression(max_iter=2000),
        partial_pooling=pooling,
        progress=False,
        random_state=0,
        **options,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrontDoorWeightWarning)
        return learner.fit(X, y, z)


@pytest.fixture(scope="module")
def pair():
    return _fit(False), _fit(True)


def _value_gaps(learner):
    """|mean under y = 2 - mean under y = 1| per draw, component (matched) and feature."""
    means = learner.mixtures_.means.numpy()  # (S, M, K, d)
    gaps = []
    for s in range(means.shape[0]):
        ones = np.ones_like(means[s])
        perm = match_components(means[s], ones, reference=0)
        matched = np.take_along_axis(means[s], perm[..., None], 1)
        gaps.append(np.abs(matched[1] - matched[0]))
    return np.stack(gaps)  # (S, K, d)


def test_pooling_removes_noise_differences_and_keeps_the_effect(pair):
    own, pooled = pair
    gap_own, gap_pooled = _value_gaps(own), _value_gaps(pooled)
    # Features 2..31 do not depend on y: their between-value differences are noise.
    assert gap_pooled[..., 2:].mean() < gap_own[..., 2:].mean() / 5
    # Feature 0 moves by 1.5 E[z | y] = 3 between the values: kept to within 5 %.
    np.testing.assert_allclose(gap_pooled[..., 0].mean(), gap_own[..., 0].mean(), rtol=0.05)
    assert 2.4 < gap_pooled[..., 0].mean() < 3.6
    share = pooled.resampler_.pooled_share_draws_
    assert share.shape == (4, 2) and np.all((share > 0.5) & (share <= 1.0))
    assert np.all(np.isnan(own.resampler_.pooled_share_draws_))


def test_pooling_lifts_accuracy_on_the_interventional_test_set(pair):
    Xt, yt, _ = clusters(4000, 32, seed=1, confounded=False)
    own, pooled = (learner.score(Xt, yt) for learner in pair)
    assert pooled > own + 0.005, (own, pooled)


def test_pooled_means_are_what_is_sampled_and_reported(pair, tmp_path):
    _, pooled = pair
    assert "means partially pooled across values in 4/4 draws" in pooled.summary()
    idata = pooled.to_inference_data()
    np.testing.assert_array_equal(
        idata.sample_stats["pooled_share"].values[0], pooled.resampler_.pooled_share_draws_
    )
    rows = pooled.sample_interventional(2, n_samples=20000, random_state=0)
    mix = pooled.mixtures_
    want = (mix.weights[..., None] * mix.means).sum(2).mean(0)[1].numpy()  # y = 2, all draws
    np.testing.assert_allclose(rows.mean(0)[2:6], want[2:6], atol=0.1)
    loaded = bm.load(pooled.save(tmp_path / "pooled"))
    np.testing.assert_array_equal(
        loaded.resampler_.pooled_share_draws_, pooled.resampler_.pooled_share_draws_
    )
    X, _, _ = clusters(50, 32, seed=3, confounded=False)
    np.testing.assert_array_equal(loaded.predict_proba(X), pooled.predict_proba(X))
    again = pickle.loads(pickle.dumps(pooled))
    np.testing.assert_array_equal(again.predict_proba(X), pooled.predict_proba(X))


def test_values_with_different_k_are_not_pooled():
    own, pooled = _fit(False, n_components={1: 2, 2: 3}), _fit(True, n_components={1: 2, 2: 3})
    assert np.all(np.isnan(pooled.resampler_.pooled_share_draws_))
    np.testing.assert_array_equal(pooled.mixtures_.means.numpy(), own.mixtures_.means.numpy())
    assert "pooled" not in pooled.summary()


@pytest.mark.parametrize("options", [
    {"n_components": "bic", "covariance_type": "auto"},
    {"n_components": "bic_eff", "covariance_type": "diag"},
    {"resampler": "auto", "n_components": "bic"},
])  # fmt: skip
def test_pooling_runs_with_selected_k(options):
    learner = _fit(True, **options)
    share = learner.resampler_.pooled_share_draws_
    ks = learner.resampler_.n_components_draws_
    types = learner.resampler_.covariance_type_draws_
    same = (ks[:, 0] == ks[:, 1]) & (types[:, 0] == types[:, 1])
    np.testing.assert_array_equal(np.isfinite(share).all(1), same)


def test_the_g_formula_ignores_it():
    X, y, z = clusters(600, 3, seed=0)
    fits = [
        bm.MechanismLearner(
            LogisticRegression(), n_draws=2, resampler="gformula", partial_pooling=p,
            progress=False, random_state=0,
        ).fit(X, y, z)
        for p in (False, True)
    ]  # fmt: skip
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


def test_partial_pooling_must_be_a_bool():
    X, y, z = clusters(100, 3, seed=0)
    learner = bm.MechanismLearner(LogisticRegression(), partial_pooling="yes", progress=False)
    with pytest.raises(TypeError, match="partial_pooling must be True, False or 'auto'; got 'yes'"):
        learner.fit(X, y, z)


@pytest.mark.parametrize("asked", [True, np.True_])
def test_a_continuous_y_is_refused(asked):
    d = bm.datasets.make_frontdoor_regression(n_samples=200, random_state=0)
    learner = bm.MechanismLearner(LinearRegression(), partial_pooling=asked, progress=False)
    with pytest.raises(ValueError, match="partial_pooling=True needs a discrete y"):
        learner.fit(d.X, d.y, d.z)
    # A regressor on class labels is a discrete y: pooling applies.
    X, y, z = clusters(300, 3, seed=0)
    fitted = bm.MechanismLearner(
        LinearRegression(), n_draws=2, n_components=2, resampler="cwgmm", partial_pooling=True,
        progress=False, random_state=0,
    ).fit(X, y, z)  # fmt: skip
    assert np.isfinite(fitted.resampler_.pooled_share_draws_).all()


def test_values_of_different_structures_are_pooled_together(rng):
    """covariance_type="auto" can give one draw's values different structures: their means are
    pooled all the same, exactly as pool_means pools them from their own variances and rows."""
    from bayes_mech.mixture import WeightedGaussianMixture
    from bayes_mech.resamplers._pooling import pool_fitted_means

    centres = np.array([[0.0, 0.0, 0.0], [6.0, 6.0, 0.0]])
    X = np.concatenate([c + rng.normal(size=(400, 3)) for c in centres])
    W = np.ones((2, 800))
    W[1, :] = rng.exponential(size=800)  # the second value: other weights, same clusters
    W /= W.sum(1, keepdims=True)
    kw = dict(n_components=2, random_state=0)
    # batched fits of one member each, as the resampler's groups hold them
    first = WeightedGaussianMixture(covariance_type="diag", **kw).fit(X, sample_weight=W[:1])
    second = WeightedGaussianMixture(covariance_type="spherical", **kw).fit(X, sample_weight=W[1:])
    own = [first.means_[0].copy(), second.means_[0].copy()]
    variances, n_eff = [], []
    for gm, w in ((first, W[0]), (second, W[1])):
        wr = w[:, None] * np.asarray(gm.predict_proba(X))[0]
        n_eff.append(wr.sum(0) ** 2 / (wr**2).sum(0))
        v = component_variances(gm.covariances_, gm.covariance_type, 2)[0]
        variances.append(np.broadcast_to(v, (2, 3)))
    share = pool_fitted_means([(first, [0], [0]), (second, [1], [0])], W, X, n_values=2)
    assert np.isfinite(share).all() and np.all((share > 0) & (share <= 1))
    perm = match_components(np.stack(own), np.stack(variances), int(np.argmax(np.sum(n_eff, 1))))
    order = perm[..., None]
    want, _, _ = pool_means(
        np.take_along_axis(np.stack(own), order, 1),
        np.take_along_axis(np.stack(variances), order, 1),
        np.take_along_axis(np.stack(n_eff), perm, 1),
    )
    got = np.stack([np.take_along_axis(gm.means_[0], perm[m][:, None], 0)
                    for m, gm in enumerate((first, second))])  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=1e-12)
    moved = (
        np.abs(got[0] - got[1]).sum()
        < np.abs(
            np.take_along_axis(own[0], perm[0][:, None], 0)
            - np.take_along_axis(own[1], perm[1][:, None], 0)
        ).sum()
    )
    assert moved  # the values' means came closer together

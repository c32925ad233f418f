"""MechanismLearner end to end: deconfounding works, uncertainty behaves, the API is sklearn's."""

import warnings

import numpy as np
import pytest
import torch
from pyro import poutine
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

import bayes_mech as bm
from bayes_mech.datasets import (
    make_background_digits,
    make_frontdoor_classification,
    regression_model,
)
from bayes_mech.datasets._base import run_model
from bayes_mech.exceptions import FrontDoorWeightWarning, NotFittedError
from bayes_mech.resamplers import cwgmm_resample


def fit_quietly(learner, X, y, z):
    """Fit, ignoring only the front-door weight warning (A.1's weights are legitimately thin)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrontDoorWeightWarning)
        return learner.fit(X, y, z)


@pytest.fixture(scope="module")
def a1():
    train = make_frontdoor_classification(2000, confounded=True, random_state=0)
    test = make_frontdoor_classification(2000, confounded=False, random_state=100)
    return train, test


@pytest.fixture(scope="module")
def a1_learner(a1):
    train, _ = a1
    learner = bm.MechanismLearner(
        SVC(kernel="linear", C=5),
        n_draws=8,
        n_components=2,
        resampler="cwgmm",
        progress=False,
        random_state=0,
    )
    return fit_quietly(learner, train.X, train.y, train.z)


# ---------------------------------------------------------------- deconfounding works
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a1_beats_naive_and_approaches_oracle(seed):
    train = make_frontdoor_classification(2000, confounded=True, random_state=seed)
    oracle_train = make_frontdoor_classification(2000, confounded=False, random_state=seed + 50)
    test = make_frontdoor_classification(2000, confounded=False, random_state=seed + 100)
    svm = SVC(kernel="linear", C=5)
    naive = clone(svm).fit(train.X, train.y).score(test.X, test.y)
    oracle = clone(svm).fit(oracle_train.X, oracle_train.y).score(test.X, test.y)
    learner = bm.MechanismLearner(svm, n_draws=8, n_components=2, progress=False, random_state=seed)
    ours = (fit_quietly(learner, train.X, train.y, train.z).predict(test.X) == test.y).mean()
    assert ours >= naive + 0.03, (ours, naive)
    assert ours >= oracle - 0.015, (ours, oracle)


def test_a2_recovers_the_interventional_regression():
    # A.2's SCM with b = 0.4: the front-door weights have finite variance when b^2 < 1/4 (at the
    # paper's b = 1.5 they do not, and every weighting estimator is biased at finite N).
    b = 0.4
    train = run_model(regression_model, 3000, 0, b=b)
    X, y, z = (train[k].numpy() for k in ("x", "y", "z"))
    learner = bm.MechanismLearner(
        LinearRegression(), n_draws=8, n_components=1, progress=False, random_state=0
    )
    fit_quietly(learner, X, y, z)
    # Ground truth: the same design (uniform over the intervention grid) sampled by poutine.do.
    grid = learner.interventions_
    X_do = np.concatenate(
        [
            run_model(regression_model, 2000, 100 + i, intervention=v, b=b)["x"].numpy()
            for i, v in enumerate(grid)
        ]
    )
    y_do = np.repeat(grid, 2000)
    oracle = LinearRegression().fit(X_do, y_do)
    naive = LinearRegression().fit(X, y)
    slope = np.mean([member.coef_[0] for member in learner.estimators_])
    assert abs(slope - oracle.coef_[0]) < 0.015, (slope, oracle.coef_[0])
    assert naive.coef_[0] - oracle.coef_[0] > 0.1  # the confounding is real
    mse = {
        "ours": np.mean((learner.predict(X_do) - y_do) ** 2),
        "naive": np.mean((naive.predict(X_do) - y_do) ** 2),
    }
    assert mse["ours"] < mse["naive"], mse
    interval = learner.predict_interval(X_do, alpha=0.1)
    assert interval.shape == (X_do.shape[0], 2) and np.all(interval[:, 0] < interval[:, 1])
    coverage = np.mean((interval[:, 0] <= y_do) & (y_do <= interval[:, 1]))
    # Nominal 0.90. The members' spread adds the posterior's uncertainty to each member's residual
    # noise, so the mixture interval may be somewhat conservative, never badly anti-conservative.
    assert 0.87 < coverage < 0.97, coverage


# ---------------------------------------------------------------- the point method
def test_point_method_equals_hand_assembled_pipeline(a1):
    train, test = a1
    seed = 3
    learner = bm.MechanismLearner(
        LogisticRegression(),
        n_draws=1,
        n_components=2,
        resampler="cwgmm",
        progress=False,
        random_state=seed,
    )
    fit_quietly(learner, train.X, train.y, train.z)
    # The same seeds, drawn in the learner's documented order.
    rs = np.random.RandomState(seed)
    seeds = dict(
        zip(
            ("mechanism", "draws", "bootstrap", "k", "gmm", "sample"),
            rs.randint(0, 2**31 - 1, 6),
            strict=True,
        )
    )
    member_seed = rs.randint(0, 2**31 - 1, 1)[0]
    mech = bm.mechanisms.GaussianMechanism().fit(train.y, train.z, random_state=seeds["mechanism"])
    lw = bm.frontdoor_log_weights(mech, train.y, train.z, [1, 2])  # posterior mean, S = 1
    samples, _ = cwgmm_resample(train.X, lw, 2, 1000, random_state=seeds["gmm"])
    X_dc = samples[0].reshape(-1, 2)
    y_dc = np.repeat([1, 2], 1000)
    clf = LogisticRegression(random_state=int(member_seed)).fit(X_dc, y_dc)
    np.testing.assert_allclose(learner.predict_proba(test.X), clf.predict_proba(test.X), atol=1e-10)


# ---------------------------------------------------------------- uncertainty
def _spread(n, data_uncertainty, seed=0):
    d = make_frontdoor_classification(n, random_state=seed)
    grid = make_frontdoor_classification(500, confounded=False, random_state=99).X
    learner = bm.MechanismLearner(
        LogisticRegression(),
        n_draws=8,
        n_components=2,
        data_uncertainty=data_uncertainty,
        progress=False,
        random_state=seed,
    )
    fit_quietly(learner, d.X, d.y, d.z)
    return float(learner.predict_dist(grid).sel({"class": 2}).std("draw").mean())


def test_spread_shrinks_with_n_and_grows_with_bootstrap():
    small, large = _spread(300, "bayesian_bootstrap"), _spread(4800, "bayesian_bootstrap")
    assert large < 0.6 * small, (small, large)  # ~1/sqrt(16) = 0.25 in theory
    without = _spread(300, None)
    assert without < small, (without, small)


def test_predict_dist_shapes_and_probabilities(a1_learner, a1):
    _, test = a1
    # SVC has no predict_proba by default: members vote, and the learner says so.
    with pytest.warns(bm.VoteShareWarning, match=r"S = 8 members votes.*multiples of 1/8"):
        dist = a1_learner.predict_dist(test.X[:50])
    assert dist.dims == ("draw", "sample", "class") and dist.shape == (8, 50, 2)
    with pytest.warns(bm.VoteShareWarning, match="CalibratedClassifierCV"):
        proba = a1_learner.predict_proba(test.X[:50])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba, dist.mean("draw").values)
    np.testing.assert_allclose(proba * 8, np.round(proba * 8))  # vote shares k/8
    # The majority vote itself needs no warning (filterwarnings = error would raise here).
    assert set(a1_learner.predict(test.X)) <= {1, 2}
    assert 0.5 < a1_learner.score(test.X, test.y) <= 1.0


def test_calibrated_members_give_probabilities_without_a_warning(a1):
    from sklearn.calibration import CalibratedClassifierCV

    train, test = a1
    learner = bm.MechanismLearner(
        CalibratedClassifierCV(SVC(kernel="linear", C=5), cv=3),
        n_draws=4,
        n_components=2,
        resampler="cwgmm",
        progress=False,
        random_state=0,
    )
    proba = fit_quietly(learner, train.X, train.y, train.z).predict_proba(test.X[:200])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Probabilities, not vote shares: most are strictly between the multiples of 1/4.
    assert np.mean(np.abs(proba * 4 - np.round(proba * 4)) > 1e-3) > 0.5
    # And they are calibrated-ish: the mean predicted p(y=2) tracks the observed rate.
    p2 = proba[:, 1]
    assert abs(p2.mean() - np.mean(test.y[:200] == 2)) < 0.1


# ---------------------------------------------------------------- interventional model
def test_interventional_model_matches_mixture_and_analytic(a1_learner):
    n = 20000
    x = a1_learner.sample_interventional(2, n_samples=n, random_state=0)
    # Against the fitted mixtures for y = 2 (averaged over draws):
    bank = a1_learner.mixtures_
    w = bank.weights[:, 1].numpy() / bank.weights.shape[0]  # (S, K)
    mu = bank.means[:, 1].numpy()
    mixture_mean = np.einsum("sk,skd->d", w, mu)
    sd = x.std(axis=0)
    assert np.all(np.abs(x.mean(axis=0) - mixture_mean) < 4 * sd / np.sqrt(n))
    # Against the SCM: E[x2 | do(y=2)] = -1.2, E[x1 | do(y=2)] = 1.8 (2 Phi(1.2) - 1) = 1.386.
    # The fitted mixtures carry estimation error from N = 2000 rows with ESS/N of a few percent.
    assert abs(x[:, 1].mean() + 1.2) < 0.35
    assert abs(x[:, 0].mean() - 1.386) < 0.35
    # poutine.do on the program directly gives the same draws as the wrapper.
    model = poutine.do(a1_learner.interventional_model_, {"y": torch.tensor(2.0)})
    trace = poutine.trace(model).get_trace(10)
    assert trace.nodes["x"]["value"].shape == (10, 2)


def test_interventional_model_rejects_unknown_value(a1_learner):
    with pytest.raises(ValueError, match=r"y = \[3.0\] is not an intervention value"):
        a1_learner.sample_interventional(3, n_samples=5)


# ---------------------------------------------------------------- feature map
def test_feature_map_on_digits_beats_naive():
    train = make_background_digits(1500, confounded=True, random_state=0)
    test = make_background_digits(1000, confounded=False, random_state=1)
    knn = KNeighborsClassifier(n_neighbors=5)
    naive = clone(knn).fit(train.X, train.y).score(test.X, test.y)
    learner = bm.MechanismLearner(
        knn, n_draws=4, n_components=4, feature_map=PCA(8), progress=False, random_state=0
    )
    fit_quietly(learner, train.X, train.y, train.z)
    x = learner.sample_interventional(1, n_samples=20, random_state=0)
    assert x.shape == (20, 64)
    ours = (learner.predict(test.X) == test.y).mean()
    assert ours > naive + 0.05, (ours, naive)


# ---------------------------------------------------------------- sklearn contract
def test_params_clone_and_estimator_untouched(a1):
    train, _ = a1
    svm = SVC(kernel="linear", C=5)
    learner = bm.MechanismLearner(
        svm, n_draws=3, n_components=2, resampler="cwgmm", progress=False, random_state=0
    )
    assert learner.get_params()["n_draws"] == 3
    assert learner.set_params(n_draws=2).n_draws == 2
    assert clone(learner).get_params()["estimator__C"] == 5
    with pytest.raises(NotFittedError):
        learner.predict(train.X)
    fit_quietly(learner, train.X, train.y, train.z)
    assert not hasattr(svm, "support_vectors_")  # clones were trained
    assert len(learner.estimators_) == 2
    assert "K per intervention: 1: 2, 2: 2" in learner.summary()


def test_same_seed_same_predictions_across_n_jobs(a1):
    train, test = a1
    preds = []
    for n_jobs in (1, 2):
        learner = bm.MechanismLearner(
            LogisticRegression(),
            n_draws=2,
            n_components=2,
            n_jobs=n_jobs,
            progress=False,
            random_state=7,
        )
        preds.append(fit_quietly(learner, train.X, train.y, train.z).predict_proba(test.X))
    np.testing.assert_array_equal(preds[0], preds[1])
    other_seed = bm.MechanismLearner(
        LogisticRegression(), n_draws=2, n_components=2, progress=False, random_state=8
    )
    assert not np.array_equal(
        fit_quietly(other_seed, train.X, train.y, train.z).predict_proba(test.X), preds[0]
    )


def test_bootstrap_resampler_runs(a1):
    train, test = a1
    learner = bm.MechanismLearner(
        LogisticRegression(), n_draws=2, resampler="bootstrap", progress=False, random_state=0
    )
    acc = (fit_quietly(learner, train.X, train.y, train.z).predict(test.X) == test.y).mean()
    assert acc > 0.8
    assert learner.n_components_ is None


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "data", "exc", "match"),
    [
        ({}, "nan_x", ValueError, "X must be finite"),
        ({}, "x_1d", ValueError, "X must be a 2-D array"),
        ({}, "short_z", ValueError, "same number of rows"),
        ({}, "one_class", ValueError, "y must take at least 2 distinct values"),
        ({"interventions": [1, 3]}, None, ValueError, "3"),
        ({"n_draws": 0}, None, ValueError, "n_draws"),
        ({"resampler": "boot"}, None, ValueError, "resampler must be one of"),
        ({"n_components": "bic2"}, None, ValueError, "n_components must be one of"),
        ({"estimator": object()}, None, TypeError, "estimator must be a scikit-learn estimator"),
        ({"feature_map": LogisticRegression()}, None, TypeError, "feature_map"),
    ],
)
def test_bad_input(a1, kwargs, data, exc, match):
    train, _ = a1
    X, y, z = train.X[:200], train.y[:200], train.z[:200]
    if data == "nan_x":
        X = X.copy()
        X[3, 0] = np.nan
    elif data == "x_1d":
        X = X[:, 0]
    elif data == "short_z":
        z = z[:-5]
    elif data == "one_class":
        y = np.ones_like(y)
    params = {
        "estimator": LogisticRegression(),
        "n_draws": 2,
        "n_components": 1,
        "progress": False,
        **kwargs,
    }
    with pytest.raises(exc, match=match):
        fit_quietly(bm.MechanismLearner(**params), X, y, z)


def test_predict_with_wrong_number_of_features(a1_learner):
    with pytest.raises(
        ValueError, match="X has 3 features, but MechanismLearner is expecting 2 features as input"
    ):
        a1_learner.predict(np.zeros((4, 3)))


def test_progress_must_be_a_bool(a1):
    train, _ = a1
    learner = bm.MechanismLearner(LogisticRegression(), n_draws=2, progress="yes")
    with pytest.raises(TypeError, match="progress must be True or False; got 'yes'"):
        learner.fit(train.X, train.y, train.z)


# ---------------------------------------------------------------- scikit-learn conventions
def test_estimator_type_and_methods_follow_the_wrapped_estimator():
    from sklearn.base import is_classifier, is_regressor

    clf = bm.MechanismLearner(LogisticRegression())
    reg = bm.MechanismLearner(LinearRegression())
    assert is_classifier(clf) and not is_regressor(clf)
    assert is_regressor(reg) and not is_classifier(reg)
    assert hasattr(clf, "predict_proba") and not hasattr(clf, "predict_interval")
    assert hasattr(reg, "predict_interval") and not hasattr(reg, "predict_proba")
    with pytest.raises(AttributeError) as info:
        getattr(reg, "predict_proba")  # noqa: B009 - the attribute access is the test
    assert "only available when estimator is a classifier" in str(info.value.__cause__)
    with pytest.raises(AttributeError) as info:
        getattr(clf, "predict_interval")  # noqa: B009 - the attribute access is the test
    assert "only available for regressors" in str(info.value.__cause__)


def test_feature_names_from_a_dataframe(tmp_path):
    import pandas as pd

    d = make_frontdoor_classification(400, random_state=0)
    frame = pd.DataFrame(d.X, columns=["effect_a", "effect_b"])
    learner = fit_quietly(
        bm.MechanismLearner(
            LogisticRegression(), n_draws=2, n_components=1, progress=False, random_state=0
        ),
        frame,
        d.y,
        d.z,
    )
    assert learner.feature_names_in_.tolist() == ["effect_a", "effect_b"]
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = learner.predict_proba(d.X)
    np.testing.assert_array_equal(learner.predict_proba(frame), from_array)
    with pytest.raises(ValueError, match="feature names"):
        learner.predict(frame.rename(columns={"effect_a": "other"}))
    loaded = bm.load(learner.save(tmp_path / "m"))
    assert loaded.feature_names_in_.tolist() == ["effect_a", "effect_b"]


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied", "auto"])
def test_every_covariance_type_fits_and_samples(covariance_type):
    """'tied' crashed in MixtureBank.from_mixtures (a (d, 1, d) factor into (K, d, d))."""
    d = make_frontdoor_classification(600, random_state=0)
    learner = bm.MechanismLearner(
        LogisticRegression(),
        resampler="cwgmm",
        covariance_type=covariance_type,
        n_components=3,
        n_draws=2,
        progress=False,
        random_state=0,
    )
    fit_quietly(learner, d.X, d.y, d.z)
    x = learner.sample_interventional(2, 4000, random_state=0)
    assert x.shape == (4000, 2) and np.isfinite(x).all()
    # E[x2 | do(y)] = -1.2 whatever the covariance structure (N = 600, thin weights: loose).
    assert abs(x[:, 1].mean() + 1.2) < 0.6


@pytest.mark.parametrize("n_components", ["bic", "aic", "bic_eff", "cv", "dp", 2, {1: 2, 2: 3}])
def test_auto_covariance_type_per_draw_reported_and_saved(n_components, tmp_path):
    d = make_frontdoor_classification(800, random_state=1)
    learner = bm.MechanismLearner(
        LogisticRegression(),
        resampler="cwgmm",
        covariance_type="auto",
        n_components=n_components,
        n_draws=4,
        progress=False,
        random_state=0,
    )
    fit_quietly(learner, d.X, d.y, d.z)
    types = learner.resampler_.covariance_type_draws_
    assert types.shape == (4, 2)
    assert set(types.ravel()) <= {"full", "tied", "diag", "spherical"}
    # the most frequent structure per value, the first in sorted order on a tie
    assert learner.covariance_type_.tolist() == [
        min(set(col), key=lambda t: (-col.tolist().count(t), t)) for col in types.T
    ]
    if isinstance(n_components, int):
        assert (learner.resampler_.n_components_draws_ == n_components).all()
    # Every member's mixture has the structure reported for it.
    bank = learner.mixtures_
    for s in range(4):
        for m in range(2):
            k = learner.resampler_.n_components_draws_[s, m]
            scale = bank.scale[s, m, :k].numpy()
            if types[s, m] in ("diag", "spherical") and scale.ndim == 3:
                off = scale - np.stack([np.diag(np.diag(a)) for a in scale])
                assert np.abs(off).max() == 0.0
    stats = learner.to_inference_data().sample_stats["covariance_type"]
    assert stats.shape == (1, 4, 2) and (stats.values[0] == types).all()
    loaded = bm.load(learner.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.resampler_.covariance_type_draws_, types)
    np.testing.assert_array_equal(loaded.predict_proba(d.X), learner.predict_proba(d.X))

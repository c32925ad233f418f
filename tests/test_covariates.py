"""Observed covariates: the conditional front door (issue #16, items 1, 2 and 4).

The generators' covariate ``c`` sits on the back-door paths (``C -> Y``, ``C -> Z``, ``C -> X``).
Leaving it out must bias the learner; giving it must remove the bias, measured against what the
same estimator learns from exact interventional rows (``poutine.do`` on the SCM).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pyro
import pyro.distributions as dist
import pytest
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression

import bayes_mech as bm
from bayes_mech._covariates import encode_covariates
from bayes_mech.cli import main
from bayes_mech.datasets import make_frontdoor_covariates, sample_interventional_covariates
from bayes_mech.mechanisms import (
    ConditionalGaussianMechanism,
    GaussianMechanism,
    LinearGaussianMechanism,
)


def _fit(estimator, d, covariates, **kw):
    kw = {"n_draws": 4, "progress": False, "random_state": 0, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.FrontDoorWeightWarning)
        return bm.MechanismLearner(estimator, **kw).fit(d.X, d.y, d.z, covariates=covariates)


@pytest.fixture(scope="module")
def classification():
    train = make_frontdoor_covariates("classification", 2000, random_state=0)
    test = make_frontdoor_covariates("classification", 5000, confounded=False, random_state=1)
    rows = [sample_interventional_covariates("classification", v, 50000, random_state=v)
            for v in (1, 2)]  # fmt: skip
    oracle = LogisticRegression().fit(np.r_[rows[0].X, rows[1].X], np.r_[rows[0].y, rows[1].y])
    return train, test, oracle.score(test.X, test.y)


@pytest.mark.parametrize("resampler", ["cwgmm", "bootstrap", "gformula", "auto"])
def test_covariates_remove_the_back_door_bias_classification(classification, resampler):
    train, test, oracle = classification
    given = _fit(LogisticRegression(), train, train.c, resampler=resampler).score(test.X, test.y)
    left_out = _fit(LogisticRegression(), train, None, resampler=resampler).score(test.X, test.y)
    # Seen at N = 2000 (seed 0): oracle 0.829; with c 0.829-0.831; without c 0.722-0.738.
    assert abs(given - oracle) < 0.015
    assert left_out < oracle - 0.05


@pytest.fixture(scope="module")
def regression():
    train = make_frontdoor_covariates("regression", 3000, random_state=0)
    learner = _fit(LinearRegression(), train, train.c, resampler="bootstrap")
    values = learner.interventions_
    rows = [sample_interventional_covariates("regression", v, 10000, random_state=i)
            for i, v in enumerate(values)]  # fmt: skip
    X = np.concatenate([r.X for r in rows])
    estimand = LinearRegression().fit(X, np.concatenate([r.y for r in rows])).coef_[0]
    return train, estimand


@pytest.mark.parametrize("resampler", ["cwgmm", "gformula"])
def test_covariates_remove_the_back_door_bias_regression(regression, resampler):
    train, estimand = regression

    def slope(c):
        learner = _fit(LinearRegression(), train, c, resampler=resampler)
        return np.mean([e.coef_[0] for e in learner.estimators_])

    # Seen at N = 3000 (seed 0): estimand 0.032; with c 0.043 (CW-GMM), 0.038 (g-formula);
    # without c 0.073, 0.067. At N = 5000 over 4 seeds: with c within 0.011, without +0.035.
    assert abs(slope(train.c) - estimand) < 0.02
    assert slope(None) - estimand > 0.025


def test_gformula_program_samples_the_interventional_law(regression):
    train, _ = regression
    learner = _fit(LinearRegression(), train, train.c, resampler="gformula", interventions=[3.0])
    x = learner.sample_interventional(3.0, 20000, random_state=0)[:, 0]
    truth = sample_interventional_covariates("regression", 3.0, 50000, random_state=5).X[:, 0]
    assert abs(x.mean() - truth.mean()) < 0.25  # truth's sd ~5.5: the mean within 0.05 sd
    assert abs(x.std() / truth.std() - 1.0) < 0.08


def test_conditional_mechanism_matches_least_squares():
    rng = np.random.default_rng(0)
    y, c = rng.integers(1, 3, 4000), np.c_[rng.normal(size=4000), rng.integers(0, 2, 4000)]
    z = np.where(y == 2, 1.2, -1.2) + 0.7 * c[:, 0] - 0.5 * c[:, 1] + rng.normal(size=4000)
    mech = ConditionalGaussianMechanism().fit(y, z, covariates=c)
    coef = mech.posterior_mean()["coef"][0, :, 0].numpy()
    design = np.c_[y == 1, y == 2, (c - c.mean(0)) / c.std(0)]
    ols = np.linalg.lstsq(design, z, rcond=None)[0]
    np.testing.assert_allclose(coef, ols, atol=2e-3)  # a weak prior: the posterior mean is OLS
    draws = mech.sample_posterior(3, random_state=0)
    grid = mech.log_prob(z, [1, 2], draws, covariates=c)
    rows = mech.log_prob_observed(z, np.full(4000, 2), draws, covariates=c)
    torch.testing.assert_close(grid[..., 1], rows)
    with pytest.raises(ValueError, match="fitted with 2 covariate column"):
        mech.log_prob(z, [1, 2])
    with pytest.raises(
        ValueError, match=r"covariates must have shape \(4000, 2\); got \(4000, 1\)"
    ):
        mech.log_prob(z, [1, 2], covariates=c[:, :1])


def test_linear_gaussian_weights_match_the_true_conditional_weights():
    d = make_frontdoor_covariates("regression", 20000, random_state=3)
    mech = LinearGaussianMechanism().fit(d.y, d.z, covariates=d.c)
    values = np.array([1.0, 3.0])
    lw = bm.frontdoor_log_weights(mech, d.y, d.z, values, covariates=d.c)[0].numpy()
    resid = d.z - 2.0 * d.c  # the SCM: z = 0.4 y + 2 c + N(0, 1)
    true = -0.5 * (resid[None] - 0.4 * values[:, None]) ** 2 + 0.5 * (resid - 0.4 * d.y) ** 2
    true -= np.log(np.exp(true - true.max(1, keepdims=True)).sum(1, keepdims=True)) + true.max(
        1, keepdims=True
    )
    assert np.corrcoef(lw.ravel(), true.ravel())[0, 1] > 0.999


def test_encoding_of_covariates_and_their_errors():
    frame = pd.DataFrame({"age": [30.0, 41.0, 25.0, 52.0], "site": ["b", "a", "c", "b"]})
    matrix, names, _ = encode_covariates(frame, 4)
    assert names == ["age", "site=b", "site=c"]
    np.testing.assert_array_equal(matrix[:, 1:], [[1, 0], [0, 0], [0, 1], [1, 0]])
    cases = [
        (frame.assign(age=[1.0, np.nan, 2.0, 3.0]), "column 'age' must be finite; got 1 NaN"),
        (frame.assign(site=["a", None, "b", "b"]), "column 'site' has 1 missing value"),
        (frame.assign(age=5.0), "column 'age' is constant"),
        (frame.assign(site="a"), "column 'site' is constant"),
        (frame.iloc[:3], "one row per row of X, y and z (4); got 3"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            encode_covariates(bad, 4)


def test_learner_refusals_and_positivity_warning(classification):
    train = classification[0]
    with pytest.raises(TypeError, match=re.escape("GaussianMechanism models p(z | y) without")):
        _fit(LogisticRegression(), train, train.c, mechanism=GaussianMechanism())
    reg = make_frontdoor_covariates("regression", 300, random_state=0)
    message = "No built-in mechanism takes covariates for continuous y and discrete z"
    with pytest.raises(ValueError, match=message):
        bm.MechanismLearner(LinearRegression(), progress=False).fit(
            reg.X, reg.y, (reg.z > 0).astype(int), covariates=reg.c
        )
    only_one = np.where(train.y == 2, 1, train.c)  # c = 1 for all of class 2; class 1 mixed
    only_one[np.flatnonzero(train.y == 1)[:5]] = 0
    with pytest.warns(bm.FrontDoorWeightWarning, match="c0' = 0 .* with class\\(es\\) \\[1\\]"):
        bm.MechanismLearner(LogisticRegression(), n_draws=2, progress=False).fit(
            train.X, train.y, train.z, covariates=only_one
        )


def test_covariates_in_summary_save_and_cli(classification, tmp_path):
    train = classification[0]
    frame = pd.DataFrame(train.X, columns=["x0", "x1", "x2"]).assign(
        y=train.y, z=train.z, site=np.where(train.c == 1, "north", "south")
    )
    learner = _fit(LogisticRegression(), train, frame[["site"]])
    assert learner.covariate_names_ == ["site=south"]
    assert "covariates: site=south (conditional front door)" in learner.summary()
    loaded = bm.load(learner.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict(train.X), learner.predict(train.X))
    assert loaded.covariate_names_ == ["site=south"]
    frame.to_csv(tmp_path / "t.csv", index=False)
    argv = ["fit", str(tmp_path / "t.csv"), "--cause", "y", "--mechanism", "z", "--covariates"]
    argv += ["site", "--estimator", "logistic", "--n-draws", "4", "--out", str(tmp_path / "c")]
    assert main([*argv, "--no-progress"]) == 0
    cli = bm.load(tmp_path / "c")
    assert cli.n_features_in_ == 3 and cli.covariate_names_ == ["site=south"]
    assert abs(cli.score(classification[1].X, classification[1].y) - classification[2]) < 0.02


def _categorical_scm(n, rng, y=None):
    """Discrete y and z, binary c on the back-door paths, a c-only feature x3."""
    c, u = rng.integers(0, 2, n), rng.integers(0, 2, n)
    if y is None:
        y = (rng.random(n) < 1 / (1 + np.exp(1.5 - 2.5 * u - 2.0 * c))).astype(int)
    logits = np.stack([np.zeros(n), -0.5 + 1.5 * y + 1.5 * c, -1.0 + 3.0 * y - 1.5 * c], 1)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    z = (rng.random(n)[:, None] > p.cumsum(1)).sum(1)
    noise = rng.normal(size=(n, 3))
    X = np.c_[np.array([-2.0, 0.0, 2.0])[z], 2.4 * (2 * u - 1), 2.0 * (2 * c - 1)] + noise
    return X, y, z, c


def test_logistic_mechanism_matches_maximum_likelihood():
    rng = np.random.default_rng(0)
    _, y, z, c = _categorical_scm(3000, rng)
    cov = np.c_[c, rng.normal(size=3000)]
    mech = bm.mechanisms.LogisticCategoricalMechanism().fit(y, z, random_state=0, covariates=cov)
    design = np.c_[y == 0, y == 1, (cov - cov.mean(0)) / cov.std(0)]
    mle = LogisticRegression(C=1e6, fit_intercept=False, max_iter=5000).fit(design, z)
    own = mle.predict_log_proba(design)[np.arange(3000), z]
    lp = mech.log_prob_observed(z, y, covariates=cov)[0].numpy()
    # Seen: 0.003 at N = 5000 with Laplace (the posterior sd of log p is ~0.03 there).
    assert np.abs(lp - own).max() < 0.01
    svi = bm.mechanisms.LogisticCategoricalMechanism(inference="svi").fit(
        y, z, random_state=0, covariates=cov
    )
    lp_svi = svi.log_prob_observed(z, y, covariates=cov)[0].numpy()
    assert np.abs(lp_svi - own).max() < 0.06  # SVI's noisy steps: seen 0.026 at N = 5000
    grid = mech.log_prob(z, [0, 1], mech.sample_posterior(4, random_state=0), covariates=cov)
    assert grid.shape == (4, 3000, 2) and torch.isfinite(grid).all()


def test_categorical_mechanism_with_covariates_end_to_end():
    rng = np.random.default_rng(1)
    X, y, z, c = _categorical_scm(3000, rng)
    y_test = rng.integers(0, 2, 5000)
    X_test = _categorical_scm(5000, rng, y_test)[0]
    y_do = rng.integers(0, 2, 100000)
    oracle = LogisticRegression().fit(_categorical_scm(100000, rng, y_do)[0], y_do)
    learner = bm.MechanismLearner(LogisticRegression(), n_draws=4, progress=False,
                                  random_state=0).fit(X, y, z, covariates=c)  # fmt: skip
    assert type(learner.mechanism_).__name__ == "LogisticCategoricalMechanism"
    # Seen over 3 seeds (N = 4000): oracle 0.630-0.646, learner within 0.002, naive 0.56-0.57.
    assert abs(learner.score(X_test, y_test) - oracle.score(X_test, y_test)) < 0.015


def test_logistic_mechanism_by_nuts_agrees_with_laplace():
    rng = np.random.default_rng(2)
    _, y, z, c = _categorical_scm(400, rng)
    kw = {"random_state": 0, "covariates": c}
    nuts = bm.mechanisms.LogisticCategoricalMechanism(
        inference="nuts", num_samples=80, num_warmup=60
    ).fit(y, z, **kw)
    laplace = bm.mechanisms.LogisticCategoricalMechanism().fit(y, z, **kw)
    a, b = (m.posterior_mean()["intercept"].ravel() for m in (nuts, laplace))
    sd_nuts = nuts.samples_["intercept"].reshape(-1, a.numel()).std(0)
    sd_laplace = laplace.samples_["intercept"].reshape(-1, a.numel()).std(0)
    assert ((a - b).abs() / sd_nuts).max() < 0.5  # mean and mode within half a posterior sd
    assert ((sd_laplace / sd_nuts).log().abs() < 0.35).all()  # sds within ~40 %


def test_pyro_mechanism_needs_a_covariates_argument_to_take_them():
    def model(y, z=None):
        loc = pyro.sample("loc", dist.Normal(torch.zeros(2, dtype=torch.float64), 5.0).to_event(1))
        with pyro.plate("data", y.shape[0]):
            return pyro.sample("z", dist.Normal(loc[..., y], 1.0), obs=z)

    mech = bm.mechanisms.PyroMechanism(model, inference="svi", num_steps=5, progress=False)
    with pytest.raises(TypeError, match="model takes no 'covariates' argument"):
        mech.fit(np.repeat([0, 1], 10), np.arange(20.0), covariates=np.arange(20.0))


@pytest.fixture(scope="module")
def oracle_with_c(classification):
    rows = [sample_interventional_covariates("classification", v, 50000, random_state=10 + v)
            for v in (1, 2)]  # fmt: skip
    X = np.r_[np.c_[rows[0].X, rows[0].c], np.c_[rows[1].X, rows[1].c]]
    model = LogisticRegression().fit(X, np.r_[rows[0].y, rows[1].y])
    test = classification[1]
    return model.score(np.c_[test.X, test.c], test.y)


@pytest.mark.parametrize("resampler", ["cwgmm", "bootstrap", "gformula"])
def test_members_that_read_the_covariates_match_their_oracle(
    classification, oracle_with_c, resampler
):
    train, test, oracle = classification
    learner = _fit(LogisticRegression(), train, train.c, resampler=resampler,
                   covariates_as_features=True)  # fmt: skip
    assert learner.estimators_[0].coef_.shape == (1, 4)  # x1, x2, x3, c
    score = learner.score(test.X, test.y, covariates=test.c)
    # Seen at N = 5000: oracle(x, c) 0.850, learners 0.850; the x-only oracle 0.829.
    assert abs(score - oracle_with_c) < 0.015
    assert oracle_with_c > oracle + 0.01  # reading c is worth it on this SCM
    if resampler != "bootstrap":
        assert learner.sample_interventional(2, 50, random_state=0).shape == (50, 3)


def test_covariates_as_features_errors_and_round_trips(classification, tmp_path):
    train, test, _ = classification
    site = pd.DataFrame({"site": np.where(train.c == 1, "north", "south")})
    learner = _fit(LogisticRegression(), train, site, covariates_as_features=True)
    new = pd.DataFrame({"site": np.where(test.c == 1, "north", "south")})
    proba = learner.predict_proba(test.X, covariates=new)
    with pytest.raises(ValueError, match=re.escape("pass covariates= with the columns seen")):
        learner.predict(test.X)
    with pytest.raises(ValueError, match="categories never seen in fit: \\['east'\\]"):
        learner.predict(test.X[:2], covariates=pd.DataFrame({"site": ["east", "north"]}))
    with pytest.raises(ValueError, match="must have the columns seen in fit \\['site'\\]"):
        learner.predict(test.X[:2], covariates=pd.DataFrame({"hospital": ["north", "north"]}))
    loaded = bm.load(learner.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_proba(test.X, covariates=new), proba)
    plain = _fit(LogisticRegression(), train, train.c)
    with pytest.raises(ValueError, match="the members read X only"):
        plain.predict(test.X, covariates=test.c)
    with pytest.raises(ValueError, match="covariates_as_features=True needs covariates"):
        _fit(LogisticRegression(), train, None, covariates_as_features=True)
    with pytest.raises(TypeError, match="covariates_as_features must be True or False"):
        _fit(LogisticRegression(), train, train.c, covariates_as_features="yes")


def test_covariates_as_features_with_a_feature_map_and_the_cli(tmp_path):
    train = make_frontdoor_covariates("regression", 2000, random_state=4)
    learner = _fit(LinearRegression(), train, train.c, covariates_as_features=True,
                   feature_map="pca", resampler="cwgmm", interventions=[1.0, 3.0])  # fmt: skip
    interval = learner.predict_interval(train.X[:5], covariates=train.c[:5])
    assert interval.shape == (5, 2) and (interval[:, 0] < interval[:, 1]).all()
    x = learner.sample_interventional(3.0, 2000, random_state=0)
    truth = sample_interventional_covariates("regression", 3.0, 20000, random_state=1).X
    assert x.shape == (2000, 1) and abs(x.mean() - truth.mean()) < 0.5
    frame = pd.DataFrame({"y": train.y, "z": train.z, "x": train.X[:, 0], "c": train.c})
    frame.to_csv(tmp_path / "t.csv", index=False)
    argv = ["fit", str(tmp_path / "t.csv"), "--cause", "y", "--mechanism", "z", "--effect", "x"]
    argv += ["--covariates", "c", "--covariates-as-features", "--estimator", "linear"]
    assert main([*argv, "--n-draws", "3", "--out", str(tmp_path / "m"), "--no-progress"]) == 0
    frame.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "p.csv"
    assert main(["predict", str(tmp_path / "m"), str(tmp_path / "new.csv"), "--out", str(out)]) == 0
    cli = bm.load(tmp_path / "m")
    np.testing.assert_allclose(
        pd.read_csv(out)["prediction"], cli.predict(train.X, covariates=frame[["c"]])
    )


@pytest.mark.parametrize("with_c", [False, True])
def test_conditional_gaussian_by_name_end_to_end(classification, with_c):
    train, test, oracle = classification
    learner = _fit(LogisticRegression(), train, train.c if with_c else None,
                   mechanism="conditional-gaussian")  # fmt: skip
    assert type(learner.mechanism_).__name__ == "ConditionalGaussianMechanism"
    assert learner.mechanism_.n_covariates_ == (1 if with_c else 0)
    score = learner.score(test.X, test.y)
    if with_c:
        assert abs(score - oracle) < 0.015
    else:  # a shared-covariance Gaussian per class, without c: the back door stays open
        assert score < oracle - 0.05

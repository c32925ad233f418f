"""ArviZ export of a fitted learner: named dims, the fitted numbers, ArviZ tools work on it."""

import warnings

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import bayes_mech as bm
from bayes_mech.datasets import make_frontdoor_classification
from bayes_mech.exceptions import FrontDoorWeightWarning, NotFittedError


@pytest.fixture(scope="module")
def fitted():
    d = make_frontdoor_classification(600, random_state=0)
    learner = bm.MechanismLearner(
        LogisticRegression(), n_draws=4, n_components=2, progress=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrontDoorWeightWarning)
        learner.fit(d.X, d.y, d.z)
    return learner, d


def test_groups_dims_and_values(fitted):
    learner, d = fitted
    idata = learner.to_inference_data(d.X[:7])
    assert set(idata.groups()) == {"posterior", "sample_stats", "constant_data", "predictions"}
    assert idata.posterior.sizes["chain"] == 1 and idata.posterior.sizes["draw"] == 4
    for name, value in learner.draws_.items():
        np.testing.assert_array_equal(idata.posterior[name].values[0], value.numpy())
    ess = idata.sample_stats["ess_fraction"]
    assert ess.dims == ("chain", "draw", "intervention")
    assert ess["intervention"].values.tolist() == [1, 2]
    np.testing.assert_array_equal(ess.values[0], learner.weight_diagnostics_["ess_fraction"])
    np.testing.assert_array_equal(
        idata.sample_stats["em_lower_bound"].values[0], learner.mixture_fit_["lower_bound"]
    )
    assert idata.constant_data["n_components"].values.tolist() == [2, 2]
    probs = idata.predictions["probability"]
    assert probs.dims == ("chain", "draw", "sample", "class")
    np.testing.assert_allclose(probs.values[0].mean(axis=0), learner.predict_proba(d.X[:7]))
    assert "predictions" not in learner.to_inference_data().groups()


def test_arviz_tools_work(fitted):
    learner, _ = fitted
    idata = learner.to_inference_data()
    summary = az.summary(idata, kind="stats")
    assert summary.shape[0] == sum(int(np.prod(v.shape[1:])) for v in learner.draws_.values())
    assert np.all(np.isfinite(summary["sd"].values))
    axes = az.plot_forest(idata, var_names=list(learner.draws_)[:1])
    assert len(np.atleast_1d(axes)) >= 1
    plt.close("all")


def test_unfitted_learner_refused():
    with pytest.raises(NotFittedError):
        bm.MechanismLearner(LogisticRegression()).to_inference_data()


def test_per_draw_k_is_a_sample_stat():
    # With a criterion every draw chooses its own K: ArviZ sees K's posterior per intervention.
    d = make_frontdoor_classification(800, random_state=1)
    learner = bm.MechanismLearner(
        LogisticRegression(), n_draws=6, resampler="cwgmm", progress=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learner.fit(d.X, d.y, d.z)
    k = learner.to_inference_data().sample_stats["n_components"]
    assert k.dims == ("chain", "draw", "intervention") and k.shape == (1, 6, 2)
    np.testing.assert_array_equal(k.values[0], learner.resampler_.n_components_draws_)
    modal = [np.bincount(col).argmax() for col in k.values[0].T]
    np.testing.assert_array_equal(learner.n_components_, modal)

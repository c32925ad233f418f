"""feature_map="pca" and the warning when x has more dimensions than the weights identify."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import bayes_mech as bm
from bayes_mech._features import pca_n_components, warn_if_high_dimensional
from bayes_mech.datasets import make_frontdoor_classification
from bayes_mech.mixture import MixtureWarning
from bayes_mech.mixture._covariances import n_parameters


def _embedded(n=3000, d=20, seed=0):
    """A.1 data with x embedded in d dimensions: 2 informative directions + 1e-3 noise."""
    data = make_frontdoor_classification(n, random_state=seed)
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0][:, :2]
    X = data.X @ basis.T + 1e-3 * rng.normal(size=(n, d))
    return X, data


def test_pca_components_follow_the_variance_and_the_effective_rows():
    X, _ = _embedded()
    # Two directions carry all but ~1e-6 of the variance.
    assert pca_n_components(X, n_eff=1e6) == 2
    rng = np.random.default_rng(1)
    iso = rng.normal(size=(2000, 30))  # isotropic: 95 % of the variance needs ~29 components
    assert pca_n_components(iso, n_eff=1e9) == 29
    # With 30 effective rows a single full Gaussian must have < 15 parameters: q <= 4.
    assert n_parameters("full", 1, 4) < 15 <= n_parameters("full", 1, 5)
    assert pca_n_components(iso, n_eff=30) == 4


def test_feature_map_pca_fits_in_the_principal_subspace_and_maps_back():
    X, data = _embedded()
    learner = bm.MechanismLearner(
        LogisticRegression(), n_draws=4, feature_map="pca", progress=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.FrontDoorWeightWarning)
        learner.fit(X, data.y, data.z)
    assert learner.feature_map_.n_components_ == 2
    x = learner.sample_interventional(2, 4000, random_state=0)
    assert x.shape == (4000, 20)
    # Samples lie in the 2-D principal subspace of X, mapped back to 20 columns.
    resid = x - learner.feature_map_.inverse_transform(learner.feature_map_.transform(x))
    assert np.abs(resid).max() < 1e-8
    test = make_frontdoor_classification(2000, confounded=False, random_state=9)
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(20, 20)))[0][:, :2]
    assert learner.score(test.X @ basis.T, test.y) > 0.83


def test_high_dimensional_x_warns_with_numbers():
    with pytest.warns(MixtureWarning, match=r"64 dimensions \(X\).*N_eff = 300.*4289 free"):
        warn_if_high_dimensional(64, 300.0, "full", "X")
    with pytest.warns(MixtureWarning, match=r"by n_components='aic'.*n_components='bic_eff'"):
        warn_if_high_dimensional(64, 300.0, "full", "X", n_components="aic")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_high_dimensional(2, 300.0, "full", "X")  # 11 parameters: no warning
        warn_if_high_dimensional(64, 300.0, "spherical", "X")  # 131 parameters: no warning
        # criteria without the identified-K rule, and a K of the user's, can go past K = 1
        for n_components in ("bic_eff", "cv", "dp", 3, {0: 2, 1: 3}):
            warn_if_high_dimensional(64, 300.0, "full", "X", n_components=n_components)


def test_learner_warns_on_high_dimensional_x_and_not_with_pca():
    X, data = _embedded(n=1500, d=24)
    kw = dict(n_draws=2, progress=False, random_state=0)
    bic = dict(n_components="bic", covariance_type="full")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learner = bm.MechanismLearner(LogisticRegression(), **bic, **kw).fit(X, data.y, data.z)
    high = [w for w in caught if "free parameters" in str(w.message)]
    assert high and issubclass(high[0].category, MixtureWarning)
    assert "feature_map='pca'" in str(high[0].message)
    assert np.all(learner.n_components_ == 1)  # what the warning says happens
    # the defaults ("auto") switch to bic_eff with the structure chosen there: no warning
    fitted = {}
    for name, options in (("bic_eff", {"n_components": "bic_eff"}), ("default", {}),
                          ("pca", {"feature_map": "pca"})):  # fmt: skip
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitted[name] = bm.MechanismLearner(LogisticRegression(), **options, **kw).fit(
                X, data.y, data.z
            )
        assert not [w for w in caught if "free parameters" in str(w.message)], options
    # the PCA leaves few enough dimensions for the BIC to identify K > 1: "auto" is the BIC's
    assert fitted["pca"].selection_["n_components"] == "bic"
    chosen = fitted["default"].selection_
    assert (chosen["n_components"], chosen["covariance_type"]) == ("bic_eff", "auto")
    assert chosen["partial_pooling"] is True


def test_unknown_feature_map_string_is_refused():
    X, data = _embedded(n=300)
    with pytest.raises(ValueError, match="feature_map must be one of"):
        bm.MechanismLearner(LogisticRegression(), feature_map="pcaa").fit(X, data.y, data.z)


def test_weights_too_thin_for_any_dimension_are_not_a_dimension_warning():
    # A 2-component full mixture has 11 parameters in 2-D: 10 effective rows are the weights'
    # problem (FrontDoorWeightWarning), not x's dimension; 12 are enough for a PCA to help.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_high_dimensional(64, 10.0, "full", "X")
    with pytest.warns(MixtureWarning, match="N_eff = 12"):
        warn_if_high_dimensional(64, 12.0, "full", "X")

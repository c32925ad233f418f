"""The learner's "auto" model-selection defaults: the test that resolves them, and the fits."""

import json
import warnings

import numpy as np
import pytest
from conftest import load_bench
from sklearn.linear_model import LinearRegression, LogisticRegression

import bayes_mech as bm
from bayes_mech._auto_selection import resolve_selection
from bayes_mech.datasets import make_frontdoor_classification, make_frontdoor_regression


@pytest.mark.parametrize(
    ("d", "n_eff", "discrete", "expected", "why"),
    [
        # 2-D: 11 parameters < 900 rows
        (2, 900.0, True, ("bic", "full", False), "can identify K > 1"),
        # 64-D: 4289 parameters >= 400 rows, while 2-D's 11 would not be
        (64, 400.0, True, ("bic_eff", "auto", True), "cannot identify K > 1 in this many"),
        (64, 400.0, False, ("bic_eff", "auto", False), "cannot identify"),  # no pooling: a grid
        # 10 effective rows: too few for K > 1 in 2 dimensions too (the weights' problem)
        (64, 10.0, True, ("bic", "full", False), "too few effective rows"),
        # the boundary: 2 * (5 + 15) + 1 = 41 parameters in 5 dimensions
        (5, 41.0, True, ("bic_eff", "auto", True), "41 free parameters"),
        (5, 41.5, True, ("bic", "full", False), "41 free parameters"),
    ],
)
def test_resolution_by_the_identification_test(d, n_eff, discrete, expected, why):
    chosen = resolve_selection("auto", "auto", "auto", d, n_eff, discrete)
    assert (chosen["n_components"], chosen["covariance_type"], chosen["partial_pooling"]) == (
        expected
    )
    assert why in chosen["reason"] and f"N_eff = {n_eff:.0f}" in chosen["reason"]


def test_options_the_user_sets_are_kept_in_json_types():
    chosen = resolve_selection({np.int64(1): np.int64(3)}, "diag", np.bool_(True), 64, 400.0, True)
    assert chosen == {"n_components": {"1": 3}, "covariance_type": "diag",
                      "partial_pooling": True, "reason": ""}  # fmt: skip
    json.dumps(chosen)  # saved in the model's manifest
    chosen = resolve_selection(np.int64(2), "auto", False, 64, 400.0, True)
    assert chosen["n_components"] == 2 and type(chosen["n_components"]) is int
    assert chosen["covariance_type"] == "auto" and chosen["partial_pooling"] is False
    assert chosen["reason"].startswith("covariance_type='auto' (4289 free parameters")


def _fit(X, y, z, estimator=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MechanismLearner(
            estimator or LogisticRegression(), n_draws=6, progress=False, random_state=0, **kw
        ).fit(X, y, z)


def test_in_few_dimensions_the_defaults_are_the_bic_with_full_covariances_exactly():
    """Where the BIC identifies K > 1, the defaults fit exactly what n_components="bic",
    covariance_type="full", partial_pooling=False fit (the same numbers, not just the same
    options)."""
    data = make_frontdoor_classification(2000, random_state=3)
    default = _fit(data.X, data.y, data.z)
    explicit = _fit(data.X, data.y, data.z, n_components="bic", covariance_type="full",
                    partial_pooling=False)  # fmt: skip
    assert default.selection_["n_components"] == "bic"
    assert "can identify K > 1" in default.selection_["reason"]
    assert "selection: n_components='bic', covariance_type='full'" in default.summary()
    np.testing.assert_array_equal(default.predict_proba(data.X), explicit.predict_proba(data.X))
    np.testing.assert_array_equal(default.n_components_, explicit.n_components_)
    assert explicit.selection_["reason"] == ""  # nothing was "auto"
    assert "selection:" not in explicit.summary()


def _clusters(n, d, seed):
    """bench_selection's front-door SCM: 4 diagonal Gaussian clusters per class in d dimensions,
    y moving feature 0 through z."""
    bench, _ = load_bench("selection")
    return bench.synthetic_clusters(n, d, np.random.default_rng(seed))


def test_in_many_dimensions_the_defaults_find_the_clusters_the_bic_cannot():
    X, y, z = _clusters(1500, 24, seed=0)
    default = _fit(X, y, z)
    chosen = default.selection_
    assert (chosen["n_components"], chosen["covariance_type"], chosen["partial_pooling"]) == (
        "bic_eff", "auto", True
    )  # fmt: skip
    assert default.n_components_.tolist() == [4, 4]
    assert set(default.covariance_type_.tolist()) <= {"diag", "spherical"}
    assert np.asarray(default.resampler_.pooled_share_draws_).shape == (6, 2)
    bic = _fit(X, y, z, n_components="bic", covariance_type="full", partial_pooling=False)
    assert bic.n_components_.tolist() == [1, 1]


def test_a_continuous_y_in_many_dimensions_is_not_pooled():
    data = make_frontdoor_regression(1200, random_state=0)
    rng = np.random.default_rng(0)
    X = np.c_[data.X, rng.normal(size=(1200, 30))]  # 31 dimensions, 30 of noise
    learner = _fit(X, data.y, data.z, LinearRegression(), resampler="cwgmm")
    assert learner.selection_["partial_pooling"] is False
    assert learner.selection_["n_components"] == "bic_eff"
    assert not learner.resampler_.partial_pooling


def test_selection_survives_save_and_load(tmp_path):
    data = make_frontdoor_classification(600, random_state=1)
    learner = _fit(data.X, data.y, data.z)
    learner.save(tmp_path / "m")
    loaded = bm.load(tmp_path / "m")
    assert loaded.selection_ == learner.selection_
    assert "selection:" in loaded.summary()
    idata = loaded.to_inference_data()
    assert idata.sample_stats.attrs["selection"] == learner.selection_["reason"]


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_partial_pooling_must_be_a_bool_or_auto(value):
    data = make_frontdoor_classification(200, random_state=0)
    with pytest.raises(
        TypeError, match=f"partial_pooling must be True, False or 'auto'; got {value!r}"
    ):
        bm.MechanismLearner(LogisticRegression(), partial_pooling=value).fit(data.X, data.y, data.z)


def test_a_list_of_structures_chooses_in_any_dimension_and_auto_is_that_list_in_many():
    """covariance_type=[all four] chooses the structure on A.1 too, where "auto" is full; in
    many dimensions "auto" is exactly that list (the same fit)."""
    scan = ["full", "tied", "diag", "spherical"]
    data = make_frontdoor_classification(2000, random_state=3)
    listed = _fit(data.X, data.y, data.z, n_components="bic_eff", covariance_type=scan)
    auto = _fit(data.X, data.y, data.z, n_components="bic_eff")
    assert set(auto.covariance_type_.tolist()) == {"full"}
    assert set(np.ravel(listed.resampler_.covariance_type_draws_)) - {"full"}  # others chosen
    assert listed.selection_["covariance_type"] == scan
    assert listed.selection_["reason"].startswith("partial_pooling=False (11 free parameters")
    X, y, z = _clusters(1500, 24, seed=0)
    many = _fit(X, y, z)
    listed = _fit(X, y, z, n_components="bic_eff", covariance_type=scan, partial_pooling=True)
    np.testing.assert_array_equal(many.predict_proba(X[:200]), listed.predict_proba(X[:200]))
    np.testing.assert_array_equal(
        many.resampler_.covariance_type_draws_, listed.resampler_.covariance_type_draws_
    )


def test_an_unknown_structure_in_a_list_is_named():
    data = make_frontdoor_classification(200, random_state=0)
    with pytest.raises(ValueError, match=r"covariance_type must be one of .*got 'ful'"):
        bm.MechanismLearner(LogisticRegression(), covariance_type=["full", "ful"]).fit(
            data.X, data.y, data.z
        )


def test_a_file_written_before_selection_loads_summarises_and_saves_again(tmp_path):
    from bayes_mech.io import _manifest_digest

    data = make_frontdoor_classification(600, random_state=1)
    path = _fit(data.X, data.y, data.z).save(tmp_path / "old")
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["fitted"]["selection_"]  # as files written before the defaults were "auto"
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    loaded = bm.load(path)
    assert not hasattr(loaded, "selection_") and "selection:" not in loaded.summary()
    assert "selection" not in loaded.to_inference_data().sample_stats.attrs
    again = bm.load(loaded.save(tmp_path / "again"))
    np.testing.assert_array_equal(again.predict_proba(data.X), loaded.predict_proba(data.X))

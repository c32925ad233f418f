"""Save/load without pickle: exact round trips; refusal of anything not intact and ours."""

import json
import warnings

import numpy as np
import pytest
from conftest import binary_frontdoor, per_class_normal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LinearRegression, LogisticRegression

import bayes_mech as bm
from bayes_mech.datasets import make_frontdoor_classification, make_frontdoor_regression
from bayes_mech.exceptions import FrontDoorWeightWarning, NotFittedError


def _fit(learner, d):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrontDoorWeightWarning)
        return learner.fit(d.X, d.y, d.z)


@pytest.fixture(scope="module")
def classifier():
    d = make_frontdoor_classification(800, random_state=0)
    learner = bm.MechanismLearner(
        LogisticRegression(),
        n_draws=3,
        n_components=2,
        resampler="cwgmm",
        progress=False,
        random_state=0,
    )
    return _fit(learner, d), d


@pytest.fixture
def saved(classifier, tmp_path):
    learner, _ = classifier
    return learner.save(tmp_path / "model")


def test_classifier_round_trip_is_exact(classifier, saved):
    learner, d = classifier
    loaded = bm.load(saved)
    np.testing.assert_array_equal(loaded.predict_proba(d.X), learner.predict_proba(d.X))
    np.testing.assert_array_equal(
        loaded.sample_interventional(2, 50, random_state=1),
        learner.sample_interventional(2, 50, random_state=1),
    )
    assert loaded.get_params()["n_draws"] == 3
    assert loaded.summary().splitlines()[1] == learner.summary().splitlines()[1]
    for key, value in learner.draws_.items():
        np.testing.assert_array_equal(loaded.draws_[key].numpy(), value.numpy())
    assert loaded.weight_diagnostics_.equals(learner.weight_diagnostics_)


def test_regressor_round_trip_is_exact(tmp_path):
    d = make_frontdoor_regression(600, random_state=0)
    learner = _fit(
        bm.MechanismLearner(
            LinearRegression(), n_draws=2, n_components=1, progress=False, random_state=0
        ),
        d,
    )
    loaded = bm.load(learner.save(tmp_path / "reg"))
    np.testing.assert_array_equal(loaded.predict_interval(d.X), learner.predict_interval(d.X))
    np.testing.assert_array_equal(loaded.residual_std_, learner.residual_std_)


def test_no_pickle_anywhere(saved):
    assert sorted(p.name for p in saved.iterdir()) == [
        "arrays.npz",
        "estimators.skops",
        "manifest.json",
    ]
    with np.load(saved / "arrays.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_tampered_arrays_refused(saved):
    raw = bytearray((saved / "arrays.npz").read_bytes())
    raw[-100] ^= 0xFF
    (saved / "arrays.npz").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"arrays.npz does not match the checksum"):
        bm.load(saved)


def test_truncated_estimators_refused(saved):
    data = (saved / "estimators.skops").read_bytes()
    (saved / "estimators.skops").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"estimators.skops does not match the checksum"):
        bm.load(saved)


def test_edited_manifest_refused(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["params"]["n_draws"] = 99
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"manifest.json does not match its checksum"):
        bm.load(saved)


def test_newer_format_refused(saved):
    from bayes_mech.io import _manifest_digest

    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["format_version"] = 999
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"format version 999.*Upgrade bayes-mech"):
        bm.load(saved)


def test_not_ours_refused(tmp_path):
    with pytest.raises(ValueError, match=r"has no manifest.json"):
        bm.load(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="manifest format is 'something-else'"):
        bm.load(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        bm.load(tmp_path)


class VotingStub(ClassifierMixin, BaseEstimator):
    """A user-defined estimator: its type is not trusted by default."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_untrusted_type_refused_unless_named(tmp_path):
    d = make_frontdoor_classification(300, random_state=0)
    learner = _fit(bm.MechanismLearner(VotingStub(), n_draws=2, n_components=1, progress=False), d)
    path = learner.save(tmp_path / "stub")
    name = f"{__name__}.VotingStub"
    with pytest.raises(ValueError, match=r"outside the trusted modules.*VotingStub"):
        bm.load(path)
    loaded = bm.load(path, trusted=[name])
    np.testing.assert_array_equal(loaded.predict(d.X), learner.predict(d.X))


def test_unfitted_learner_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        bm.MechanismLearner(LogisticRegression()).save(tmp_path / "x")


@pytest.mark.parametrize("resampler", ["cwgmm", "gformula", "bootstrap"])
def test_fitted_learners_pickle_and_joblib_dump(resampler, tmp_path):
    """No local closures: pickle and joblib round trips predict and sample exactly as before."""
    import pickle

    import joblib

    d = make_frontdoor_classification(500, random_state=0)
    learner = _fit(
        bm.MechanismLearner(
            LogisticRegression(),
            n_draws=3,
            n_components=2,
            resampler=resampler,
            progress=False,
            random_state=0,
        ),
        d,
    )
    joblib.dump(learner, tmp_path / "learner.joblib")
    for copy in (pickle.loads(pickle.dumps(learner)), joblib.load(tmp_path / "learner.joblib")):
        np.testing.assert_array_equal(copy.predict_proba(d.X), learner.predict_proba(d.X))
        assert copy.resampler_.name == resampler
        if resampler != "bootstrap":
            np.testing.assert_array_equal(
                copy.sample_interventional(2, 40, random_state=1),
                learner.sample_interventional(2, 40, random_state=1),
            )


# ----------------------------------------------- the g-formula samples after a load
def _a1():
    d = make_frontdoor_classification(n_samples=600, random_state=0)
    return LogisticRegression(), (d.X, d.y, d.z, None), {"n_components": 2}


def _a2_auto():
    d = make_frontdoor_regression(600, random_state=0)
    return LinearRegression(), (d.X, d.y, d.z, None), {"resampler": "auto"}


def _binary():
    return LogisticRegression(), (*binary_frontdoor(600, 0), None), {"n_components": 1}


def _binary_with_covariate():
    return LogisticRegression(), binary_frontdoor(600, 0, covariate=True), {"n_components": 1}


def _a1_with_covariate():
    d = bm.datasets.make_frontdoor_covariates("classification", n_samples=600, random_state=0)
    return LogisticRegression(), (d.X, d.y, d.z, d.c), {"n_components": 2}


def _a2_covariates_as_features():
    d = bm.datasets.make_frontdoor_covariates("regression", n_samples=600, random_state=0)
    kw = {"n_components": 1, "covariates_as_features": True}
    return LinearRegression(), (d.X, d.y, d.z, d.c), kw


#: Every built-in mechanism the g-formula draws z from: continuous z given discrete y
#: (GaussianMechanism) or continuous y (LinearGaussianMechanism, chosen by resampler="auto"),
#: categorical z (CategoricalMechanism), and with covariates (the conditional front door).
G_FORMULA_CASES = {
    "GaussianMechanism": _a1,
    "LinearGaussianMechanism": _a2_auto,
    "CategoricalMechanism": _binary,
    "LogisticCategoricalMechanism": _binary_with_covariate,
    "ConditionalGaussianMechanism": _a1_with_covariate,
    "LinearGaussianMechanism+c": _a2_covariates_as_features,
}


def _trace_do(learner, value, seed):
    """One seeded trace of ``poutine.do(interventional_model_, {"y": value})``, 50 rows."""
    import pyro
    import torch
    from pyro import poutine

    y = torch.tensor(float(value), dtype=torch.float64)
    model = poutine.do(learner.interventional_model_, {"y": y})
    pyro.set_rng_seed(seed)
    return poutine.trace(model).get_trace(50)


@pytest.mark.parametrize("case", G_FORMULA_CASES)
def test_loaded_g_formula_samples_exactly_as_saved(case, tmp_path):
    estimator, (X, y, z, c), kwargs = G_FORMULA_CASES[case]()
    learner = bm.MechanismLearner(
        estimator, resampler="gformula", n_draws=4, progress=False, random_state=0
    ).set_params(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrontDoorWeightWarning)
        learner.fit(X, y, z, covariates=c)
    assert learner.resampler_.name == "gformula"  # "auto" chose it for A.2
    assert type(learner.mechanism_).__name__ == case.split("+")[0]
    loaded = bm.load(learner.save(tmp_path / "g"))
    assert type(loaded.mechanism_) is type(learner.mechanism_)
    value = learner.interventions_[-1]
    before = learner.sample_interventional(value, 300, random_state=5)
    np.testing.assert_array_equal(loaded.sample_interventional(value, 300, random_state=5), before)
    assert not np.array_equal(loaded.sample_interventional(value, 300, random_state=6), before)
    traces = [_trace_do(m, value, seed=7).nodes for m in (learner, loaded)]
    for site in ("draw", "y_prime", "z", "x"):
        np.testing.assert_array_equal(traces[1][site]["value"], traces[0][site]["value"])
    kw = {"covariates": c} if learner.covariates_as_features else {}
    np.testing.assert_array_equal(loaded.predict(X, **kw), learner.predict(X, **kw))


def test_loaded_g_formula_with_a_user_mechanism_predicts_and_says_why_it_cannot_sample(tmp_path):
    d = make_frontdoor_classification(n_samples=600, random_state=0)
    mech = bm.mechanisms.PyroMechanism(
        per_class_normal, inference="svi", num_steps=50, learning_rate=0.05, progress=False
    )
    learner = _fit(
        bm.MechanismLearner(
            LogisticRegression(), mechanism=mech, resampler="gformula", n_components=2,
            n_draws=3, progress=False, random_state=0,
        ),
        d,
    )  # fmt: skip
    assert learner.sample_interventional(2, 10, random_state=0).shape == (10, 2)
    path = learner.save(tmp_path / "user")
    assert json.loads((path / "manifest.json").read_text())["mechanism"] is None
    loaded = bm.load(path)
    assert loaded.mechanism_ is None and loaded.interventional_model_ is None
    np.testing.assert_array_equal(loaded.predict_proba(d.X), learner.predict_proba(d.X))
    with pytest.raises(NotFittedError, match=r"loaded without its mechanism.*PyroMechanism"):
        loaded.sample_interventional(2, 10)


def _as_format_2(path):
    """Rewrite a saved g-formula learner as format version 2 wrote it: no mechanism, and no
    g-formula sampling state."""
    import io as _io

    from bayes_mech.io import _manifest_digest, _sha256

    with np.load(path / "arrays.npz", allow_pickle=False) as npz:
        dropped = ("mechanism/", "resampler/bank/", "resampler/layout/", "resampler/rows/")
        arrays = {k: npz[k] for k in npz.files if not k.startswith(dropped)}
    buffer = _io.BytesIO()
    np.savez(buffer, **arrays)
    (path / "arrays.npz").write_bytes(buffer.getvalue())
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["mechanism"]
    manifest["format_version"] = 2
    manifest["files"]["arrays.npz"] = _sha256(buffer.getvalue())
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_g_formula_file_of_format_2_loads_predicts_and_says_why_it_cannot_sample(tmp_path):
    estimator, (X, y, z, _), kwargs = _binary()
    learner = bm.MechanismLearner(
        estimator, resampler="gformula", n_draws=2, progress=False, random_state=0, **kwargs
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrontDoorWeightWarning)
        learner.fit(X, y, z)
    path = learner.save(tmp_path / "v2")
    _as_format_2(path)
    loaded = bm.load(path)
    assert loaded.mechanism_ is None and loaded.resampler_.name == "gformula"
    np.testing.assert_array_equal(loaded.predict_proba(X), learner.predict_proba(X))
    assert loaded.summary().splitlines()[1:4] == learner.summary().splitlines()[1:4]
    with pytest.raises(NotFittedError, match=r"loaded without its mechanism"):
        loaded.sample_interventional(1, 10)


def test_saved_mechanism_is_plain_arrays_and_refuses_foreign_classes(classifier, saved):
    learner, _ = classifier
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format_version"] == 3
    assert manifest["mechanism"]["class"] == "GaussianMechanism"
    loaded = bm.load(saved)  # a CW-GMM learner gets its mechanism back too
    z = np.linspace(-2.0, 4.0, 7)
    np.testing.assert_array_equal(
        loaded.mechanism_.log_prob(z, [1, 2], loaded.draws_).numpy(),
        learner.mechanism_.log_prob(z, [1, 2], learner.draws_).numpy(),
    )
    from bayes_mech.io import _manifest_digest

    manifest["mechanism"]["class"] = "PyroMechanism"  # a class whose model is code
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"'PyroMechanism' is not one that bayes-mech rebuilds"):
        bm.load(saved)

"""Save/load without pickle: exact round trips; refusal of anything not intact and ours."""

import json
import warnings

import numpy as np
import pytest
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

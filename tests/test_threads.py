"""Thread pools of the library's short operations: one thread per pool for small work, the
caller's counts untouched outside (bayes_mech._threads)."""

import numpy as np
import pytest
import threadpoolctl
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

import bayes_mech as bm
from bayes_mech import _ensemble
from bayes_mech._threads import one_thread


def _pools() -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for pool in threadpoolctl.threadpool_info():
        out.setdefault(pool["user_api"], set()).add(pool["num_threads"])
    return out


@pytest.fixture
def two_threads():
    """torch and the native pools at two threads for the test, restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threadpoolctl.threadpool_limits(2):
            yield _pools()
    finally:
        torch.set_num_threads(before)


def test_one_thread_limits_and_restores(two_threads):
    with one_thread():
        assert torch.get_num_threads() == 1
        assert all(counts == {1} for counts in _pools().values())
    assert torch.get_num_threads() == 2 and _pools() == two_threads
    with one_thread(user_api="blas"):
        assert _pools()["blas"] == {1}
        assert torch.get_num_threads() == 1  # torch's own OpenMP pool: always
        assert max(_pools()["openmp"]) == 2  # the other OpenMP pools (scikit-learn's) are left
    with one_thread(False):
        assert torch.get_num_threads() == 2 and _pools() == two_threads
    with pytest.raises(RuntimeError), one_thread():
        raise RuntimeError("restored on the way out too")
    assert torch.get_num_threads() == 2 and _pools() == two_threads


SEEN: list = []


class _Recorder(ClassifierMixin, BaseEstimator):
    """A classifier that records the thread counts it was fitted under."""

    def fit(self, X, y):
        SEEN.append((torch.get_num_threads(), _pools().get("blas")))
        self.inner_ = LogisticRegression().fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict(self, X):
        return self.inner_.predict(X)

    def predict_proba(self, X):
        return self.inner_.predict_proba(X)


@pytest.mark.filterwarnings("ignore::bayes_mech.exceptions.FrontDoorWeightWarning")
@pytest.mark.parametrize("small", [True, False])
def test_small_members_fit_on_one_thread(two_threads, monkeypatch, small):
    if not small:
        monkeypatch.setattr(_ensemble, "SMALL_MEMBER_WORK", 0)
    SEEN.clear()
    d = bm.datasets.make_frontdoor_classification(n_samples=600, random_state=0)
    learner = bm.MechanismLearner(
        _Recorder(), n_draws=3, n_components=2, progress=False, random_state=0
    )
    learner.fit(d.X, d.y, d.z)
    expected = (1, {1}) if small else (2, two_threads["blas"])
    assert SEEN == [expected] * 3
    assert torch.get_num_threads() == 2 and _pools() == two_threads


@pytest.mark.filterwarnings("ignore::bayes_mech.exceptions.FrontDoorWeightWarning")
def test_weights_stage_runs_on_one_thread_for_small_problems(two_threads, monkeypatch):
    seen = []
    original = bm.MechanismLearner._row_log_weights

    def record(self, *args, **kwargs):
        seen.append((torch.get_num_threads(), _pools()["blas"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(bm.MechanismLearner, "_row_log_weights", record)
    d = bm.datasets.make_frontdoor_classification(n_samples=600, random_state=0)
    learner = bm.MechanismLearner(
        LogisticRegression(), n_draws=3, n_components=2, progress=False, random_state=0
    )
    learner.fit(d.X, d.y, d.z)
    assert seen == [(1, {1})]
    assert torch.get_num_threads() == 2 and _pools() == two_threads
    # The same fit with every pool at one thread gives the same members.
    with one_thread():
        again = bm.MechanismLearner(
            LogisticRegression(), n_draws=3, n_components=2, progress=False, random_state=0
        ).fit(d.X, d.y, d.z)
    np.testing.assert_allclose(
        learner.predict_proba(d.X[:50]), again.predict_proba(d.X[:50]), rtol=1e-10, atol=1e-12
    )

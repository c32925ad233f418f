"""The ensemble trains through any joblib backend: on a local dask.distributed cluster the
predictions are identical to the local run."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayes_mech as bm
from bayes_mech.exceptions import FrontDoorWeightWarning

distributed = pytest.importorskip(
    "distributed",
    reason="dask.distributed is not installed (pip install 'bayes-mech[distributed]')",
)

pytestmark = pytest.mark.slow


def _fit(data, **kw):
    from sklearn.linear_model import LogisticRegression

    X, y, z = data
    learner = bm.MechanismLearner(
        LogisticRegression(), n_draws=4, n_components=2, progress=False, random_state=11, **kw
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrontDoorWeightWarning)  # A.1's weights are thin
        return learner.fit(X, y, z)


# joblib's dask backend keys its argument cache by id() and deletes the key from a weakref
# callback; when the garbage collector runs that callback after the id has been reused the
# deletion raises KeyError inside the callback (seen once in a full run on a loaded machine,
# passing on re-runs). It is joblib's bookkeeping, not this library's results: only that
# callback's unraisable exception is ignored.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*_WeakKeyDictionary.*on_destroy"
    ":pytest.PytestUnraisableExceptionWarning"
)
def test_dask_backend_gives_identical_predictions():
    from joblib import parallel_config

    d = bm.datasets.make_frontdoor_classification(400, random_state=0)
    data = (d.X, d.y, d.z)
    X_test = bm.datasets.make_frontdoor_classification(200, False, random_state=1).X
    local = _fit(data)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as stream,
        parallel_config(backend="dask"),
    ):
        remote = _fit(data, n_jobs=2)
    assert len(stream.data) >= 1, "no task ran on the dask cluster"
    np.testing.assert_array_equal(local.predict_proba(X_test), remote.predict_proba(X_test))
    np.testing.assert_array_equal(
        local.predict_dist(X_test).values, remote.predict_dist(X_test).values
    )


def _predict_proba(learner, X):
    return learner.predict_proba(X)


def test_fitted_learner_travels_to_worker_processes():
    """A process-based cluster pickles the fitted learner itself (no local closures in it)."""
    d = bm.datasets.make_frontdoor_classification(400, random_state=0)
    X_test = bm.datasets.make_frontdoor_classification(200, False, random_state=1).X
    learners = [_fit((d.X, d.y, d.z), resampler=r) for r in ("cwgmm", "gformula")]
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        futures = [client.submit(_predict_proba, learner, X_test) for learner in learners]
        remote = client.gather(futures)
    for learner, proba in zip(learners, remote, strict=True):
        np.testing.assert_array_equal(proba, learner.predict_proba(X_test))

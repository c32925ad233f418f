"""A catalogue of bad inputs across the public API: each fails early with a message that names it.

Every entry is ``(id, call, exception type, fragments)``: ``call(ctx)`` must raise exactly that
type (or a subclass), and its message must contain every fragment, which together name the
offending argument and what was expected (and usually what was got). The command line is
catalogued separately: exit status 2 and one line on stderr, naming the same things.

Includes the two silent failures of the reference pipeline (ANCHORS.md, "Fragility"): an
intervention value inside the range of a discrete ``y`` but absent from the data, and an unknown
``covariance_type``.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.linear_model import LinearRegression, LogisticRegression

import bayes_mech as bm
from bayes_mech import mechanisms as mech
from bayes_mech.cli import main
from bayes_mech.exceptions import MechanismWarning, NotFittedError

N = 60


@dataclass
class Ctx:
    X: np.ndarray
    y: np.ndarray
    z: np.ndarray
    learner: bm.MechanismLearner
    saved: Path
    tmp: Path
    gmech: mech.GaussianMechanism
    lw: object


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 2))
    y = rng.integers(1, 3, N)
    z = rng.normal(size=N) + y
    learner = small_learner().fit(X, y, z)
    saved = learner.save(tmp_path_factory.mktemp("model") / "m")
    gmech = mech.GaussianMechanism().fit(y, z)
    lw = bm.frontdoor_log_weights(gmech, y, z, [1, 2], gmech.sample_posterior(2, random_state=0))
    return X, y, z, learner, saved, gmech, lw


@pytest.fixture
def ctx(base, tmp_path):
    X, y, z, learner, saved, gmech, lw = base
    return Ctx(X.copy(), y.copy(), z.copy(), learner, saved, tmp_path, gmech, lw)


def small_learner(estimator=None, **kw):
    kw = {"n_draws": 2, "n_components": 1, "progress": False, "random_state": 0, **kw}
    return bm.MechanismLearner(estimator or LogisticRegression(), **kw)


def _with(arr, index, value):
    out = np.array(arr, dtype=np.float64)
    out[index] = value
    return out


def _copy_model(c: Ctx) -> Path:
    dest = c.tmp / "copy"
    shutil.copytree(c.saved, dest)
    return dest


def _truncated(c):
    d = _copy_model(c)
    data = (d / "arrays.npz").read_bytes()
    (d / "arrays.npz").write_bytes(data[: len(data) // 2])
    return bm.load(d)


def _tampered_estimators(c):
    d = _copy_model(c)
    data = bytearray((d / "estimators.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (d / "estimators.skops").write_bytes(bytes(data))
    return bm.load(d)


def _edit_manifest(c, key, value, *, rehash=False):
    d = _copy_model(c)
    manifest = json.loads((d / "manifest.json").read_text())
    manifest[key] = value
    if rehash:
        from bayes_mech.io import _manifest_digest

        manifest["manifest_sha256"] = _manifest_digest(manifest)
    (d / "manifest.json").write_text(json.dumps(manifest))
    return bm.load(d)


def _missing_file(c):
    d = _copy_model(c)
    (d / "arrays.npz").unlink()
    return bm.load(d)


def _junk_file(c, name="junk.bin"):
    path = c.tmp / name
    path.write_bytes(b"not an IDX file at all")
    return path


GM = bm.WeightedGaussianMixture
DP = bm.WeightedBayesianGaussianMixture
W_THREE = np.r_[np.ones(3), np.zeros(N - 3)]

# (id, call, exception, fragments that must all appear in the message)
CASES = [
    # ------------------------------------------------------------------------------ datasets
    (
        "ds-n_samples-zero",
        lambda c: bm.datasets.make_frontdoor_classification(0),
        ValueError,
        ["n_samples", ">= 1", "got 0"],
    ),
    (
        "ds-n_samples-float",
        lambda c: bm.datasets.make_frontdoor_regression(10.5),
        TypeError,
        ["n_samples", "integer", "10.5"],
    ),
    (
        "ds-n_samples-string",
        lambda c: bm.datasets.make_frontdoor_regression("10"),
        TypeError,
        ["n_samples", "integer", "'10'"],
    ),
    (
        "ds-random_state-string",
        lambda c: bm.datasets.make_frontdoor_classification(10, random_state="a"),
        TypeError,
        ["random_state", "an int", "got str"],
    ),
    (
        "ds-confounded-string",
        lambda c: bm.datasets.make_frontdoor_classification(10, confounded="no"),
        TypeError,
        ["confounded", "True or False", "'no'"],
    ),
    (
        "ds-unknown-dataset",
        lambda c: bm.datasets.sample_interventional("classif", 1, 10),
        ValueError,
        ["dataset", "'classification'", "'classif'"],
    ),
    (
        "ds-intervention-not-a-class",
        lambda c: bm.datasets.sample_interventional("classification", 3, 10),
        ValueError,
        ["y_value", "[1, 2]", "got 3"],
    ),
    (
        "ds-digits-same-twice",
        lambda c: bm.datasets.make_background_digits(10, digits=(1, 1)),
        ValueError,
        ["digits", "two different", "(1, 1)"],
    ),
    (
        "ds-mnist-not-idx",
        lambda c: bm.datasets.load_mnist_idx(_junk_file(c), _junk_file(c)),
        ValueError,
        ["images_path", "not an IDX file"],
    ),
    (
        "ds-mnist-missing",
        lambda c: bm.datasets.load_mnist_idx(c.tmp / "no", c.tmp / "no"),
        ValueError,
        ["images_path", "existing IDX file", "does not exist"],
    ),
    # ------------------------------------------------------------------------------ mixtures
    (
        "gm-X-nan",
        lambda c: GM(2).fit(_with(c.X, (3, 1), np.nan)),
        ValueError,
        ["X must be finite", "1 NaN"],
    ),
    (
        "gm-X-inf",
        lambda c: GM(2).fit(_with(c.X, (3, 1), -np.inf)),
        ValueError,
        ["X must be finite", "1 infinite"],
    ),
    (
        "gm-X-empty",
        lambda c: GM(1).fit(np.empty((0, 2))),
        ValueError,
        ["X", "at least 1 row", "(0, 2)"],
    ),
    (
        "gm-X-1d",
        lambda c: GM(1).fit(c.X[:, 0]),
        ValueError,
        ["X must be a 2-D array", "1-D", "reshape(-1, 1)"],
    ),
    (
        "gm-X-ragged",
        lambda c: GM(1).fit([[1.0, 2.0], [3.0]]),
        ValueError,
        ["X", "rectangular", "ragged"],
    ),
    (
        "gm-X-strings",
        lambda c: GM(1).fit([["a", "b"], ["c", "d"]]),
        TypeError,
        ["X must hold numbers", "<U1"],
    ),
    (
        "gm-X-object",
        lambda c: GM(1).fit(np.array([[1, "b"], [2, "c"]], dtype=object)),
        TypeError,
        ["X must hold real numbers", "'b'"],
    ),
    (
        "gm-X-complex",
        lambda c: GM(1).fit(c.X + 1j),
        ValueError,
        ["X must hold real numbers", "Complex"],
    ),
    (
        "gm-weights-all-zero",
        lambda c: GM(1).fit(c.X, sample_weight=np.zeros(N)),
        ValueError,
        ["sample_weight", "positive total mass", "all-zero"],
    ),
    (
        "gm-weights-negative",
        lambda c: GM(1).fit(c.X, sample_weight=_with(np.ones(N), 0, -1)),
        ValueError,
        ["sample_weight must be non-negative", "1 negative"],
    ),
    (
        "gm-weights-nan",
        lambda c: GM(1).fit(c.X, sample_weight=_with(np.ones(N), 0, np.nan)),
        ValueError,
        ["sample_weight must be finite", "1 NaN"],
    ),
    (
        "gm-weights-length",
        lambda c: GM(1).fit(c.X, sample_weight=np.ones(N - 1)),
        ValueError,
        ["sample_weight", f"({N},)", f"({N - 1},)"],
    ),
    (
        "gm-weights-batch-row-zero",
        lambda c: GM(1).fit(c.X, sample_weight=np.stack([np.ones(N), np.zeros(N)])),
        ValueError,
        ["sample_weight", "positive total mass", "batch row(s) [1]"],
    ),
    (
        "gm-K-above-positive-rows",
        lambda c: GM(5).fit(c.X, sample_weight=W_THREE),
        ValueError,
        ["n_components = 5", "positive weight", "got 3"],
    ),
    (
        "gm-covariance_type-unknown",
        lambda c: GM(1, covariance_type="fulll").fit(c.X),
        ValueError,
        ["covariance_type", "'full', 'tied', 'diag', 'spherical'", "'fulll'"],
    ),
    (
        "gm-init_params-unknown",
        lambda c: GM(1, init_params="kmeans").fit(c.X),
        ValueError,
        ["init_params", "'k-means++'", "'kmeans'"],
    ),
    (
        "gm-random_state-string",
        lambda c: GM(1, random_state="0").fit(c.X),
        TypeError,
        ["random_state", "an int", "got str"],
    ),
    (
        "gm-random_state-float",
        lambda c: GM(1, random_state=0.5).fit(c.X),
        TypeError,
        ["random_state", "an int", "got float"],
    ),
    (
        "gm-random_state-too-large",
        lambda c: GM(1, random_state=2**40).fit(c.X),
        ValueError,
        ["random_state", "[0, 2**32)"],
    ),
    (
        "gm-n_components-float",
        lambda c: GM(1.5).fit(c.X),
        TypeError,
        ["n_components", "integer >= 1", "1.5"],
    ),
    (
        "gm-n_components-zero",
        lambda c: GM(0).fit(c.X),
        ValueError,
        ["n_components", "integer >= 1", "got 0"],
    ),
    ("gm-tol-negative", lambda c: GM(1, tol=-1.0).fit(c.X), ValueError, ["tol", ">= 0", "-1"]),
    (
        "gm-reg_covar-nan",
        lambda c: GM(1, reg_covar=float("nan")).fit(c.X),
        ValueError,
        ["reg_covar", "finite", "nan"],
    ),
    (
        "gm-means_init-shape",
        lambda c: GM(2, means_init=np.zeros((3, 2))).fit(c.X),
        ValueError,
        ["means_init", "(2, 2)", "(3, 2)"],
    ),
    (
        "gm-predict-other-n-features",
        lambda c: GM(1, random_state=0).fit(c.X).score_samples(c.X[:, :1]),
        ValueError,
        ["X has 1 features", "expecting 2"],
    ),
    (
        "gm-predict-unfitted",
        lambda c: GM(1).predict(c.X),
        NotFittedError,
        ["WeightedGaussianMixture", "not fitted", "fit"],
    ),
    (
        "gm-sample-zero",
        lambda c: GM(1, random_state=0).fit(c.X).sample(0),
        ValueError,
        ["n_samples", ">= 1", "got 0"],
    ),
    (
        "dp-concentration-negative",
        lambda c: DP(2, weight_concentration_prior=-1.0).fit(c.X),
        ValueError,
        ["weight_concentration_prior", "> 0", "-1"],
    ),
    (
        "dp-covariance_type-unknown",
        lambda c: DP(2, covariance_type="ful").fit(c.X),
        ValueError,
        ["covariance_type", "'full'", "'ful'"],
    ),
    (
        "select-criterion-unknown",
        lambda c: bm.select_n_components(c.X, criterion="bicc"),
        ValueError,
        ["criterion", "'bic', 'aic', 'bic_eff', 'cv', 'dp'", "'bicc'"],
    ),
    (
        "select-candidates-empty",
        lambda c: bm.select_n_components(c.X, candidates=[]),
        ValueError,
        ["candidates", "at least one"],
    ),
    (
        "select-candidates-zero",
        lambda c: bm.select_n_components(c.X, candidates=[0, 1]),
        ValueError,
        ["candidates", ">= 1", "got 0"],
    ),
    # ---------------------------------------------------------------------------- mechanisms
    (
        "mech-z-nan",
        lambda c: mech.GaussianMechanism().fit(c.y, _with(c.z, 0, np.nan)),
        ValueError,
        ["z must be finite", "1 NaN"],
    ),
    (
        "mech-y-strings",
        lambda c: mech.GaussianMechanism().fit(np.array(["a", "b"] * 30), c.z),
        TypeError,
        ["y must hold numbers", "<U1"],
    ),
    (
        "mech-length-mismatch",
        lambda c: mech.GaussianMechanism().fit(c.y, c.z[:-1]),
        ValueError,
        ["same number of rows", f"y has {N}", f"z has {N - 1}"],
    ),
    (
        "mech-one-row",
        lambda c: mech.GaussianMechanism().fit(c.y[:1], c.z[:1]),
        ValueError,
        ["y", "at least 2 row", "got 1"],
    ),
    (
        "mech-prior_kappa-negative",
        lambda c: mech.GaussianMechanism(prior_kappa=-1).fit(c.y, c.z),
        ValueError,
        ["prior_kappa", "> 0", "-1"],
    ),
    (
        "mech-categorical-prior-negative",
        lambda c: mech.CategoricalMechanism(prior_concentration=-1).fit(
            c.y, (c.z > 1.5).astype(int)
        ),
        ValueError,
        ["prior_concentration", "positive", "-1"],
    ),
    (
        "mech-linear-y-inf",
        lambda c: mech.LinearGaussianMechanism().fit(_with(c.z, 0, np.inf), c.X[:, 0]),
        ValueError,
        ["y must be finite", "1 infinite"],
    ),
    (
        "mech-log_prob-unseen-y",
        lambda c: c.gmech.log_prob(c.z, [1, 5]),
        ValueError,
        ["y_values", "[5]", "observed values are [1, 2]"],
    ),
    (
        "mech-log_prob-other-z-dim",
        lambda c: c.gmech.log_prob(np.c_[c.z, c.z], [1]),
        ValueError,
        ["z must have 1 column(s)", "got 2"],
    ),
    (
        "mech-sample_posterior-zero",
        lambda c: c.gmech.sample_posterior(0),
        ValueError,
        ["n_draws", ">= 1", "got 0"],
    ),
    (
        "mech-sample_posterior-random_state",
        lambda c: c.gmech.sample_posterior(2, random_state="x"),
        TypeError,
        ["random_state", "an int", "got str"],
    ),
    (
        "mech-unfitted",
        lambda c: mech.GaussianMechanism().sample_posterior(2),
        NotFittedError,
        ["GaussianMechanism", "not fitted", "fit(y, z)"],
    ),
    (
        "mech-resolve-unknown-name",
        lambda c: mech.resolve_mechanism(c.y, c.z, "gauss"),
        ValueError,
        ["mechanism", "'gaussian'", "'gauss'"],
    ),
    (
        "mech-resolve-continuous-y-discrete-z",
        lambda c: mech.resolve_mechanism(c.z, c.y),
        ValueError,
        ["continuous y and discrete z", "PyroMechanism"],
    ),
    # ------------------------------------------------------------------------------- weights
    (
        "w-unseen-intervention",
        lambda c: bm.frontdoor_log_weights(c.gmech, c.y, c.z, [1, 3]),
        ValueError,
        ["interventions", "[3]", "observed classes are [1, 2]"],
    ),
    (
        "w-length-mismatch",
        lambda c: bm.frontdoor_log_weights(c.gmech, c.y[:-1], c.z, [1, 2]),
        ValueError,
        ["same number of rows", f"y has {N - 1}", f"z has {N}"],
    ),
    (
        "w-normalize-nan",
        lambda c: bm.normalize_log_weights(np.full((1, 1, 5), np.nan)),
        ValueError,
        ["log_weights", "NaN", "5 NaN"],
    ),
    (
        "w-normalize-all-zero",
        lambda c: bm.normalize_log_weights(np.full((1, 1, 5), -np.inf)),
        ValueError,
        ["all zero", "intervention index 0"],
    ),
    (
        "w-normalize-2d",
        lambda c: bm.normalize_log_weights(np.zeros((2, 5))),
        ValueError,
        ["log_weights", "(n_draws, n_values, n_samples)", "(2, 5)"],
    ),
    (
        "w-bootstrap-n_draws-zero",
        lambda c: bm.bayesian_bootstrap_log_weights(0, 5),
        ValueError,
        ["n_draws", ">= 1", "got 0"],
    ),
    (
        "w-bootstrap-random_state",
        lambda c: bm.bayesian_bootstrap_log_weights(2, 5, random_state=[1]),
        TypeError,
        ["random_state", "an int", "got list"],
    ),
    (
        "w-smooth-unknown-method",
        lambda c: bm.smooth_weights(c.lw, method="pareto"),
        ValueError,
        ["method", "'psis'", "'pareto'"],
    ),
    (
        "w-grid-n_grid-zero",
        lambda c: bm.default_interventions(c.z, n_grid=0),
        ValueError,
        ["n_grid", ">= 1", "got 0"],
    ),
    (
        "w-grid-coverage",
        lambda c: bm.default_interventions(c.z, coverage=1.5),
        ValueError,
        ["coverage", "(0, 1]", "1.5"],
    ),
    (
        "w-check-unknown-y_kind",
        lambda c: bm.check_interventions(c.y, [1], "ordinal"),
        ValueError,
        ["y_kind", "'discrete', 'continuous'", "'ordinal'"],
    ),
    (
        "w-continuous-outside-range",
        lambda c: bm.check_interventions(c.z, [100.0], "continuous"),
        ValueError,
        ["interventions", "[100.0]", "outside the observed range"],
    ),
    (
        "cb-X-mismatch",
        lambda c: bm.causal_bootstrap(c.X[:-1], c.lw, 5),
        ValueError,
        ["log_weights", f"X has {N - 1} rows", f"{N} along its last axis"],
    ),
    (
        "cb-n_samples-zero",
        lambda c: bm.causal_bootstrap(c.X, c.lw, 0),
        ValueError,
        ["n_samples", ">= 1", "got 0"],
    ),
    # ------------------------------------------------------------------------- learner.fit
    (
        "fit-X-nan",
        lambda c: small_learner().fit(_with(c.X, (3, 1), np.nan), c.y, c.z),
        ValueError,
        ["X must be finite", "1 NaN"],
    ),
    (
        "fit-X-inf",
        lambda c: small_learner().fit(_with(c.X, (3, 1), np.inf), c.y, c.z),
        ValueError,
        ["X must be finite", "1 infinite"],
    ),
    (
        "fit-z-nan",
        lambda c: small_learner().fit(c.X, c.y, _with(c.z, 0, np.nan)),
        ValueError,
        ["z must be finite", "1 NaN"],
    ),
    (
        "fit-y-nan",
        lambda c: small_learner().fit(c.X, _with(c.y, 0, np.nan), c.z),
        ValueError,
        ["y must be finite", "1 NaN"],
    ),
    (
        "fit-empty",
        lambda c: small_learner().fit(np.empty((0, 2)), [], []),
        ValueError,
        ["X", "at least 2 row", "(0, 2)"],
    ),
    (
        "fit-one-row",
        lambda c: small_learner().fit(c.X[:1], c.y[:1], c.z[:1]),
        ValueError,
        ["X", "at least 2 row", "(1, 2)"],
    ),
    (
        "fit-X-1d",
        lambda c: small_learner().fit(c.X[:, 0], c.y, c.z),
        ValueError,
        ["X must be a 2-D array", "shape (60,)", "reshape(-1, 1)"],
    ),
    (
        "fit-z-3d",
        lambda c: small_learner().fit(c.X, c.y, c.z.reshape(N, 1, 1)),
        ValueError,
        ["z must be a 2-D array", "(60, 1, 1)"],
    ),
    (
        "fit-y-2d",
        lambda c: small_learner().fit(c.X, np.c_[c.y, c.y], c.z),
        ValueError,
        ["y must be 1-D", "(n_samples,)", "(60, 2)"],
    ),
    (
        "fit-X-ragged",
        lambda c: small_learner().fit([[1.0, 2.0], [3.0]] * 30, c.y, c.z),
        ValueError,
        ["X must be a rectangular array-like", "ragged"],
    ),
    (
        "fit-X-strings",
        lambda c: small_learner().fit(np.full((N, 2), "a"), c.y, c.z),
        TypeError,
        ["X must hold numbers", "<U1"],
    ),
    (
        "fit-X-object",
        lambda c: small_learner().fit(np.array([[1, "b"]] * N, dtype=object), c.y, c.z),
        TypeError,
        ["X must hold real numbers", "object", "non-numeric", "'b'"],
    ),
    (
        "fit-X-ragged-object",
        lambda c: small_learner().fit(
            np.array([[1.0, 2.0], [3.0]] * (N // 2), dtype=object), c.y, c.z
        ),
        ValueError,
        ["X must be a rectangular array-like", "ragged"],
    ),
    (
        "fit-X-sparse",
        lambda c: small_learner().fit(scipy.sparse.csr_matrix(c.X), c.y, c.z),
        TypeError,
        ["X is a sparse matrix", "X.toarray()"],
    ),
    (
        "fit-X-complex",
        lambda c: small_learner().fit(c.X + 1j, c.y, c.z),
        ValueError,
        ["Complex data not supported", "X must hold real numbers"],
    ),
    # Labels of any type (issue #16): words are fine, missing or mixed labels are not.
    (
        "fit-y-label-missing",
        lambda c: small_learner().fit(c.X, np.array(["a", None] * (N // 2), dtype=object), c.z),
        ValueError,
        ["y must have a label in every row", f"{N // 2} missing", "row(s) [1, 3, 5"],
    ),
    (
        "fit-y-labels-mixed-types",
        lambda c: small_learner().fit(c.X, np.array(["a", 1.5] * (N // 2), dtype=object), c.z),
        TypeError,
        ["y must hold labels of one type", "['float', 'str']", "astype(str)"],
    ),
    (
        "fit-y-words-regressor",
        lambda c: small_learner(LinearRegression()).fit(c.X, np.array(["a", "b"] * 30), c.z),
        ValueError,
        ["estimator is a regressor", "not numbers", "['a', 'b']", "classifier"],
    ),
    (
        "fit-y-words-unseen-intervention",
        lambda c: small_learner(interventions=["a", "c"]).fit(c.X, np.array(["a", "b"] * 30), c.z),
        ValueError,
        ["interventions must name labels seen in fit", "['a', 'b']", "['c']"],
    ),
    (
        "fit-one-intervention-classifier",
        lambda c: small_learner(interventions=[2]).fit(c.X, c.y, c.z),
        ValueError,
        ["interventions must hold at least 2 classes for a classifier", "[2]"],
    ),
    (
        "fit-X-short",
        lambda c: small_learner().fit(c.X[:-10], c.y, c.z),
        ValueError,
        ["same number of rows", f"X has {N - 10}", f"y has {N}", f"z has {N}"],
    ),
    (
        "fit-z-short",
        lambda c: small_learner().fit(c.X, c.y, c.z[:-10]),
        ValueError,
        ["same number of rows", f"X has {N}", f"z has {N - 10}"],
    ),
    (
        "fit-y-short",
        lambda c: small_learner().fit(c.X, c.y[:-10], c.z),
        ValueError,
        ["same number of rows", f"y has {N - 10}"],
    ),
    (
        "fit-single-class",
        lambda c: small_learner().fit(c.X, np.ones(N, dtype=int), c.z),
        ValueError,
        ["y must take at least 2 distinct values", f"all {N} rows"],
    ),
    (
        "fit-unseen-intervention",
        lambda c: small_learner(interventions=[1, 3]).fit(c.X, c.y, c.z),
        ValueError,
        ["interventions", "[3]", "observed classes are [1, 2]"],
    ),
    # ANCHORS silent failure 1: inside the range of y, absent from the data.
    (
        "fit-intervention-inside-range-absent",
        lambda c: small_learner(interventions=[1, 2]).fit(c.X, np.where(c.y == 2, 3, 1), c.z),
        ValueError,
        ["interventions", "[2]", "never observed", "observed classes are [1, 3]"],
    ),
    (
        "fit-intervention-between-classes",
        lambda c: small_learner(interventions=[1, 1.5]).fit(c.X, c.y, c.z),
        ValueError,
        ["interventions", "[1.5]", "observed classes are [1, 2]"],
    ),
    (
        "fit-intervention-nan",
        lambda c: small_learner(interventions=[1, np.nan]).fit(c.X, c.y, c.z),
        ValueError,
        ["interventions must be finite", "1 NaN"],
    ),
    # ANCHORS silent failure 2: an unknown covariance_type.
    (
        "fit-covariance_type-unknown",
        lambda c: small_learner(covariance_type="fulll").fit(c.X, c.y, c.z),
        ValueError,
        ["covariance_type", "'full', 'diag', 'spherical', 'tied'", "'fulll'"],
    ),
    (
        "fit-resampler-unknown",
        lambda c: small_learner(resampler="boot").fit(c.X, c.y, c.z),
        ValueError,
        ["resampler", "'cwgmm', 'bootstrap'", "'boot'"],
    ),
    (
        "fit-n_components-unknown",
        lambda c: small_learner(n_components="bicc").fit(c.X, c.y, c.z),
        ValueError,
        ["n_components", "'bic', 'aic', 'bic_eff', 'cv', 'dp'", "'bicc'"],
    ),
    (
        "fit-n_components-above-rows",
        lambda c: small_learner(n_components=N + 40).fit(c.X, c.y, c.z),
        ValueError,
        [f"n_components = {N + 40}", "positive weight", f"got {N}"],
    ),
    (
        "fit-n_components-dict-keys",
        lambda c: small_learner(n_components={1: 1, 5: 1}).fit(c.X, c.y, c.z),
        ValueError,
        ["n_components", "one key per intervention", "[1.0, 5.0]"],
    ),
    (
        "fit-n_components-dict-value",
        lambda c: small_learner(n_components={1: 1, 2: 0}).fit(c.X, c.y, c.z),
        ValueError,
        ["n_components[2]", ">= 1", "got 0"],
    ),
    (
        "fit-mechanism-unknown",
        lambda c: small_learner(mechanism="gauss").fit(c.X, c.y, c.z),
        ValueError,
        ["mechanism", "'gaussian'", "'gauss'"],
    ),
    (
        "fit-weight_smoothing-unknown",
        lambda c: small_learner(weight_smoothing="psiss").fit(c.X, c.y, c.z),
        ValueError,
        ["weight_smoothing", "'psis'", "'psiss'"],
    ),
    (
        "fit-data_uncertainty-unknown",
        lambda c: small_learner(data_uncertainty="bb").fit(c.X, c.y, c.z),
        ValueError,
        ["data_uncertainty", "'bayesian_bootstrap'", "'bb'"],
    ),
    (
        "fit-random_state-string",
        lambda c: small_learner(random_state="0").fit(c.X, c.y, c.z),
        TypeError,
        ["random_state", "an int", "got str"],
    ),
    (
        "fit-random_state-float",
        lambda c: small_learner(random_state=1.5).fit(c.X, c.y, c.z),
        TypeError,
        ["random_state", "an int", "got float"],
    ),
    (
        "fit-random_state-negative",
        lambda c: small_learner(random_state=-1).fit(c.X, c.y, c.z),
        ValueError,
        ["random_state", "[0, 2**32)", "-1"],
    ),
    (
        "fit-n_draws-zero",
        lambda c: small_learner(n_draws=0).fit(c.X, c.y, c.z),
        ValueError,
        ["n_draws", ">= 1", "got 0"],
    ),
    (
        "fit-n_draws-float",
        lambda c: small_learner(n_draws=2.0).fit(c.X, c.y, c.z),
        TypeError,
        ["n_draws", "integer", "2.0"],
    ),
    (
        "fit-n_samples-zero",
        lambda c: small_learner(n_samples=0).fit(c.X, c.y, c.z),
        ValueError,
        ["n_samples", ">= 1", "got 0"],
    ),
    (
        "fit-n_jobs-string",
        lambda c: small_learner(n_jobs="many").fit(c.X, c.y, c.z),
        TypeError,
        ["n_jobs", "non-zero integer", "'many'"],
    ),
    (
        "fit-n_jobs-zero",
        lambda c: small_learner(n_jobs=0).fit(c.X, c.y, c.z),
        ValueError,
        ["n_jobs", "non-zero integer", "got 0"],
    ),
    (
        "fit-device-unknown",
        lambda c: small_learner(device="tpu9").fit(c.X, c.y, c.z),
        ValueError,
        ["device", "'cpu' or 'cuda'", "'tpu9'"],
    ),
    (
        "fit-estimator-none",
        lambda c: bm.MechanismLearner(None).fit(c.X, c.y, c.z),
        TypeError,
        ["estimator", "fit and predict", "NoneType"],
    ),
    (
        "fit-feature_map-not-transformer",
        lambda c: small_learner(feature_map=LinearRegression()).fit(c.X, c.y, c.z),
        TypeError,
        ["feature_map", "inverse_transform", "LinearRegression"],
    ),
    (
        "fit-classifier-continuous-y",
        lambda c: small_learner().fit(c.X, c.z, c.z),
        ValueError,
        ["estimator is a classifier", "y is continuous", "regressor"],
    ),
    # ---------------------------------------------------------------------- learner.predict
    (
        "predict-other-n-features",
        lambda c: c.learner.predict(c.X[:, :1]),
        ValueError,
        ["X has 1 features", "expecting 2 features"],
    ),
    (
        "predict-X-nan",
        lambda c: c.learner.predict_proba(_with(c.X, (0, 0), np.nan)),
        ValueError,
        ["X must be finite", "1 NaN"],
    ),
    (
        "predict-X-1d",
        lambda c: c.learner.predict(c.X[0]),
        ValueError,
        ["X must be a 2-D array", "reshape(1, -1)"],
    ),
    (
        "predict-X-empty",
        lambda c: c.learner.predict(np.empty((0, 2))),
        ValueError,
        ["X", "at least 1 row", "(0, 2)"],
    ),
    (
        "predict-unfitted",
        lambda c: small_learner().predict(c.X),
        NotFittedError,
        ["MechanismLearner", "not fitted", "fit(X, y, z)"],
    ),
    (
        "predict_interval-classifier",
        lambda c: c.learner.predict_interval(c.X),
        AttributeError,
        ["has no attribute 'predict_interval'"],  # its cause says why: tests/test_learner.py
    ),
    (
        "sample_interventional-unknown-value",
        lambda c: c.learner.sample_interventional(7, 10),
        ValueError,
        ["y = [7.0]", "not an intervention value", "[1.0, 2.0]"],
    ),
    (
        "sample_interventional-zero",
        lambda c: c.learner.sample_interventional(1, 0),
        ValueError,
        ["n_samples", ">= 1", "got 0"],
    ),
    # ---------------------------------------------------------------------------- save/load
    (
        "save-unfitted",
        lambda c: small_learner().save(c.tmp / "u"),
        NotFittedError,
        ["fitted MechanismLearner", "call fit first"],
    ),
    (
        "load-nonexistent",
        lambda c: bm.load(c.tmp / "nothing"),
        ValueError,
        ["path", "not a saved bayes-mech model", "manifest.json"],
    ),
    (
        "load-not-ours-dir",
        lambda c: bm.load(c.tmp),
        ValueError,
        ["path", "not a saved bayes-mech model", "no manifest.json"],
    ),
    (
        "load-a-file",
        lambda c: bm.load(_junk_file(c)),
        ValueError,
        ["path", "not a saved bayes-mech model"],
    ),
    (
        "load-not-a-path",
        lambda c: bm.load(None),
        TypeError,
        ["path must be a str or path-like", "NoneType"],
    ),
    (
        "load-truncated",
        _truncated,
        ValueError,
        ["arrays.npz does not match the checksum", "truncated"],
    ),
    (
        "load-tampered-estimators",
        _tampered_estimators,
        ValueError,
        ["estimators.skops does not match the checksum", "modified"],
    ),
    ("load-missing-file", _missing_file, ValueError, ["path", "missing arrays.npz"]),
    (
        "load-tampered-manifest",
        lambda c: _edit_manifest(c, "params", {"n_draws": 99}),
        ValueError,
        ["manifest.json does not match its checksum", "edited"],
    ),
    (
        "load-newer-version",
        lambda c: _edit_manifest(c, "format_version", 99),
        ValueError,
        ["format version 99", "reads versions up to 3", "Upgrade bayes-mech"],
    ),
    (
        "load-other-format",
        lambda c: _edit_manifest(c, "format", "sklearn/model", rehash=True),
        ValueError,
        ["not a saved bayes-mech model", "'sklearn/model'", "'bayes-mech/learner'"],
    ),
]


def _garbage_manifest(c):
    d = _copy_model(c)
    (d / "manifest.json").write_text("{oops")
    return bm.load(d)


CASES.append(
    ("load-manifest-not-json", _garbage_manifest, ValueError, ["manifest.json", "not valid JSON"])
)


def test_catalogue_is_large_and_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 30


@pytest.mark.parametrize(("call", "exc", "fragments"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_input_raises_naming_it(ctx, call, exc, fragments):
    with pytest.raises(exc) as info:
        call(ctx)
    message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"message {message!r} lacks {missing}"


# ----------------------------------------------------------------------------- warnings
def test_class_with_one_row_warns_naming_it(ctx):
    y = np.ones(N, dtype=int)
    y[0] = 2
    with pytest.warns(MechanismWarning, match=r"class\(es\) \[2\] of y have fewer than 2 rows"):
        learner = small_learner().fit(ctx.X, y, ctx.z)
    assert np.isfinite(learner.predict_proba(ctx.X)).all()


def test_read_only_input_is_accepted_without_warnings(ctx):
    """pandas copy-on-write and np.load(mmap_mode="r") hand out read-only arrays."""
    X, y, z = ctx.X, ctx.y, ctx.z
    for arr in (X, y, z):
        arr.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        learner = small_learner().fit(X, y, z)
        bm.WeightedGaussianMixture(1, random_state=0).fit(X)
    np.testing.assert_array_equal(learner.predict(X), ctx.learner.predict(X))


def test_validation_returns_writable_arrays():
    from bayes_mech._validation import check_array, check_labels

    arr = np.ones((3, 2))
    arr.setflags(write=False)
    assert check_array(arr).flags.writeable
    assert check_labels(arr[:, 0]).flags.writeable


# ------------------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def csv_files(tmp_path_factory, base):
    X, y, z, *_ = base
    root = tmp_path_factory.mktemp("csv")
    frame = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "y": y, "z": z})
    frame.to_csv(root / "ok.csv", index=False)
    with_nan = frame.copy()
    with_nan.loc[3, "x1"] = np.nan
    with_nan.to_csv(root / "nan.csv", index=False)
    with_text = frame.astype(object)
    with_text.loc[3, "x2"] = "abc"
    with_text.to_csv(root / "text.csv", index=False)
    (root / "empty.csv").write_text("")
    frame.iloc[:0].to_csv(root / "header_only.csv", index=False)
    frame[["x1"]].to_csv(root / "one_col.csv", index=False)
    frame.assign(y=1).to_csv(root / "one_class.csv", index=False)
    return root


FIT = ["--cause", "y", "--mechanism", "z", "--estimator", "logistic", "--n-draws", "2",
       "--n-components", "1", "--no-progress"]  # fmt: skip

CLI_CASES = [
    ("missing-file", ["fit", "{root}/nope.csv", *FIT, "--out", "{tmp}/m"],
     ["nope.csv", "does not exist"]),
    ("nan-in-effect", ["fit", "{root}/nan.csv", *FIT, "--out", "{tmp}/m"],
     ["effect column 'x1'", "1 missing value"]),
    ("text-in-effect", ["fit", "{root}/text.csv", *FIT, "--out", "{tmp}/m"],
     ["effect column 'x2'", "not numeric", "'abc'"]),
    ("empty-file", ["fit", "{root}/empty.csv", *FIT, "--out", "{tmp}/m"],
     ["empty.csv", "as CSV"]),
    ("header-only", ["fit", "{root}/header_only.csv", *FIT, "--out", "{tmp}/m"],
     ["header_only.csv", "no rows"]),
    ("unknown-cause-column", ["fit", "{root}/ok.csv", *FIT[2:], "--cause", "yy", "--out",
                              "{tmp}/m"], ["cause column(s) 'yy'", "available columns"]),
    ("single-class", ["fit", "{root}/one_class.csv", *FIT, "--out", "{tmp}/m"],
     ["y must take at least 2 distinct values"]),
    ("n-components-word", ["fit", "{root}/ok.csv", *FIT[:-3], "--n-components=many",
                           "--no-progress", "--out", "{tmp}/m"],
     ["--n-components", "integer, auto or one of bic, aic, bic_eff, cv, dp", "'many'"]),
    ("n-draws-zero", ["fit", "{root}/ok.csv", *FIT, "--n-draws=0", "--out", "{tmp}/m"],
     ["--n-draws", ">= 1", "got 0"]),
    ("predict-not-a-model", ["predict", "{root}", "{root}/ok.csv", "--out", "{tmp}/p.csv"],
     ["not a saved bayes-mech model"]),
    ("inspect-missing", ["inspect", "{tmp}/none"], ["model directory", "does not exist"]),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "fragments"), [c[1:] for c in CLI_CASES],
                         ids=[c[0] for c in CLI_CASES])  # fmt: skip
def test_cli_bad_input_one_line_exit_2(csv_files, tmp_path, capsys, argv, fragments):
    argv = [a.format(root=csv_files, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"bayes-mech {argv[0]}: error: "), err
    missing = [f for f in fragments if f not in err]
    assert not missing, f"stderr {err!r} lacks {missing}"


def test_cli_predict_with_missing_effect_column(csv_files, tmp_path, capsys):
    model = tmp_path / "m"
    assert main(["fit", str(csv_files / "ok.csv"), *FIT, "--out", str(model)]) == 0
    capsys.readouterr()
    argv = ["predict", str(model), str(csv_files / "one_col.csv"), "--out", str(tmp_path / "p")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "effect column(s) 'x2' not in one_col.csv" in err and "available columns: x1" in err


def test_cli_unknown_estimator_is_a_usage_error(csv_files, tmp_path, capsys):
    argv = ["fit", str(csv_files / "ok.csv"), *FIT[:4], "--estimator", "xgboost", *FIT[6:]]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--out", str(tmp_path / "m")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--estimator" in err and "invalid choice: 'xgboost'" in err and "logistic" in err

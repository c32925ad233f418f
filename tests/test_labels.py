"""Labels of any type (issue #16, item 3): words, objects, pandas categoricals and booleans as y
and z, through fit, predict, interventions, saving and the CLI.

The reference for every check is the same fit on integer labels: encoding keeps the labels'
sorted order, so with one seed the two fits must agree to the last digit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import bayes_mech as bm
from bayes_mech._labels import check_any_labels, decode, encode, fit_encoding
from bayes_mech.cli import main

WORDS = np.array(["epidural", "normal"])  # sorted, so index i is class i + 1 of A.1


@pytest.fixture(scope="module")
def data():
    return bm.datasets.make_frontdoor_classification(n_samples=500, random_state=3)


def _fit(X, y, z, **kw):
    kw = {"n_draws": 3, "n_components": 2, "progress": False, "random_state": 0, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.FrontDoorWeightWarning)
        return bm.MechanismLearner(LogisticRegression(), **kw).fit(X, y, z)


@pytest.mark.parametrize("resampler", ["cwgmm", "gformula", "bootstrap"])
@pytest.mark.parametrize("kind", ["str", "object", "category"])
def test_word_labels_fit_exactly_as_their_integer_codes(data, resampler, kind):
    words = WORDS[data.y - 1]
    y = {
        "str": words,
        "object": words.astype(object),
        "category": pd.Series(words, dtype="category"),
    }[kind]
    ref = _fit(data.X, data.y, data.z, resampler=resampler)
    got = _fit(data.X, y, data.z, resampler=resampler)
    np.testing.assert_array_equal(got.classes_, WORDS)
    np.testing.assert_array_equal(got.interventions_, WORDS)
    np.testing.assert_array_equal(got.predict(data.X), WORDS[ref.predict(data.X) - 1])
    np.testing.assert_array_equal(got.predict_proba(data.X), ref.predict_proba(data.X))
    assert got.score(data.X, words) == ref.score(data.X, data.y)
    assert got.predict_dist(data.X[:2])["class"].values.tolist() == WORDS.tolist()


def test_boolean_labels_stay_booleans(data):
    got = _fit(data.X, data.y == 2, data.z)
    ref = _fit(data.X, data.y, data.z)
    assert got.classes_.dtype == bool and got.y_encoding_ is None
    np.testing.assert_array_equal(got.predict(data.X), ref.predict(data.X) == 2)


def test_word_mechanism_fits_as_its_codes(data):
    z_int = (data.z > 0).astype(int)
    z_words = np.where(z_int == 1, "high", "low")  # sorted: "high" < "low", so codes flip
    ref = _fit(data.X, data.y, 1 - z_int)
    got = _fit(data.X, data.y, z_words)
    np.testing.assert_array_equal(got.z_encoding_, ["high", "low"])
    assert type(got.mechanism_).__name__ == "CategoricalMechanism"
    np.testing.assert_array_equal(got.predict_proba(data.X), ref.predict_proba(data.X))


def test_interventions_sample_and_summary_speak_labels(data, tmp_path):
    words = WORDS[data.y - 1]
    learner = _fit(data.X, words, data.z, interventions=["normal", "epidural"])
    ref = _fit(data.X, data.y, data.z, interventions=[2, 1])
    np.testing.assert_array_equal(learner.interventions_, ["normal", "epidural"])
    np.testing.assert_array_equal(
        learner.sample_interventional("epidural", 50, random_state=1),
        ref.sample_interventional(1, 50, random_state=1),
    )
    assert "K per intervention: 'normal': 2, 'epidural': 2" in learner.summary()
    idata = learner.to_inference_data(data.X[:3])
    assert idata.sample_stats["ess"].coords["intervention"].values.tolist() == [
        "normal",
        "epidural",
    ]
    assert idata.predictions["probability"].coords["class"].values.tolist() == WORDS.tolist()
    with pytest.raises(ValueError, match=r"value must name labels seen in fit.*\['caesarean'\]"):
        learner.sample_interventional("caesarean", 5)
    loaded = bm.load(learner.save(tmp_path / "words"))
    np.testing.assert_array_equal(loaded.predict(data.X), learner.predict(data.X))
    np.testing.assert_array_equal(loaded.interventions_, learner.interventions_)
    np.testing.assert_array_equal(
        loaded.sample_interventional("normal", 20, random_state=2),
        learner.sample_interventional("normal", 20, random_state=2),
    )


def test_cli_round_trips_word_labels(data, tmp_path, capsys):
    frame = pd.DataFrame(
        {
            "delivery": WORDS[data.y - 1],
            "z": data.z,
            "x0": data.X[:, 0],
            "x1": data.X[:, 1],
        }
    )
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame[["x0", "x1"]].to_csv(tmp_path / "x.csv", index=False)
    argv = ["fit", str(tmp_path / "train.csv"), "--cause", "delivery", "--mechanism", "z"]
    argv += ["--estimator", "logistic", "--n-draws", "3", "--out", str(tmp_path / "m")]
    assert main([*argv, "--no-progress"]) == 0
    assert main(["predict", str(tmp_path / "m"), str(tmp_path / "x.csv"), "--out",
                 str(tmp_path / "p.csv")]) == 0  # fmt: skip
    pred = pd.read_csv(tmp_path / "p.csv")
    assert list(pred.columns) == ["prediction", "proba_epidural", "proba_normal"]
    assert set(pred["prediction"]) == set(WORDS)
    learner = bm.load(tmp_path / "m")
    np.testing.assert_array_equal(pred["prediction"], learner.predict(data.X))
    assert (pred["prediction"] == frame["delivery"]).mean() > 0.7


def test_cli_refuses_missing_labels(tmp_path, capsys):
    frame = pd.DataFrame({"y": ["a", None, "b", "a"] * 10, "z": np.arange(40.0), "x": 1.0})
    frame.to_csv(tmp_path / "t.csv", index=False)
    argv = ["fit", str(tmp_path / "t.csv"), "--cause", "y", "--mechanism", "z"]
    assert main([*argv, "--estimator", "logistic", "--out", str(tmp_path / "m")]) == 2
    assert "cause column 'y' in t.csv has 10 missing label(s)" in capsys.readouterr().err


def test_encoding_round_trip_and_errors():
    labels = check_any_labels(np.array(["b", "a", "c", "a"], dtype=object))
    assert labels.dtype.kind == "U"  # all strings: stored as text, which npz keeps
    classes, codes = fit_encoding(labels)
    np.testing.assert_array_equal(classes, ["a", "b", "c"])
    np.testing.assert_array_equal(codes, [1, 0, 2, 0])
    np.testing.assert_array_equal(decode(codes, classes), labels)
    np.testing.assert_array_equal(encode([["c"], ["a"]], classes, "v"), [[2], [0]])
    assert fit_encoding(np.array([3, 1]))[0] is None  # numbers keep their values
    with pytest.raises(ValueError, match=r"v must name labels seen in fit \['a', 'b', 'c'\]"):
        encode(["a", "d"], classes, "v")
    with pytest.raises(ValueError, match="y must have a label in every row; got 1 missing"):
        check_any_labels(np.array(["a", np.nan], dtype=object))
    with pytest.raises(ValueError, match=r"y must be 1-D .* got shape \(2, 2\)"):
        check_any_labels(np.array([["a", "b"], ["c", "d"]]))

"""The command line: --version/--help, the quick demo, fit -> predict -> inspect, and its errors."""

import json
import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import bayes_mech as bm
from bayes_mech import __version__
from bayes_mech.cli import main
from bayes_mech.exceptions import FrontDoorWeightWarning
from bayes_mech.experiments import METHODS, TEST_SETS
from bayes_mech.io import load
from bayes_mech.learner import MechanismLearner


# ------------------------------------------------------------------------- version and help
def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"bayes-mech {__version__}"


def test_help_lists_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: bayes-mech" in out
    for command in ("demo", "fit", "predict", "inspect"):
        assert command in out


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "bayes_mech", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f"bayes-mech {__version__}"


def test_demo_help_lists_flags(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--quick", "--seeds", "--out", "--mnist-dir", "--no-progress", "--models-dir"):
        assert flag in out


# ------------------------------------------------------------------------------- quick demo
@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One `bayes-mech demo --quick` run shared by the checks below (it is the costly part)."""
    root = tmp_path_factory.mktemp("demo")
    out, models = root / "out", root / "out" / "models"
    # No --models-dir: the models land under --out, and nothing is written to the working
    # directory (in a clone that holds the committed example models).
    cwd = Path.cwd()
    os.chdir(root)
    try:
        code = main(["demo", "--quick", "--no-progress", "--out", str(out)])
    finally:
        os.chdir(cwd)
    assert not (root / "models").exists()
    return code, out, models


def _table_rows(text: str) -> tuple[list[str], dict[str, list[str]]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].split()[0]] = cells
    return header, rows


def test_quick_demo_writes_complete_table(quick_demo):
    code, out, _ = quick_demo
    assert code == 0
    header, rows = _table_rows((out / "table.md").read_text())
    for method in METHODS.values():
        for test_set in TEST_SETS.values():
            assert f"{method}: {test_set}" in header
    assert "ensemble uncertainty: non-conf" in header and "ensemble uncertainty: conf" in header
    assert set(rows) == {"A.1", "A.2", "A.2-full-range", "A.3"}
    for cells in rows.values():
        assert len(cells) == len(header)
        for cell in cells[1:]:
            ours = re.sub(r"\[.*?\]", "", cell)  # drop the paper's bracketed figures
            numbers = re.findall(r"-?\d+(?:\.\d+)?|nan|inf", ours)
            assert numbers, cell
            assert all(math.isfinite(float(n)) for n in numbers), cell
    # The paper's figures stand beside ours; A.3 has none to cite.
    assert "[78.2]" in rows["A.1"][1] and "[n/a]" in rows["A.3"][1]


def test_quick_demo_ensemble_beats_naive_on_a1(quick_demo):
    _, out, _ = quick_demo
    results = json.loads((out / "results.json").read_text())
    a1 = results["datasets"]["A.1"]["summary"]["metric"]
    assert a1["ensemble"]["nonconf"]["mean"] > a1["naive"]["nonconf"]["mean"]


def test_quick_demo_results_json_and_figures(quick_demo):
    _, out, _ = quick_demo
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["seeds"] == [0]
    assert {"bayes_mech", "torch", "scikit-learn"} <= set(results["versions"])
    assert results["timings_s"]["total"] > 0
    for key in ("A.1", "A.2", "A.2-full-range", "A.3"):
        seed0 = results["datasets"][key]["per_seed"][0]
        assert set(seed0["timings_s"]) == set(METHODS)
        assert seed0["weights"]["min_ess_fraction"] > 0
    names = {p.split("/")[-1] for p in results["figures"]}
    assert names == {
        "a1_decision_boundaries.png",
        "a2_regression.png",
        "a3_deconfounded_digits.png",
        "weight_diagnostics.png",
    }
    for name in names:
        assert (out / name).stat().st_size > 1000


def test_quick_demo_models_load_with_card(quick_demo):
    _, _, models = quick_demo
    d = bm.datasets.make_frontdoor_classification(50, confounded=False, random_state=3)
    learner = load(models / "a1-classification-ensemble")
    card = json.loads((models / "a1-classification-ensemble" / "model_card.json").read_text())
    assert card["format"] == "bayes-mech/model-card"
    assert card["columns"]["effect"] == ["x1", "x2"]
    assert {"bayes_mech", "torch"} <= set(card["versions"]) and card["created"]
    assert card["metrics"]["accuracy"]["nonconf"] > 50
    assert learner.predict(d.X).shape == (50,)


# ------------------------------------------------------------------ fit -> predict -> inspect
def _write_a1(path, n=600, seed=0):
    d = bm.datasets.make_frontdoor_classification(n, random_state=seed)
    pd.DataFrame({"x1": d.X[:, 0], "x2": d.X[:, 1], "y": d.y, "z": d.z}).to_csv(path, index=False)
    return d


def _python_api(estimator, d, **kwargs):
    learner = MechanismLearner(
        estimator, n_draws=3, n_components=2, random_state=0, progress=False, **kwargs
    )
    with warnings.catch_warnings():
        # Thin front-door weights are expected on A.1/A.2 and are not what this test checks.
        warnings.simplefilter("ignore", FrontDoorWeightWarning)
        return learner.fit(d.X, d.y, d.z)


FIT = ["--n-draws", "3", "--n-components", "2", "--random-state", "0", "--no-progress"]


def test_fit_predict_inspect_round_trip_classification(tmp_path, capsys):
    d = _write_a1(tmp_path / "a1.csv")
    model = tmp_path / "models" / "a1"
    argv = ["fit", str(tmp_path / "a1.csv"), "--cause", "y", "--mechanism", "z"]
    assert main([*argv, "--estimator", "logistic", *FIT, "--out", str(model)]) == 0
    assert (model / "model_card.json").is_file()
    argv = ["predict", str(model), str(tmp_path / "a1.csv"), "--out", str(tmp_path / "p.csv")]
    assert main(argv) == 0
    pred = pd.read_csv(tmp_path / "p.csv")
    assert list(pred.columns) == ["prediction", "proba_1", "proba_2"]

    api = _python_api(LogisticRegression(max_iter=1000), d)
    np.testing.assert_array_equal(pred["prediction"].to_numpy(), api.predict(d.X))
    np.testing.assert_allclose(pred[["proba_1", "proba_2"]].to_numpy(), api.predict_proba(d.X))

    capsys.readouterr()
    assert main(["inspect", str(model)]) == 0
    out = capsys.readouterr().out
    assert "N = 600" in out and "S = 3 draws" in out and "K per " in out
    assert "resampler = " in out
    assert "ESS/N" in out and "k-hat" in out
    assert "mean" in out and "hdi_" in out  # arviz.summary of the mechanism posterior


def test_fit_predict_round_trip_regression(tmp_path):
    d = bm.datasets.make_frontdoor_regression(500, random_state=1)
    pd.DataFrame({"x": d.X[:, 0], "z": d.z, "y": d.y}).to_csv(tmp_path / "a2.csv", index=False)
    model = tmp_path / "a2"
    argv = ["fit", str(tmp_path / "a2.csv"), "--cause", "y", "--mechanism", "z"]
    assert main([*argv, "--estimator", "linear", *FIT, "--out", str(model)]) == 0
    argv = ["predict", str(model), str(tmp_path / "a2.csv"), "--out", str(tmp_path / "p.csv")]
    assert main(argv) == 0
    pred = pd.read_csv(tmp_path / "p.csv")
    assert list(pred.columns) == ["prediction", "sd", "lower_90", "upper_90"]
    api = _python_api(LinearRegression(), d)
    np.testing.assert_allclose(pred["prediction"], api.predict(d.X))
    np.testing.assert_allclose(pred[["lower_90", "upper_90"]], api.predict_interval(d.X, 0.1))
    assert (pred["sd"] > 0).all()


@pytest.mark.parametrize("criterion", ["bic", "aic", "bic_eff", "cv", "dp"])
def test_fit_every_n_components_criterion(tmp_path, criterion):
    _write_a1(tmp_path / "a1.csv", n=400)
    model = tmp_path / "m"
    argv = ["fit", str(tmp_path / "a1.csv"), "--cause", "y", "--mechanism", "z"]
    fit = ["--n-draws", "2", "--n-components", criterion, "--random-state", "0", "--no-progress"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrontDoorWeightWarning)
        assert main([*argv, "--estimator", "logistic", *fit, "--out", str(model)]) == 0
    ks = np.asarray(bm.load(model).n_components_)
    assert ks.size >= 1 and ks.min() >= 1 and ks.max() <= 10


# ------------------------------------------------------------------------------------ errors
def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err  # one line, no traceback
    return err


def test_fit_missing_column_lists_available(tmp_path, capsys):
    _write_a1(tmp_path / "a1.csv", n=50)
    argv = ["fit", str(tmp_path / "a1.csv"), "--cause", "label", "--mechanism", "z"]
    err = _error(capsys, [*argv, "--estimator", "logistic", "--out", str(tmp_path / "m")])
    assert "'label' not in a1.csv" in err and "available columns: x1, x2, y, z" in err


def test_fit_non_numeric_column_is_named(tmp_path, capsys):
    frame = pd.DataFrame({"x1": ["a", "b", "c"], "y": [1, 2, 1], "z": [0.1, 0.2, 0.3]})
    frame.to_csv(tmp_path / "bad.csv", index=False)
    argv = ["fit", str(tmp_path / "bad.csv"), "--cause", "y", "--mechanism", "z"]
    err = _error(capsys, [*argv, "--estimator", "logistic", "--out", str(tmp_path / "m")])
    assert "effect column 'x1'" in err and "not numeric" in err and "'a'" in err


def test_fit_wrong_estimator_for_continuous_cause(tmp_path, capsys):
    frame = pd.DataFrame({"x": [0.1, 0.5, 0.9, 1.3], "y": [0.3, 1.7, 2.2, 0.8], "z": [1.0] * 4})
    frame.to_csv(tmp_path / "r.csv", index=False)
    argv = ["fit", str(tmp_path / "r.csv"), "--cause", "y", "--mechanism", "z"]
    err = _error(capsys, [*argv, "--estimator", "logistic", "--out", str(tmp_path / "m")])
    assert "--estimator logistic cannot model a continuous cause" in err


def test_missing_data_file(tmp_path, capsys):
    argv = ["fit", str(tmp_path / "nope.csv"), "--cause", "y", "--mechanism", "z"]
    err = _error(capsys, [*argv, "--estimator", "logistic", "--out", str(tmp_path / "m")])
    assert "does not exist" in err


def test_parquet_without_pyarrow_says_so(tmp_path, capsys):
    pytest.importorskip("pandas")
    try:
        import pyarrow  # noqa: F401

        pytest.skip("pyarrow is installed; the error path cannot be reached")
    except ImportError:
        pass
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    argv = ["fit", str(tmp_path / "d.parquet"), "--cause", "y", "--mechanism", "z"]
    err = _error(capsys, [*argv, "--estimator", "logistic", "--out", str(tmp_path / "m")])
    assert "needs pyarrow" in err


@pytest.mark.parametrize("command", ["predict", "inspect"])
def test_model_directory_that_is_not_ours(tmp_path, capsys, command):
    (tmp_path / "notes.txt").write_text("hello")
    argv = [command, str(tmp_path)]
    if command == "predict":
        _write_a1(tmp_path / "a1.csv", n=20)
        argv += [str(tmp_path / "a1.csv"), "--out", str(tmp_path / "p.csv")]
    err = _error(capsys, argv)
    assert "is not a saved bayes-mech model" in err


def test_missing_model_directory(tmp_path, capsys):
    err = _error(capsys, ["inspect", str(tmp_path / "absent")])
    assert "does not exist" in err


def test_demo_mnist_dir_without_files(tmp_path, capsys):
    err = _error(capsys, ["demo", "--quick", "--mnist-dir", str(tmp_path)])
    assert "train-images-idx3-ubyte" in err

"""The Table-1 experiment pieces: configuration, one repetition, the table, MNIST discovery."""

import gzip
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits

from bayes_mech.experiments import (
    METHODS,
    PAPER_TABLE1,
    TEST_SETS,
    _tasks,
    demo_config,
    find_mnist,
    format_table,
    run_task,
)

TINY = demo_config(quick=True, n_train=500, n_test=200, n_train_digits=300, n_draws=2)


def test_quick_config_is_small_and_full_config_matches_paper_sizes():
    quick, full = demo_config(quick=True), demo_config()
    assert quick.seeds == (0,) and quick.n_train <= 1000 and quick.n_draws <= 4
    assert full.n_train == 5000 and full.n_test == 1000 and len(full.seeds) == 5
    assert demo_config(n_seeds=3).seeds == (0, 1, 2)
    with pytest.raises(ValueError, match="n_seeds must be >= 1"):
        demo_config(n_seeds=0)


def test_paper_figures_are_the_published_ones():
    # Mao & Little (2024) Table 1; A.3 deliberately empty (no figure we can cite).
    assert PAPER_TABLE1["A.1"]["naive"] == {"nonconf": 78.2, "conf": 85.3}
    assert PAPER_TABLE1["A.2"]["cwgmm"] == {"nonconf": 0.658, "conf": 2.649}
    assert PAPER_TABLE1["A.3"] == {}


def test_run_task_a1_records_every_method_and_uncertainty():
    task = _tasks(TINY)["A.1"]
    record, fitted = run_task(task, TINY, seed=1)
    assert set(record["metric"]) == set(METHODS)
    for method in METHODS:
        for test_set in TEST_SETS:
            assert 0.0 <= record["metric"][method][test_set] <= 100.0
    unc = record["uncertainty"]["nonconf"]
    assert unc["mean_entropy"] >= 0 and unc["mean_entropy"] <= math.log(2) + 1e-12
    # Deconfounding turns the SVM towards the causal feature x1 (angle 0 deg).
    angles = record["linear"]
    assert angles["ensemble"]["boundary_angle_deg"] < angles["naive"]["boundary_angle_deg"]
    # The expected thin-weight warnings are recorded, not raised.
    assert all(isinstance(w, str) for w in record["weight_warnings"])
    assert len(fitted["ensemble"].estimators_) == TINY.n_draws


def test_run_task_a2_reports_interval_width_and_coverage():
    task = _tasks(TINY)["A.2"]
    record, _ = run_task(task, TINY, seed=0)
    for test_set in TEST_SETS:
        unc = record["uncertainty"][test_set]
        assert unc["mean_interval_width"] > 0 and 0.0 <= unc["coverage"] <= 1.0
        assert record["metric"]["naive"][test_set] > 0
    assert {"slope", "intercept"} <= set(record["linear"]["naive"])


def _write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_mnist_dir_is_found_and_used_for_a3(tmp_path):
    digits = load_digits()
    keep = np.isin(digits.target, (2, 6))
    images = (digits.images[keep] * 15).astype(np.uint8)  # 0..240, like MNIST's 0..255
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", digits.target[keep])
    assert [p.name for p in find_mnist(tmp_path)] == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    task = _tasks(TINY, mnist_dir=tmp_path)["A.3"]
    assert "MNIST" in task.data_note
    record, fitted = run_task(task, TINY, seed=0)
    assert fitted["train"].X.max() > 16  # MNIST-scale pixels, not the 8x8 digits' 0..16
    assert record["metric"]["ensemble"]["nonconf"] > 50


def test_find_mnist_errors(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        find_mnist(tmp_path / "absent")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        find_mnist(tmp_path)


def _fake_results(n_seeds: int) -> dict:
    def stat(mean):
        return {"mean": mean, "sd": 0.5 if n_seeds > 1 else None, "n": n_seeds}

    datasets = {}
    for key, kind in (("A.1", "classification"), ("A.2", "regression"), ("A.3", "classification")):
        metric = {m: {t: stat(80.0 + i) for t in TEST_SETS} for i, m in enumerate(METHODS)}
        if kind == "classification":
            unc = {t: {"mean_entropy": stat(0.2)} for t in TEST_SETS}
        else:
            unc = {t: {"mean_interval_width": stat(3.0), "coverage": stat(0.9)} for t in TEST_SETS}
        datasets[key] = {
            "title": key.lower(),
            "kind": kind,
            "summary": {"metric": metric, "uncertainty": unc},
        }
    return {
        "datasets": datasets,
        "config": {
            "seeds": list(range(n_seeds)),
            "n_train": 5000,
            "n_train_digits": 2000,
            "n_test": 1000,
            "n_draws": 16,
        },
        "created": "2026-01-01T00:00:00+00:00",
        "machine": {"summary": "test machine"},
        "timings_s": {"total": 12.0},
    }


def test_format_table_layout():
    text = format_table(_fake_results(3))
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) == 2 + 3
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    assert "80.0 ± 0.5 [78.2]" in lines[2]  # ours, sd, then the paper's figure
    assert "[n/a]" in lines[4] and "[78.2]" not in lines[4]
    assert "width 3.00, cov. 90 %" in lines[3]
    assert "Mean ± sd over 3 seed(s)" in text


def test_format_table_single_seed_has_no_sd():
    text = format_table(_fake_results(1))
    assert "±" not in text.split("\n\n")[0].replace("Mean ± sd", "")


def test_machine_record_names_cpu_flags_blas_and_threads(monkeypatch):
    from bayes_mech.experiments import _machine
    from bayes_mech.experiments._provenance import SIMD_FLAGS

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    info = _machine()
    assert set(info["cpu_flags"]) <= set(SIMD_FLAGS)
    # numpy links a BLAS; its entry names the implementation and its thread count.
    blas = [lib for lib in info["blas"] if lib["user_api"] == "blas"]
    assert blas and all(isinstance(lib["num_threads"], int) for lib in blas)
    assert all(lib["internal_api"] in ("openblas", "mkl", "blis", "flexiblas") for lib in blas)
    assert info["thread_env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert (
        info["thread_env"]["MKL_NUM_THREADS"] is None
        or "MKL_NUM_THREADS" in __import__("os").environ
    )

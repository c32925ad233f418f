"""The calibration harness's short form, as CI runs it (benchmarks/bench_calibration.py --quick)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_calibration", ROOT / "benchmarks" / "bench_calibration.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick(bench):
    import os

    import torch

    threads = torch.get_num_threads()
    env = {
        k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    try:
        return bench.main(["--quick", "--threads", "1"])
    finally:  # the harness sets threads for its own process; leave the test session as it was
        torch.set_num_threads(threads)
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_quick_run_measures_every_cell(quick):
    cfg = quick["config"]
    assert len(quick["records"]) == (
        len(cfg["settings"]) * len(cfg["sizes"]) * len(cfg["resamplers"]) * cfg["reps"]
    )
    assert len(quick["summary"]) == len(cfg["settings"]) * len(cfg["sizes"]) * len(
        cfg["resamplers"]
    )
    for rec in quick["records"]:
        assert 0.0 <= rec["band"] <= 1.0
        assert rec["member_sd"] > 0 and rec["mc_var"] >= 0
        assert rec["ran"] in ("cwgmm", "gformula", "bootstrap")
    for row in quick["summary"]:
        assert 0.0 <= row["mc_share"] <= 2.0  # a ratio of two estimates; 1 is all noise


def test_estimand_is_the_interventional_regression(bench, quick):
    """A.2's estimand from poutine.do rows matches its closed form (tests/test_resamplers_...)."""
    for rec in quick["records"]:
        if rec["setting"] != "A.2-b1.5":
            continue
        # The learner's grid is the central 95 % of its y; recompute it from the seed's data.
        _, y, _ = bench._draw("A.2-b1.5", rec["N"], 1000 * rec["rep"] + rec["N"] % 997)
        lo, hi = np.quantile(y, [0.025, 0.975])
        grid_var = np.var(np.linspace(lo, hi, 20))
        closed = 1.5 * grid_var / (2.25 * grid_var + 27.0)
        assert abs(rec["estimand_slope"] - closed) < 0.01, (rec["estimand_slope"], closed)


def test_accuracy_fields_and_targets(bench, quick):
    a1 = [r for r in quick["records"] if r["setting"] == "A.1"]
    assert a1 and all(80.0 < r["estimand_accuracy"] < 90.0 for r in a1)
    names = [name for name, _, _ in bench.targets(quick)]
    assert any("slope within" in n for n in names) and len(names) >= 10


def test_render_round_trip(bench, quick, tmp_path):
    out = tmp_path / "calibration.md"
    (tmp_path / "calibration.json").write_text(json.dumps(quick))
    bench.main(["--render", "--out", str(out)])
    text = out.read_text()
    assert "| A.1 | 400 | cwgmm (cwgmm) |" in text and "## Targets" in text
    assert (tmp_path / "calibration.png").stat().st_size > 1000


def test_band_nominal_is_the_exchangeable_coverage(bench):
    # Without interpolation S + 1 exchangeable values put the estimand between the i-th and
    # j-th of S members with probability (j - i) / (S + 1); the interpolated quantiles sit at
    # positions 1 + 0.05 (S - 1) and 1 + 0.95 (S - 1), so the simulated value is close to
    # 0.9 (S - 1) / (S + 1) and far below 0.90 for the harness's S.
    for S in (8, 32, 64):
        formula = 0.9 * (S - 1) / (S + 1)
        assert abs(bench.band_nominal(S) - formula) < 0.025, (S, bench.band_nominal(S))
    assert 0.84 < bench.band_nominal(32) < 0.86


def test_spread_skill_and_rank_histogram(bench, quick):
    S = quick["config"]["S"]
    for rec in quick["records"]:
        assert len(rec["rank_hist"]) == S + 1
        assert sum(rec["rank_hist"]) == quick["config"]["points"]
    for row in quick["summary"]:
        recs = [
            r
            for r in quick["records"]
            if (r["setting"], r["N"], r["resampler"])
            == (row["setting"], row["N"], row["resampler"])
        ]
        mse = np.mean([r["sq_error"] for r in recs])
        var = np.mean([r["member_var"] for r in recs])
        assert row["spread_skill"] == pytest.approx(np.sqrt(mse / var / (1 + 1 / S)))
        assert row["band_nominal"] == pytest.approx(bench.band_nominal(S))


def test_spread_skill_is_one_for_exchangeable_members(bench):
    # The summary's arithmetic on records whose estimand is drawn like the members.
    rng = np.random.default_rng(3)
    S, points, records = 16, 400, []
    for rep in range(40):
        members = rng.normal(size=(S, points))
        truth = rng.normal(size=points)
        records.append(
            {
                "setting": "A.1", "N": 100, "resampler": "cwgmm", "rep": rep, "ran": "cwgmm",
                "reason": "", "fit_s": 0.0, "band": 0.0, "member_sd": 1.0, "abs_error": 0.0,
                "member_var": float(members.var(axis=0, ddof=1).mean()),
                "sq_error": float(np.mean((members.mean(axis=0) - truth) ** 2)),
                "rank_hist": np.bincount((members < truth).sum(0), minlength=S + 1).tolist(),
            }
        )  # fmt: skip
    (row,) = bench.summarise(records)
    assert abs(row["spread_skill"] - 1.0) < 0.03
    hist = np.asarray(row["rank_hist"]) / (40 * points)
    assert np.all(np.abs(hist - 1 / (S + 1)) < 0.01)


def test_another_selection_runs_end_to_end_and_is_reported(bench):
    """--n-components / --covariance-type reach the learner and the report's header; "auto"
    there is all four structures in any dimension (the learner's list form)."""
    learner = bench._learner("A.1", "cwgmm", 4, 0, True, ("bic_eff", "auto"))
    params = learner.get_params()
    assert (params["n_components"], params["covariance_type"], params["partial_pooling"]) == (
        "bic_eff",
        ["full", "tied", "diag", "spherical"],
        True,
    )
    points = bench._draw("A.1", 20, 777_777, confounded=False)[0]
    rec = bench.run_one("A.1", 400, "cwgmm", 0, 4, points, 5000, {}, mc=False, pooling=True,
                        selection=("bic_eff", "auto"))  # fmt: skip
    assert rec["ran"] == "cwgmm" and 0.0 <= rec["band"] <= 1.0
    config = {"S": 4, "points": 20, "estimand_rows": 5000, "partial_pooling": True,
              "n_components": "bic_eff", "covariance_type": "auto", "settings": ["A.1"],
              "sizes": [400], "resamplers": ["cwgmm"], "reps": 1, "mc": False}  # fmt: skip
    result = {"command": "c", "date": "d", "machine": {"summary": "m", "load_average": [0.1]},
              "config": config, "records": [rec], "run_time_s": 1.0}  # fmt: skip
    result["summary"] = bench.summarise(result["records"])
    result["contraction"] = bench.contraction(result["summary"])
    text = bench.format_md(result)
    assert (
        "every learner with partial_pooling=True; every learner with n_components='bic_eff', "
        "covariance_type='auto'." in text
    )

"""benchmarks/bench_time_ratio.py: the ratios, and a run against a baseline checkout."""

from pathlib import Path

from conftest import load_bench

ROOT = Path(__file__).resolve().parents[1]


def _rec(setting, seed, fit_s):
    return {"dataset": "A.1", "setting": setting, "seed": seed, "fit_s": fit_s, "accuracy": 0.85}


def test_ratios_are_of_medians_and_per_seed():
    bench, _ = load_bench("time_ratio")
    records = [_rec("baseline", s, t) for s, t in ((1, 1.0), (2, 2.0), (3, 4.0))]
    records += [_rec("default", s, t) for s, t in ((1, 3.0), (2, 3.0), (3, 4.0))]
    entry = bench.summarise(records, ["baseline", "default"])["A.1"]
    assert entry["baseline"]["median_s"] == 2.0 and entry["default"]["median_s"] == 3.0
    assert entry["default"]["ratio_of_medians"] == 1.5
    assert entry["default"]["median_ratio"] == 1.5  # per seed: 3, 1.5, 1
    assert entry["baseline"]["ratio_of_medians"] == 1.0


def test_quick_run_against_a_baseline_checkout():
    """The baseline runs in its own process with the checkout first on the path (here this
    checkout itself, so both settings run the same code)."""
    bench, _ = load_bench("time_ratio")
    result = bench.main(["--quick", "--baseline", str(ROOT), "--settings", "default"])
    assert [r["setting"] for r in result["records"]] == ["baseline", "default"]
    assert all(r["fit_s"] > 0 and 0.5 < r["accuracy"] <= 1 for r in result["records"])
    entry = result["summary"]["A.1"]["default"]
    base = result["summary"]["A.1"]["baseline"]["median_s"]
    assert abs(entry["ratio_of_medians"] - entry["median_s"] / base) < 1e-12
    assert result["records"][0]["accuracy"] == result["records"][1]["accuracy"]  # same code, seed

"""benchmarks/bench_fit_time.py: its quick form runs and its report agrees with its records."""

import pytest
from conftest import load_bench


@pytest.fixture(scope="module")
def quick_run():
    bench, _ = load_bench("fit_time")
    return bench, bench.main(["--quick"])


def test_quick_run_times_every_stage(quick_run):
    bench, result = quick_run
    records = result["records"]
    assert [r["seed"] for r in records] == [0, 1]
    for rec in records:
        assert set(rec["stages_s"]) >= {"mechanism", "weights", "ensemble"}
        assert 0 < sum(rec["stages_s"].values()) <= rec["wall_s"]
        assert 0 < rec["reference_s"] < rec["wall_s"]
        assert rec["resampler"] in ("cwgmm", "gformula") and len(rec["k"]) == 2
    s = result["summary"]
    assert s["min_s"] <= s["median_s"] <= s["max_s"]
    refs = sorted(r["reference_s"] for r in records)
    assert s["reference_median_s"] == pytest.approx((refs[0] + refs[-1]) / 2)
    assert s["met"] == (s["median_s"] <= bench.TARGET_S)
    text = bench.format_md(result)
    verdict = "met" if s["met"] else "MISSED"
    assert f"- {verdict}: median wall time {s['median_s']:.2f} s" in text
    assert text.count("\n| ") == len(records) + 2  # header, one row per seed, the median

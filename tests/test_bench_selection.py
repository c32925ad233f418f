"""benchmarks/bench_selection.py: merging runs."""

import json

from conftest import load_bench


def _record(dataset, setting, seed, accuracy):
    return {"dataset": dataset, "setting": setting, "seed": seed, "accuracy": accuracy,
            "fit_s": 1.0, "k": [4, 4], "k_draws": [], "structure": ["diag", "diag"],
            "true_k_only": False}  # fmt: skip


def _part(records, automatic, command):
    return {"command": command, "date": "2026-12-02", "run_time_s": 10.0, "records": records,
            "machine": {"summary": "cpu", "load_average": [0.5]},
            "config": {"S": 8, "automatic": automatic, "datasets": ["synth-32"]}}  # fmt: skip


def test_merge_replaces_an_earlier_runs_records_of_the_same_setting(tmp_path):
    bench, _ = load_bench("selection")
    old = _part(
        [_record("synth-32", "bic/auto", s, 0.70) for s in range(2)]
        + [_record("synth-32", "K=4/diag", s, 0.80) for s in range(2)],
        ["bic/auto"],
        "old",
    )
    new = _part([_record("synth-32", "bic/auto", s, 0.79) for s in range(2)], ["bic/auto"], "new")
    paths = []
    for name, part in (("old", old), ("new", new)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(part))
    out = tmp_path / "merged.md"
    result = bench.main(["--merge", *map(str, paths), "--out", str(out)])
    kept = [(r["setting"], r["accuracy"]) for r in result["records"]]
    assert kept == [("K=4/diag", 0.80)] * 2 + [("bic/auto", 0.79)] * 2
    entry = result["summary"]["synth-32"]
    assert entry["settings"]["bic/auto"]["seeds"] == 2
    assert abs(entry["gap_bic/auto"] - (0.79 - 0.80)) < 1e-12
    assert "| synth-32 | bic/auto | 79.00 | -1.00 |" in out.read_text()


def test_rule_check_counts_the_later_draws_outside_the_rule():
    """--rule-check --quick: two fits per seed (every draw scanning everything, then the rule);
    the counts are of the later draws only, and 'either' lies between its parts and their sum."""
    bench, _ = load_bench("selection")
    result = bench.main(["--rule-check", "--quick", "--threads", "1"])
    from bayes_mech.resamplers.cwgmm import STRUCTURE_DRAWS

    (rec,) = result["records"]
    assert result["config"]["S"] == STRUCTURE_DRAWS + 2
    assert rec["later"] == 2 * 2  # two later draws x two classes
    assert max(rec["outside_structure"], rec["outside_k"]) <= rec["outside"]
    assert rec["outside"] <= min(rec["later"], rec["outside_structure"] + rec["outside_k"])
    assert 0.5 < rec["accuracy_full"] <= 1 and 0.5 < rec["accuracy_rule"] <= 1
    assert len(rec["k_draws_full"]) == STRUCTURE_DRAWS + 2

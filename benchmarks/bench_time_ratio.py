"""Fit time of learner settings against an earlier revision's default, run interleaved.

    git worktree add /tmp/filed 76fd026   # the revision to compare with (here: before #15's work)
    python benchmarks/bench_time_ratio.py --baseline /tmp/filed    # results/time_ratio.md
    python benchmarks/bench_time_ratio.py --quick                  # tiny; prints only

Issue #15 asks that the default learner's fit take at most twice as long as the default's did
when the issue was filed, on the paper's A.1 (N = 5,000, ``LogisticRegression``) and on the 8x8
background digits (N = 1,400, ``KNeighborsClassifier``, raw 64 pixels). This machine's speed
drifts (about 2x between runs hours apart), so times from different runs cannot be divided:
every seed here times each setting back to back, each in its own process (``--baseline``'s in
one whose ``PYTHONPATH`` puts that checkout first), after an untimed warm-up fit in that
process. Reported per data set: the median fit time over seeds of each setting, its ratio to
the baseline's median, and the median of the per-seed ratios (paired: each seed's settings ran
minutes apart), which the target is judged by.

Settings (``--settings``): ``baseline`` (the default learner of the ``--baseline`` checkout),
``default`` (this checkout's default), and any of :data:`SETTINGS`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Learner options of the settings other than the defaults.
#: ``/scan``: the structure chosen among all four in any dimension (the learner's list form;
#: its ``"auto"`` is full where the BIC identifies K > 1).
SETTINGS = {
    "default": {},
    "bic/full": {"n_components": "bic", "covariance_type": "full", "partial_pooling": False},
    "bic_eff/scan+pooling": {
        "n_components": "bic_eff",
        "covariance_type": ["full", "tied", "diag", "spherical"],
        "partial_pooling": True,
    },
}
DATASETS = ("A.1", "digits-raw")
#: Issue #15's target: at most this multiple of the filing-time default's fit time.
TARGET_RATIO = 2.0


def time_fit(dataset: str, seed: int, options: dict, n_draws: int) -> dict:
    """One fit after a warm-up on the first 500 rows, in this process: seconds and accuracy."""
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    sys.path.insert(0, str(HERE))
    from bench_selection import load

    import bayes_mech as bm

    (X, y, z), (Xt, yt), estimator, _ = load(dataset, seed)
    kwargs = {"progress": False, "random_state": seed, "n_draws": n_draws, **options}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # A.1 warns by design (README quick start)
        bm.MechanismLearner(estimator, **{**kwargs, "n_draws": 4}).fit(X[:500], y[:500], z[:500])
        start = time.perf_counter()
        learner = bm.MechanismLearner(estimator, **kwargs).fit(X, y, z)
        seconds = time.perf_counter() - start
    return {"fit_s": seconds, "accuracy": float(learner.score(Xt, yt))}


def run_in_process(dataset, seed, setting, n_draws, threads, baseline=None) -> dict:
    """:func:`time_fit` in a fresh interpreter (the baseline's with its checkout first)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if setting == "baseline":
        env["PYTHONPATH"] = os.pathsep.join([str(baseline), env.get("PYTHONPATH", "")])
    options = {} if setting == "baseline" else SETTINGS[setting]
    arg = json.dumps([dataset, seed, options, n_draws])
    out = subprocess.run(
        [sys.executable, __file__, "--worker", arg],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(records: list[dict], settings: list[str]) -> dict:
    out = {}
    for name in dict.fromkeys(r["dataset"] for r in records):
        rs = [r for r in records if r["dataset"] == name]
        seeds = sorted({r["seed"] for r in rs})
        by = {(r["setting"], r["seed"]): r for r in rs}
        entry = {}
        for setting in settings:
            times = [by[setting, s]["fit_s"] for s in seeds]
            entry[setting] = {
                "median_s": statistics.median(times),
                "accuracy": statistics.mean(by[setting, s]["accuracy"] for s in seeds),
            }
            if "baseline" in settings:  # settings list it first, so its entry exists
                base = entry["baseline"]["median_s"]
                ratios = [by[setting, s]["fit_s"] / by["baseline", s]["fit_s"] for s in seeds]
                entry[setting]["ratio_of_medians"] = entry[setting]["median_s"] / base
                entry[setting]["median_ratio"] = statistics.median(ratios)
        out[name] = entry
    return out


def format_md(result: dict) -> str:
    cfg, m = result["config"], result["machine"]
    lines = [
        "# Fit time against an earlier revision's default",
        "",
        f"Command: `{result['command']}`; date {result['date']}; {m['summary']}; "
        f"{cfg['threads']} thread(s) per fit; load {m['load_average']}; run time "
        f"{result['run_time_s']:.0f} s; S = {cfg['n_draws']} draws; {cfg['seeds']} seeds; "
        f"baseline: {cfg['baseline_desc']}.",
        "",
        "Every seed fits each setting back to back, each in a fresh process after a warm-up fit; "
        "fit time excludes scoring. Ratio: to the baseline's median; 'median ratio': the median "
        "of the per-seed ratios.",
        "",
        "| data set | setting | fit s (median) | ratio to baseline | median ratio | accuracy % |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in result["summary"].items():
        for setting, e in entry.items():
            ratio = e.get("ratio_of_medians", float("nan"))
            median_ratio = e.get("median_ratio", float("nan"))
            lines.append(
                f"| {name} | {setting} | {e['median_s']:.2f} | {ratio:.2f} | "
                f"{median_ratio:.2f} | {100 * e['accuracy']:.2f} |"
            )
    if "baseline" in cfg["settings"]:
        lines += ["", f"Issue #15's target: at most {TARGET_RATIO:.0f}x the baseline:", ""]
        for name, entry in result["summary"].items():
            for setting, e in entry.items():
                if setting == "baseline":
                    continue
                met = e["median_ratio"] <= TARGET_RATIO
                lines.append(
                    f"- {name}, {setting}: {e['median_ratio']:.2f}x, the median of the per-seed "
                    f"ratios ({'met' if met else 'MISSED'})"
                )
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 seed, S = 4, A.1 only; printed only")
    p.add_argument("--baseline", type=Path, help="a checkout of the revision to compare with")
    p.add_argument("--baseline-desc", default="", help="what the baseline checkout is")
    p.add_argument("--settings", default="default")
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--draws", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=HERE / "results" / "time_ratio.md")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.worker:
        dataset, seed, options, n_draws = json.loads(args.worker)
        print(json.dumps(time_fit(dataset, seed, options, n_draws)))
        return {}
    from bayes_mech.experiments import run_record, write_results

    settings = (["baseline"] if args.baseline else []) + args.settings.split(",")
    for name in settings:
        if name != "baseline" and name not in SETTINGS:
            raise SystemExit(f"--settings: unknown {name!r}; choose from {list(SETTINGS)}")
    q = args.quick
    cfg = {
        "datasets": ["A.1"] if q else args.datasets.split(","),
        "seeds": 1 if q else args.seeds,
        "n_draws": 4 if q else args.draws,
        "threads": args.threads,
        "settings": settings,
        "baseline_desc": args.baseline_desc or str(args.baseline),
    }
    result = run_record(cfg, sys.argv if argv is None else ["bench_time_ratio.py", *argv])
    start = time.perf_counter()
    for name in cfg["datasets"]:
        for seed in range(1, cfg["seeds"] + 1):
            for setting in settings:
                rec = run_in_process(
                    name, seed, setting, cfg["n_draws"], cfg["threads"], args.baseline
                )
                rec.update(dataset=name, seed=seed, setting=setting)
                result["records"].append(rec)
                print(
                    f"[{time.perf_counter() - start:5.0f} s] {name} seed {seed} {setting}: "
                    f"{rec['fit_s']:.2f} s, {100 * rec['accuracy']:.2f} %",
                    flush=True,
                )
    result["run_time_s"] = time.perf_counter() - start
    result["summary"] = summarise(result["records"], settings)
    text = format_md(result)
    print(text)
    if not q:
        write_results(result, text, args.out)
    return result


if __name__ == "__main__":
    main()

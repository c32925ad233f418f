"""Whole-pipeline wall time: bayes-mech (point and Bayesian) against mechanism-learn, in one run.

Data: the paper's Appendix A.1 front-door classification data (N = 5,000 confounded rows by
default), estimator ``SVC(kernel="linear", C=5)``. Pipelines, all on the same data in the same
process:

* ``mechanism-learn``: the paper's reference implementation (PyPI ``mechanism-learn``):
  histogram densities, front-door weights, one CW-GMM per intervention, N/M samples per
  intervention, one SVM;
* ``ours S=1``: :class:`~bayes_mech.MechanismLearner` with ``n_draws=1`` (the paper's point CW-GMM);
* ``ours S=32``: the Bayesian ensemble (32 posterior draws, Bayesian bootstrap, 32 SVMs), with one
  and with two joblib workers;
* ``ours S=32, n_samples=N/S``: the ensemble with the point pipeline's total number of deconfounded
  training rows (each member trains on N/S rows), the way to buy the ensemble at the SVM cost of
  one point fit.

K: the CW-GMMs of every pipeline use the same K per intervention, chosen once by our weighted BIC
on this data (an untimed warm-up fit); ``ours ... K=bic`` rows also time that selection.
mechanism-learn keeps its own EM defaults (``tol=1e-4``, ``max_iter=1000``), we ours
(``tol=1e-3``).

Stages are mapped onto common columns (mechanism-learn's density estimation is its ``p(z|y)``
stage; its weights stage is its constructor; its CW-GMM column is ``cwgmm_fit`` +
``cwgmm_resample``). Every configuration is repeated (round robin, so that load changes hit all
alike) up to ``--repeats`` times while its time stays under ``--budget`` seconds; the table
shows the minimum total and the stages of that fastest repeat. The 1-minute load average is
recorded before every measurement: the machine is shared, so read the ``load`` column too.

Usage::

    python benchmarks/bench_pipeline.py           # writes benchmarks/results/pipeline.{md,json}
    python benchmarks/bench_pipeline.py --quick   # N = 1,000, S = 8, one repeat; prints only
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("p(z|y)", "weights", "K selection", "CW-GMM fit+sample", "estimator(s)")


def notes(result: dict) -> str:
    """What the table says against the target, computed from this run's rows."""
    rows = result["rows"]
    names = list(rows)
    peer = rows[names[0]]

    def find(*words, exclude="\0"):
        return next((n for n in names if all(w in n for w in words) and exclude not in n), None)

    def cpu_ratio(name):
        return rows[name]["cpu_s_of_min"] / peer["cpu_s_of_min"]

    loads = [load for row in rows.values() for load in row["load1_all"]]
    out = [
        f"**Load.** 1-minute load average {min(loads):.1f}-{max(loads):.1f} before the repeats "
        f"({result['machine']['cpu_count']} cores). CPU time of the process is the comparison to "
        "trust when the load exceeds the core count; the table shows both.",
        "",
    ]
    full = find("S=32", "n_jobs=1", exclude="N/S")
    thin, point = find("n_samples=N/S"), find("S=1 (point)")
    if full:
        r = rows[full]
        est = r["stages_of_min"]["estimator(s)"] / r["min_total_s"]
        verdict = "met" if cpu_ratio(full) <= 1.0 else f"missed, by {cpu_ratio(full):.1f}x"
        out += [
            "**Target (S=32 no slower than mechanism-learn's point pipeline)**, with every member "
            f"trained on all N deconfounded rows: {verdict} in CPU time "
            f"({r['ratio_total']:.1f}x wall); {est:.0%} of it is the estimator stage "
            f"({result['config']['S']} estimators against the peer's one). Without the estimator "
            f"stage it costs {r['ratio_without_estimator']:.2f}x the peer's wall time.",
            "",
        ]
    if thin:
        r = rows[thin]
        verdict = "meets" if cpu_ratio(thin) <= 1.0 else "misses"
        out += [
            f"**With `n_samples=N/S`** (the same number of deconfounded training rows in all as "
            f"the point pipeline) the ensemble costs {cpu_ratio(thin):.2f}x the peer's CPU time "
            f"({r['ratio_total']:.2f}x wall) and {verdict} the target, at accuracy "
            f"{r['accuracy']['nonconf']:.1f} % non-confounded against "
            f"{peer['accuracy']['nonconf']:.1f} % for the peer (one seed).",
            "",
        ]
    if point:
        out += [
            f"**Point pipeline:** ours costs {cpu_ratio(point):.2f}x the peer's CPU time with the "
            "same K.",
            "",
        ]
    for name, row in rows.items():
        if "weights" in row:
            w = row["weights"]
            khat = "n/a" if w["max_khat"] is None else f"{w['max_khat']:.2f}"
            out.append(
                f"- weights of `{name}`: min ESS/N {w['min_ess_fraction']:.4f}, max k-hat {khat}"
                + ("; FrontDoorWeightWarning raised" if w["warnings"] else "")
            )
    out += [
        "",
        "**Settings.** mechanism-learn and ours keep their own EM defaults (tol 1e-4 vs 1e-3); the "
        "same K per intervention for every pipeline (chosen by our weighted BIC on this data).",
    ]
    return "\n".join(out)


def _set_threads(n: int) -> None:
    """Pin BLAS/OpenMP threads (must run before numpy and torch are imported)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small run, prints only")
    p.add_argument("--n", type=int, default=None, help="training rows (default 5000)")
    p.add_argument("--draws", type=int, default=None, help="S of the ensemble (default 32)")
    p.add_argument("--repeats", type=int, default=None, help="max repeats (default 3)")
    p.add_argument("--budget", type=float, default=None, help="seconds per configuration")
    p.add_argument("--threads", type=int, default=2, help="torch/BLAS threads (2 cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=HERE / "results" / "pipeline.md")
    p.add_argument("--render", action="store_true", help="only re-write the .md from the .json")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- pipelines
def _quiet_fit(fit, record: list):
    """Run ``fit()``; FrontDoorWeightWarnings (expected here) are recorded, not printed."""
    from bayes_mech.exceptions import FrontDoorWeightWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FrontDoorWeightWarning)
        warnings.simplefilter("ignore", FutureWarning)
        out = fit()
    record.extend(
        str(w.message).splitlines()[0]
        for w in caught
        if issubclass(w.category, FrontDoorWeightWarning)
    )
    return out


def run_ours(data, S, k, n_jobs, seed, n_samples=None):
    """Fit our learner; returns (stage times, the fitted learner). Call it in ``_quiet_fit``."""
    from sklearn.svm import SVC

    from bayes_mech import MechanismLearner

    learner = MechanismLearner(
        SVC(kernel="linear", C=5),
        n_draws=S,
        n_components=k,
        n_samples=n_samples,
        n_jobs=n_jobs,
        random_state=seed,
        progress=False,
    )
    learner.fit(data.X, data.y, data.z)
    t = learner.fit_times_
    stages = {
        "p(z|y)": t["mechanism"],
        "weights": t["weights"],
        "K selection": t.get("n_components", 0.0),
        "CW-GMM fit+sample": t.get("feature_map", 0.0) + t.get("cwgmm", 0.0),
        "estimator(s)": t["ensemble"],
    }
    return stages, learner


def run_mechanism_learn(data, k_list, seed):
    """The reference pipeline, stage by stage; returns (stage times, fitted SVM)."""
    import numpy as np
    from mechanism_learn.pipeline import mechanism_learning_process as MLP
    from sklearn.svm import SVC

    y, z, X = data.y.reshape(-1, 1), data.z.reshape(-1, 1), data.X
    intv = np.unique(data.y)
    np.random.seed(seed)  # noqa: NPY002  (mechanism-learn samples with the global RNG)
    t0 = time.perf_counter()
    # Density estimation as its constructor does it (histograms of (y, z) and y) ...
    shell = MLP.__new__(MLP)
    shell.cause_data, shell.mechanism_data, shell.effect_data = y, z, X
    dist_map = shell.dist_estimation(est_method="histogram")
    t1 = time.perf_counter()
    # ... then the constructor with those densities computes the front-door weights.
    proc = MLP(y, z, X, intv, dist_map=dist_map)
    t2 = time.perf_counter()
    proc.cwgmm_fit(comp_k=list(k_list), random_seed=seed, verbose=0)
    proc.cwgmm_resample(n_samples=X.shape[0] // intv.size)
    t3 = time.perf_counter()
    model = proc.deconf_model_fit(SVC(kernel="linear", C=5))
    t4 = time.perf_counter()
    stages = {
        "p(z|y)": t1 - t0,
        "weights": t2 - t1,
        "K selection": 0.0,
        "CW-GMM fit+sample": t3 - t2,
        "estimator(s)": t4 - t3,
    }
    return stages, model


# ----------------------------------------------------------------------------------- main
def _accuracy(model, test) -> float:
    return float(100.0 * (model.predict(test.X) == test.y).mean())


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.render:
        result = json.loads(args.out.with_suffix(".json").read_text())
        args.out.write_text(format_md(result))
        print(f"wrote {args.out}")
        return result
    _set_threads(args.threads)
    import numpy as np
    import torch

    import bayes_mech as bm
    from bayes_mech.experiments import versions

    torch.set_num_threads(args.threads)
    quick = args.quick
    N = args.n or (1000 if quick else 5000)
    S = args.draws or (8 if quick else 32)
    repeats = args.repeats or (1 if quick else 3)
    budget = args.budget or (30.0 if quick else 400.0)

    data = bm.datasets.make_frontdoor_classification(N, confounded=True, random_state=args.seed)
    tests = {
        "nonconf": bm.datasets.make_frontdoor_classification(
            1000, confounded=False, random_state=10_000 + args.seed
        ),
        "conf": bm.datasets.make_frontdoor_classification(
            1000, confounded=True, random_state=20_000 + args.seed
        ),
    }
    # Warm-up (untimed): imports, lazy initialisation, and the K every pipeline will use.
    warm_record: list = []
    _, warm = _quiet_fit(lambda: run_ours(data, 1, "bic", None, args.seed), warm_record)
    k_list = [int(k) for k in np.asarray(warm.n_components_)]
    k_dict = {v.item(): k for v, k in zip(warm.interventions_, k_list, strict=True)}
    small = bm.datasets.make_frontdoor_classification(500, random_state=1)
    run_mechanism_learn(small, [2, 2], 0)
    _quiet_fit(lambda: run_ours(small, 2, 2, 2, 0), [])  # starts the joblib workers once

    configs = {
        "mechanism-learn (point, histogram)": lambda: run_mechanism_learn(data, k_list, args.seed),
        "ours S=1 (point)": lambda: run_ours(data, 1, k_dict, 1, args.seed),
        "ours S=1 (point), K=bic": lambda: run_ours(data, 1, "bic", 1, args.seed),
        f"ours S={S}, n_jobs=1": lambda: run_ours(data, S, k_dict, 1, args.seed),
        f"ours S={S}, n_jobs=2": lambda: run_ours(data, S, k_dict, 2, args.seed),
        f"ours S={S}, n_samples=N/S, n_jobs=1": lambda: run_ours(
            data, S, k_dict, 1, args.seed, n_samples=max(2, N // S)
        ),
    }
    peer = next(iter(configs))
    runs: dict[str, list] = {name: [] for name in configs}
    spent = dict.fromkeys(configs, 0.0)
    fitted = {}
    diagnostics: dict[str, list] = {}
    for rep in range(repeats):
        for name, fit in configs.items():
            if rep > 0 and spent[name] >= budget:
                continue
            load = os.getloadavg()[0]
            cpu0, t0 = time.process_time(), time.perf_counter()
            record: list = []
            stages, model = _quiet_fit(fit, record)
            total = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            spent[name] += total
            runs[name].append({"total_s": total, "cpu_s": cpu, "load1": load, "stages": stages})
            fitted[name] = model
            diagnostics.setdefault(name, record)
            print(
                f"[{rep + 1}/{repeats}] {name:42s} {total:7.2f} s wall, {cpu:7.2f} s CPU "
                f"(load {load:.1f})",
                flush=True,
            )

    rows = {}
    for name, reps in runs.items():
        best = min(reps, key=lambda r: r["total_s"])
        model = fitted[name]
        rows[name] = {
            "repeats": len(reps),
            "min_total_s": best["total_s"],
            "cpu_s_of_min": best["cpu_s"],
            "load1_of_min": best["load1"],
            "load1_all": [r["load1"] for r in reps],
            "totals_all": [r["total_s"] for r in reps],
            "stages_of_min": best["stages"],
            "accuracy": {k: _accuracy(model, t) for k, t in tests.items()},
        }
        if hasattr(model, "weight_diagnostics_"):
            diag = model.weight_diagnostics_
            khat = diag["khat"].values
            rows[name]["weights"] = {
                "min_ess_fraction": float(diag["ess_fraction"].min()),
                "max_khat": float(np.nanmax(khat)) if np.isfinite(khat).any() else None,
                "warnings": sorted(set(diagnostics[name])),
            }
    peer_t = rows[peer]["min_total_s"]
    peer_deconf = peer_t - rows[peer]["stages_of_min"]["estimator(s)"]
    print(f"\nratios to {peer} (total {peer_t:.2f} s; without the estimator {peer_deconf:.2f} s):")
    for name, row in rows.items():
        deconf = row["min_total_s"] - row["stages_of_min"]["estimator(s)"]
        row["ratio_total"] = row["min_total_s"] / peer_t
        row["ratio_without_estimator"] = deconf / peer_deconf
        print(
            f"  {name:42s} total x{row['ratio_total']:6.2f}   "
            f"without estimator x{row['ratio_without_estimator']:6.2f}   "
            f"acc non-conf {row['accuracy']['nonconf']:.1f} %"
        )

    from importlib.metadata import version

    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
        },
        "versions": {**versions(), "mechanism-learn": version("mechanism-learn")},
        "config": {"N": N, "S": S, "repeats": repeats, "budget_s": budget, "K": k_dict},
        "rows": rows,
    }
    print(format_md(result))
    if not quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(format_md(result))
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return result


def format_md(result: dict) -> str:
    cfg = result["config"]
    head = ["pipeline", *STAGES, "total (min)", "x peer", "x peer w/o estimator"]
    head += ["CPU s", "x peer (CPU)", "load", "reps", "acc non-conf %", "acc conf %"]
    peer_cpu = next(iter(result["rows"].values()))["cpu_s_of_min"]
    lines = [
        f"# Pipeline wall time: paper A.1, N = {cfg['N']}, SVC(kernel='linear', C=5)",
        "",
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    for name, row in result["rows"].items():
        st = row["stages_of_min"]
        cells = [name, *(f"{st[s]:.2f}" for s in STAGES)]
        cells += [
            f"**{row['min_total_s']:.2f}**",
            f"{row['ratio_total']:.2f}",
            f"{row['ratio_without_estimator']:.2f}",
            f"{row['cpu_s_of_min']:.2f}",
            # joblib workers run in other processes: their CPU time is not counted
            "n/a" if "n_jobs=2" in name else f"{row['cpu_s_of_min'] / peer_cpu:.2f}",
            f"{row['load1_of_min']:.1f}",
            str(row["repeats"]),
            f"{row['accuracy']['nonconf']:.1f}",
            f"{row['accuracy']['conf']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Seconds; minimum total over up to {cfg['repeats']} repeats (round robin) and the stages "
        "of that repeat. CPU s: CPU time of this process in that repeat (joblib workers of "
        "n_jobs=2 not included, hence n/a). load: 1-minute load average before that repeat "
        f"({result['machine']['cpu_count']} cores). K per intervention (all pipelines): "
        f"{cfg['K']}. Accuracy on 1,000 + 1,000 test rows (non-confounded, confounded).",
        "",
        f"Command: `{result['command']}`; {result['date']}; {result['machine']['platform']}, "
        f"{result['machine']['cpu_count']} cores, {result['machine']['threads']} threads.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + ".",
        "",
        "## Notes",
        "",
        notes(result),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

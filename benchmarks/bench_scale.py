"""Scale: ``MechanismLearner.fit`` on N = 10⁴, 10⁵, 10⁶ rows, time per stage and peak RSS.

Data: a front-door SCM with discrete cause ``y ∈ {1, 2}``, a binary confounder ``u``, a scalar
Gaussian mechanism ``z | y`` and a d = 16 effect ``x = a z + b u + noise`` (numpy, so that drawing
10⁶ rows costs nothing next to the fit). The learner: ``LogisticRegression``, ``n_draws`` S = 8,
a fixed K (``n_components=3``; weighted BIC over K = 1..10 would multiply the mixture stage by
the number of candidates), full covariances, the default Bayesian bootstrap, CPU.

Every N runs in a fresh subprocess, so its peak RSS (``resource.getrusage(RUSAGE_SELF)
.ru_maxrss``) is its own; ``fit extra`` is that peak minus the RSS before ``fit`` (imports and
data). Times per stage are ``learner.fit_times_``. Linearity: for each stage,
``(t(N₂) / t(N₁)) / (N₂ / N₁)`` between consecutive sizes; 1.0 is exactly linear, the target
is ≤ 1.2. EM iterations to convergence vary with N, so the mixture stage also reports seconds
per EM iteration, which is the cost that should be linear.

Usage::

    python benchmarks/bench_scale.py                    # 10⁴, 10⁵, 10⁶; writes results/scale.md
    python benchmarks/bench_scale.py --sizes 10000 30000 --no-write   # quick look, prints only
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (10_000, 100_000, 1_000_000)
D, S, K = 16, 8, 3
TARGET_RSS_GIB = 24.0
TARGET_LINEARITY = 1.2


def make_data(n: int, d: int = D, seed: int = 0):
    """Front-door data: u -> y, u -> x, y -> z -> x (discrete y in {1, 2})."""
    import numpy as np

    rng = np.random.default_rng(seed)
    u = rng.random(n) < 0.5
    y = np.where(rng.random(n) < np.where(u, 0.8, 0.2), 2, 1).astype(np.int64)
    z = rng.normal(1.5 * y, 1.0)
    a = rng.normal(size=d)
    b = rng.normal(size=d)
    X = z[:, None] * a + 2.0 * u[:, None] * b + rng.normal(size=(n, d))
    return X, y, z


def _rss_gib() -> float:
    """Current resident set size (Linux /proc), GiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**30


def run_one(n: int, seed: int) -> dict:
    """Fit once on n rows in this process; return times, RSS and the fit's EM bookkeeping."""
    import warnings

    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression

    import bayes_mech as bm
    from bayes_mech.exceptions import FrontDoorWeightWarning

    X, y, z = make_data(n, seed=seed)
    learner = bm.MechanismLearner(
        LogisticRegression(max_iter=200),
        n_draws=S,
        n_components=K,
        progress=False,
        random_state=seed,
    )
    rss_before = _rss_gib()
    start, cpu_start = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learner.fit(X, y, z)
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    n_iter = np.asarray(learner.mixture_fit_["n_iter"])
    return {
        "n": n,
        "d": D,
        "S": S,
        "K": K,
        "total_s": total,
        "cpu_s": cpu,
        "stages": learner.fit_times_,
        "em_iter_mean": float(n_iter.mean()),
        "em_iter_max": int(n_iter.max()),
        "peak_rss_gib": peak_gib,
        "rss_before_fit_gib": rss_before,
        "torch_threads": torch.get_num_threads(),
        "min_ess_fraction": float(learner.weight_diagnostics_["ess_fraction"].min()),
        "warnings": sorted({w.category.__name__ for w in caught}),
        "weight_warning": any(issubclass(w.category, FrontDoorWeightWarning) for w in caught),
    }


def em_cpu(n: int, iters: int = 5) -> dict:
    """CPU seconds per EM iteration of the CW-GMM stage's batched fit, single-threaded.

    B = S·M = 16 mixtures, K = 3, d = 16, ``tol=0``: ``(T(1 + iters) − T(1)) / iters`` in user
    CPU time (``ru_utime``), which cancels the initialisation and is far less sensitive than wall
    time to other processes sharing the cores. (System time is left out: the page faults of the
    first touch of large buffers land in whichever fit allocates them first, which made
    ``process_time`` differences noisy at N = 10⁶.)
    """
    import warnings

    import numpy as np
    import torch

    import bayes_mech as bm
    from bayes_mech.exceptions import ConvergenceWarning

    torch.set_num_threads(1)
    X, _, _ = make_data(n)
    W = np.random.default_rng(0).exponential(size=(2 * S, n))
    cpu = {}
    for max_iter in (1, 1 + iters):
        gm = bm.WeightedGaussianMixture(K, tol=0, max_iter=max_iter, random_state=0)
        start = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(X, sample_weight=W)
        cpu[max_iter] = resource.getrusage(resource.RUSAGE_SELF).ru_utime - start
    return {
        "n": n,
        "cpu_per_iter_s": (cpu[1 + iters] - cpu[1]) / iters,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def _load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def run_all(sizes, seed: int) -> list[dict]:
    results = []
    for n in sizes:
        load_before = _load_average()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--seed", str(seed)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"N={n} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["load_before"] = load_before
        row["load_after"] = _load_average()
        results.append(row)
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in row["stages"].items())
        print(
            f"N={n:>9,}: total {row['total_s']:8.2f}s, peak RSS {row['peak_rss_gib']:.2f} GiB, "
            f"EM iterations {row['em_iter_mean']:.1f} (max {row['em_iter_max']}); {stages}; "
            f"load {row['load_before'][0]:.1f} -> {row['load_after'][0]:.1f}",
            flush=True,
        )
    return results


def linearity(results: list[dict]) -> list[dict]:
    """Per consecutive pair of sizes: ``(t₂ / t₁) / (N₂ / N₁)`` per stage, total and per EM iter."""
    out = []
    for a, b in itertools.pairwise(results):
        factor = b["n"] / a["n"]
        ratios = {
            stage: (b["stages"][stage] / a["stages"][stage]) / factor
            for stage in b["stages"]
            if a["stages"].get(stage, 0) > 0
        }
        ratios["total"] = (b["total_s"] / a["total_s"]) / factor
        ratios["CPU s"] = (b["cpu_s"] / a["cpu_s"]) / factor
        per_iter_a = a["stages"]["cwgmm"] / max(a["em_iter_max"], 1)
        per_iter_b = b["stages"]["cwgmm"] / max(b["em_iter_max"], 1)
        ratios["cwgmm per EM iteration"] = (per_iter_b / per_iter_a) / factor
        out.append({"from": a["n"], "to": b["n"], "ratios": ratios})
    return out


def to_markdown(results, lin, meta) -> str:
    stages = list(results[0]["stages"])
    lines = [
        "# Scale: MechanismLearner.fit on 10⁴ – 10⁶ rows",
        "",
        f"Written by `benchmarks/bench_scale.py` on {meta['date']}. Machine: {meta['machine']}, "
        f"{meta['cpus']} CPU cores, {meta['mem_gib']:.1f} GiB RAM; Python {meta['python']}, "
        f"torch {meta['torch']} ({results[0]['torch_threads']} threads); CPU only.",
        "",
        f"Data: front-door SCM, discrete y ∈ {{1, 2}}, scalar Gaussian z, d = {D} features. "
        f"Learner: LogisticRegression, S = {S} draws, K = {K} (fixed), full covariances, "
        "Bayesian bootstrap, M = 2 intervention values, N deconfounded rows per member. "
        "Each N in a fresh subprocess; peak RSS from `getrusage(RUSAGE_SELF).ru_maxrss`.",
        "",
        "## Time per stage (seconds) and peak memory",
        "",
        "| N | "
        + " | ".join(stages)
        + " | total | CPU s | EM iterations (mean / max) | peak RSS (GiB) |"
        " RSS before fit (GiB) | min ESS/N |",
        "|---:|" + "---:|" * (len(stages) + 6),
    ]
    for r in results:
        cells = " | ".join(f"{r['stages'][s]:.2f}" for s in stages)
        lines.append(
            f"| {r['n']:,} | {cells} | {r['total_s']:.2f} | {r['cpu_s']:.1f} | "
            f"{r['em_iter_mean']:.1f} / "
            f"{r['em_iter_max']} | {r['peak_rss_gib']:.2f} | {r['rss_before_fit_gib']:.2f} | "
            f"{r['min_ess_fraction']:.3f} |"
        )
    keys = [*stages, "total", "CPU s", "cwgmm per EM iteration"]
    lines += [
        "",
        f"## Linearity: (t(N₂) / t(N₁)) / (N₂ / N₁), 1.0 = linear, target ≤ {TARGET_LINEARITY}",
        "",
        "| N₁ → N₂ | " + " | ".join(keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    for row in lin:
        cells = " | ".join(f"{row['ratios'][k]:.2f}" if k in row["ratios"] else "–" for k in keys)
        lines.append(f"| {row['from']:,} → {row['to']:,} | {cells} |")
    big = results[-1]
    last = lin[-1]["ratios"] if lin else {}
    over = sorted(k for k, v in last.items() if v > TARGET_LINEARITY and k in stages)
    lines += [
        "",
        "## Against the targets",
        "",
        f"- Memory: N = {big['n']:,} peaked at {big['peak_rss_gib']:.2f} GiB "
        f"({'within' if big['peak_rss_gib'] <= TARGET_RSS_GIB else 'OVER'} the "
        f"{TARGET_RSS_GIB:.0f} GiB target).",
        f"- Time, last step ({lin[-1]['from']:,} → {lin[-1]['to']:,}): total ratio "
        f"{last.get('total', float('nan')):.2f}; stages over {TARGET_LINEARITY}: "
        f"{', '.join(over) if over else 'none'}.",
        "",
        "## Contention",
        "",
        "The machine is shared with other engineers' runs. 1-minute load average before → after "
        "each N (the machine has " + str(meta["cpus"]) + " cores; a load above that means this "
        "run shared its cores and its times are inflated by an unknown factor):",
        "",
    ]
    for r in results:
        lines.append(f"- N = {r['n']:,}: {r['load_before'][0]:.1f} → {r['load_after'][0]:.1f}")
    if meta.get("note"):
        lines += ["", meta["note"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--em-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--em-only", action="store_true", help="only the single-thread EM CPU-time check; prints"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--out", default=str(HERE / "results" / "scale.md"))
    parser.add_argument("--note", default="", help="a line appended to the results file")
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_one(args.child, args.seed)))
        return 0
    if args.em_child is not None:
        print(json.dumps(em_cpu(args.em_child)))
        return 0
    if args.em_only:
        rows = []
        for n in args.sizes:
            cmd = [sys.executable, __file__, "--em-child", str(n)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
        for a, b in itertools.pairwise(rows):
            ratio = (b["cpu_per_iter_s"] / a["cpu_per_iter_s"]) / (b["n"] / a["n"])
            print(f"EM CPU per iteration, {a['n']:,} -> {b['n']:,}: ratio {ratio:.2f}")
        return 0
    import torch

    results = run_all(args.sizes, args.seed)
    lin = linearity(results)
    for row in lin:
        cells = ", ".join(f"{k} {v:.2f}" for k, v in row["ratios"].items())
        print(f"linearity {row['from']:,} -> {row['to']:,}: {cells}")
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "mem_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "note": args.note,
    }
    text = to_markdown(results, lin, meta)
    if not args.no_write:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        (out.with_suffix(".json")).write_text(json.dumps({"meta": meta, "results": results}))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

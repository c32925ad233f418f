"""EM speed and memory: bayes-mech's WeightedGaussianMixture against its peers, in one run.

Peers: scikit-learn's (unweighted) ``GaussianMixture``, mechanism-learn's ``weighted_gmm_em`` (the
paper's reference implementation) and pomegranate's ``GeneralMixtureModel`` (if installed; the
``bench`` extra installs it). Every (library, case) runs in a fresh subprocess, so its peak RSS is
its own; the ``EM extra`` column is that peak minus the RSS after imports and data creation.

Seconds per EM iteration: ``(min T(n+1) − min T(1)) / n`` over repeated fits with a fixed iteration
count (``tol=0``), which cancels the initialisation. ``n`` is 20 and repeats 3 unless one iteration
is slow, then both are cut (the table says how many were run). For bayes-mech and scikit-learn the
iterations are also timed inside the EM loop (the time between the starts of consecutive E-steps,
whose median over every iteration of the timed fits is used): at N = 1e6 the setup of each fit
(2 GB first touched, k-means++) varied between calls by as much as the iterations it was meant to
cancel, and the difference of totals was not to be trusted.

Two kinds of data (``--clusters``), because the peers' speed depends on them on some CPUs:
*separated* clusters (centres ~ N(0, 3²) per coordinate), where scikit-learn's responsibilities
underflow to subnormal floats (slow on some CPUs only), and *overlapping* ones (centres
~ N(0, 0.7²)). The report records the CPU model and flags, the BLAS and the thread settings:
a ratio holds for the CPU it ran on.

Usage::

    python benchmarks/bench_mixture.py            # full run, writes benchmarks/results/mixture.md
    python benchmarks/bench_mixture.py --quick    # small shapes, a minute; prints only
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LIBS = ("bayes_mech", "sklearn", "mechanism_learn", "pomegranate", "products")
#: Not a library: the float64 products that one EM iteration of a diagonal mixture cannot do
#: without, timed alone (see ``fitter``). Its time is a floor under every implementation that
#: does them, so ``sklearn / products`` bounds the speed-up over scikit-learn any such
#: implementation can reach on the CPU of the run.
FLOOR = "products"
FULL = {
    "shapes": [
        (5000, 2, 6, "full"),
        (50000, 2, 6, "full"),
        (5000, 64, 20, "full"),
        (20000, 64, 20, "full"),
        (5000, 784, 10, "diag"),
        (5000, 784, 10, "full"),
    ],
    "batch": (5000, 2, 6, "full", 64),
    "scaling": [(10_000, 16, 10, "full"), (100_000, 16, 10, "full"), (1_000_000, 16, 10, "full")],
    "n_iter": 20,
    "repeats": 3,
    "budget_s": 30.0,
}
QUICK = {
    "shapes": [(2000, 2, 6, "full"), (1000, 96, 5, "diag")],
    "batch": (2000, 2, 6, "full", 8),
    "scaling": [(20_000, 8, 5, "full")],
    "n_iter": 5,
    "repeats": 1,
    "budget_s": 5.0,
}
#: mechanism-learn materialises (K, N, d) arrays several times: 10^6 x 16 x 10 would need > 5 GB.
MECHANISM_LEARN_MAX_ELEMENTS = 10**8


# -- worker: one library on one case, in its own process ---------------------------------------


#: Spread of the cluster centres per coordinate, per kind of data.
CLUSTERS = {"separated": 3.0, "overlapping": 0.7}


def make_data(n, d, k, batch, spread=3.0, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, spread, size=(k, d))
    X = centers[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    shape = (batch, n) if batch else (n,)
    return X, rng.exponential(size=shape)  # positive weights, front-door-like spread


def fitter(lib, k, cov):
    """A function ``fit(X, w, n_iter)`` running exactly ``n_iter`` EM iterations."""
    if lib == "bayes_mech":
        from bayes_mech.mixture import WeightedGaussianMixture

        def fit(X, w, n_iter):
            gm = WeightedGaussianMixture(k, covariance_type=cov, tol=0, max_iter=n_iter)
            gm.set_params(random_state=0).fit(X, sample_weight=w)

        return fit
    if lib == "sklearn":
        from sklearn.mixture import GaussianMixture

        def fit(X, w, n_iter):  # unweighted: scikit-learn has no sample_weight
            for _ in range(1 if w.ndim == 1 else w.shape[0]):
                GaussianMixture(
                    k, covariance_type=cov, tol=0, max_iter=n_iter, init_params="k-means++",
                    random_state=0,
                ).fit(X)  # fmt: skip

        return fit
    if lib == "mechanism_learn":
        from mechanism_learn.gmmSampler import weighted_gmm_em

        def fit(X, w, n_iter):
            for row in np.atleast_2d(w):
                weighted_gmm_em(
                    X, row, k, cov_type=cov, max_iter=n_iter, tol=0.0, init_method="kmeans++",
                    random_seed=0, show_progress_bar=False,
                )  # fmt: skip

        return fit
    if lib == FLOOR:

        def fit(X, w, n_iter):
            # The E-step's log-densities of every row under every component are [x², x, 1] A,
            # and the M-step's weighted sums of x and x² are R [x², x, 1]: two (N, 2d + 1) by
            # (2d + 1, K) products, both libraries' whole arithmetic up to O(N K) terms.
            phi = np.concatenate([X * X, X, np.ones((X.shape[0], 1))], axis=1)
            rng = np.random.default_rng(0)
            coef = rng.normal(size=(phi.shape[1], k))
            resp = rng.random((k, X.shape[0]))
            for _ in range(n_iter):
                np.dot(phi, coef)
                np.dot(resp, phi)

        return fit
    if lib == "pomegranate":
        import torch
        from pomegranate.distributions import Normal
        from pomegranate.gmm import GeneralMixtureModel

        pom_cov = {"full": "full", "diag": "diag"}[cov]

        def fit(X, w, n_iter):
            Xt = torch.as_tensor(X)
            for row in np.atleast_2d(w):
                model = GeneralMixtureModel(
                    [Normal(covariance_type=pom_cov) for _ in range(k)], max_iter=n_iter,
                    tol=-1e300, random_state=0, verbose=False,
                )  # fmt: skip
                model.fit(Xt, sample_weight=torch.as_tensor(row))

        return fit
    raise ValueError(lib)


def _status_mb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak():
    """Reset the kernel's peak-RSS counter (VmHWM) so that the peak is the EM's own."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:  # not Linux: the peak then includes imports
        pass


def loop_stamps(lib) -> list | None:
    """Wall and CPU time at the start of every E-step of ``lib``'s EM loop, appended to the
    returned list (one E-step per iteration); ``None`` for libraries not instrumented."""
    if lib == "bayes_mech":
        from bayes_mech.mixture import _covariances as owner

        name = "weighted_statistics"  # called once per EM iteration by the fit loop
    elif lib == "sklearn":
        from sklearn.mixture import GaussianMixture as owner

        name = "_e_step"  # once per iteration, and once after the loop
    else:
        return None
    stamps, original = [], getattr(owner, name)

    def stamped(*args, **kwargs):
        stamps.append((time.perf_counter(), time.process_time()))
        return original(*args, **kwargs)

    setattr(owner, name, stamped)
    return stamps


def worker(lib, n, d, k, cov, batch, n_iter, repeats, budget_s, spread=3.0):
    warnings.simplefilter("ignore")
    fit = fitter(lib, k, cov)
    X, w = make_data(n, d, k, batch, spread)
    stamps = loop_stamps(lib)

    def timed(m):
        wall, cpu = time.perf_counter(), time.process_time()
        fit(X, w, m)
        return time.perf_counter() - wall, time.process_time() - cpu

    first = timed(1)  # also warms up lazy imports and kernels
    reset_peak()
    base = _status_mb("VmRSS")
    slow = first[0] > budget_s / 3
    # Never the warm-up call as T(1): its one-time costs (imports, kernels, first-touch page
    # faults of large buffers) once made T(3) - T(1) near zero at N = 1e6 (0.0013 s/iter).
    t1 = [timed(1)]
    # Keep the worker within its budget: fewer iterations and repeats when one is slow.
    per_call = max(min(t[0] for t in t1), 1e-4)
    # A slow case still runs 5 more iterations than T(1): with 2, the noise of the ~10 s setup
    # at N = 1e6 (memory first touched or reused) was as large as the iterations themselves.
    n_iter = 5 if slow else int(max(2, min(n_iter, budget_s / (3 * per_call))))
    repeats = repeats if per_call * (n_iter + 1) * repeats < budget_s else 1
    loop = []  # per-iteration (wall, CPU) inside the timed fits' EM loops
    tn = []
    for _ in range(repeats):
        if stamps is not None:
            stamps.clear()
        tn.append(timed(n_iter + 1))
        if stamps:
            loop += [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(stamps)]
    t1 += [timed(1) for _ in range(repeats - 1)]
    peak = _status_mb("VmHWM")

    def per_iter(i):
        return max(min(t[i] for t in tn) - min(t[i] for t in t1), 0.0) / n_iter

    extra = {}
    # B > 1 weight vectors: scikit-learn fits them one after another (an iteration of the batch
    # is B of its iterations; the initialisations between its fits are a few outlying gaps,
    # which the median sees through); bayes-mech's E-step covers all B at once.
    fits_per_step = batch if (lib == "sklearn" and batch) else 1
    if loop:
        extra = {
            "s_per_iter_totals": per_iter(0),
            "cpu_s_per_iter_totals": per_iter(1),
            "loop_iterations": len(loop),
        }
    return {
        **extra,
        "s_per_iter": fits_per_step * float(np.median([v[0] for v in loop]))
        if loop
        else per_iter(0),
        "cpu_s_per_iter": fits_per_step * float(np.median([v[1] for v in loop]))
        if loop
        else per_iter(1),
        "s_total": min(t[0] for t in tn),
        "n_iter": n_iter,
        "repeats": repeats,
        "peak_mb": peak,
        "extra_mb": peak - base,
    }


# -- driver ----------------------------------------------------------------------------------------


def available(lib):
    if lib == FLOOR:
        return True
    try:
        __import__({"bayes_mech": "bayes_mech.mixture"}.get(lib, lib))
    except ImportError:
        return False
    return True


def run_case(lib, case, cfg, timeout):
    n, d, k, cov, batch = case
    if lib == FLOOR and (cov != "diag" or batch):
        return {"skipped": "measured for one diagonal mixture only"}
    if lib == "pomegranate" and cov not in ("full", "diag"):
        return {"skipped": "covariance type"}
    if lib == "mechanism_learn" and k * n * d > MECHANISM_LEARN_MAX_ELEMENTS:
        return {"skipped": f"(K, N, d) arrays of {k * n * d:.1e} doubles"}
    args = [sys.executable, __file__, "--worker", json.dumps([lib, n, d, k, cov, batch])]
    threads = str(cfg["threads"])
    env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    env.update(MKL_NUM_THREADS=threads, BAYES_MECH_BENCH_THREADS=threads)
    keys = ("n_iter", "repeats", "budget_s", "spread")
    args += ["--config", json.dumps({key: cfg[key] for key in keys})]
    load = os.getloadavg()[0]
    try:
        out = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=True, env=env
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"timeout {timeout}s"}
    except subprocess.CalledProcessError as exc:
        return {"skipped": "error: " + exc.stderr.strip().splitlines()[-1][:120]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_before"] = load
    return result


def metric_of(cfg):
    """CPU seconds when single-threaded (robust to other load on the machine), else wall time."""
    return "cpu_s_per_iter" if cfg["threads"] == 1 else "s_per_iter"


def ratio(peer, ours, metric):
    if "skipped" in peer or "skipped" in ours or ours[metric] <= 0:
        return None
    return peer[metric] / ours[metric]


NOT_RUN = {"skipped": "not measured in this run"}


def cell(result):
    if "skipped" in result:
        return "–"
    return f"{result['s_per_iter']:.4g} ({result['cpu_s_per_iter']:.4g})"


def table(title, cases, results, libs, metric):
    cases = [c for c in cases if json.dumps(c) in results]
    lines = [f"## {title}", ""]
    head = "| N, d, K, cov | B |" + "".join(f" {lib} s/iter wall (CPU) |" for lib in libs)
    head += "".join(f" {lib} / ours |" for lib in libs[1:])
    head += "".join(f" {lib} peak MB (EM extra) |" for lib in libs)
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    notes = []
    for case in cases:
        n, d, k, cov, batch = case
        # A saved run from before a column existed has no cell for it.
        row = {lib: NOT_RUN for lib in libs} | results[json.dumps(case)]
        line = f"| {n}, {d}, {k}, {cov} | {batch or 1} |"
        line += "".join(f" {cell(row[lib])} |" for lib in libs)
        for lib in libs[1:]:
            r = ratio(row[lib], row["bayes_mech"], metric)
            line += " – |" if r is None else f" {r:.1f}x |"
        for lib in libs:
            r = row[lib]
            line += " – |" if "skipped" in r else f" {r['peak_mb']:.0f} ({r['extra_mb']:.0f}) |"
        lines.append(line)
        for lib, r in row.items():
            if "skipped" in r:
                notes.append(f"{case[:4]} {lib}: not run ({r['skipped']}).")
            elif r["repeats"] < 3 or r["n_iter"] < 20:
                notes.append(
                    f"{case[:4]} {lib}: {r['n_iter']} iterations, {r['repeats']} repeat(s)."
                )
    return lines + [""] + [f"- {note}" for note in notes] + [""]


def targets(shapes, batch, scaling, results, metric):
    """The issue's targets, checked against this run."""
    shapes, batch, scaling = (
        [c for c in cs if json.dumps(c) in results] for cs in (shapes, batch, scaling)
    )

    def ratios(cases, lib):
        cases = [c for c in cases if lib in results[json.dumps(c)]]
        out = [ratio(results[json.dumps(c)][lib], results[json.dumps(c)]["bayes_mech"], metric)
               for c in cases]  # fmt: skip
        return [(r, c) for r, c in zip(out, cases, strict=True) if r is not None]

    lines = ["## Targets", ""]
    for lib, goal, cases, what in [
        ("mechanism_learn", 10.0, shapes, "per iteration vs mechanism-learn"),
        ("sklearn", 1.5, shapes, "per iteration vs scikit-learn"),
        ("mechanism_learn", 20.0, batch, "batched B=64 vs 64 sequential mechanism-learn fits"),
    ]:
        found = ratios(cases, lib)
        if not found:
            lines.append(f"- {what}: not measured.")
            continue
        worst, case = min(found)
        verdict = "met" if worst >= goal else f"missed by {goal / worst:.2f}x"
        lines.append(f"- {what} >= {goal:g}x: worst {worst:.1f}x at {case[:4]} ({verdict}).")
    for case in shapes:
        row = results[json.dumps(case)]
        floor = row.get(FLOOR, NOT_RUN)
        if "skipped" in floor or "skipped" in row["sklearn"] or floor[metric] <= 0:
            continue
        lines.append(
            f"- floor at {case[:4]}: the float64 products of one iteration alone take "
            f"{floor[metric]:.4g} s, so no implementation doing them can be more than "
            f"{row['sklearn'][metric] / floor[metric]:.2f}x faster than scikit-learn here; "
            f"ours takes {row['bayes_mech'][metric] / floor[metric]:.2f}x the floor."
        )
    ours = [results[json.dumps(c)]["bayes_mech"] for c in scaling]
    if ours and all("skipped" not in r for r in ours):
        per_row = ", ".join(
            f"N={c[0]:.0e}: {1e9 * r[metric] / c[0]:.0f} ns/row"
            for c, r in zip(scaling, ours, strict=True)
        )
        lines.append(f"- time linear in N: {per_row}.")
        lines.append(
            f"- largest N={scaling[-1][0]:.0e} peak {ours[-1]['peak_mb'] / 1024:.2f} GiB "
            f"(target < 4 GiB: {'met' if ours[-1]['peak_mb'] < 4096 else 'missed'})."
        )
    return [*lines, ""]


README_START, README_END = "<!-- mixture:start -->", "<!-- mixture:end -->"
PEER_NAMES = {"sklearn": "scikit-learn", "mechanism_learn": "mechanism-learn",
              "pomegranate": "pomegranate"}  # fmt: skip


def readme_summary(saved: dict) -> str:
    """The README's table of a saved run: per cluster kind and shape, ours and the ratios."""
    machine = saved["machine"]
    kinds = saved["kinds"]
    libs = [lib for lib in PEER_NAMES if any(
        lib in row for entry in kinds.values() for row in entry["results"].values()
    )]  # fmt: skip
    lines = [
        f"`{saved['command']}` on {machine['cpu_model']} ({machine['cpu_count']} cores; "
        f"{', '.join(machine['cpu_flags'])}), {saved['date'][:10]}; one thread per library, "
        "CPU seconds per EM iteration; ratios are peer ÷ ours (> 1: ours is faster).",
        "",
        "| N, d, K, cov | B | clusters | ours s/iter | "
        + " | ".join(f"{PEER_NAMES[lib]} ÷ ours" for lib in libs)
        + " |",
        "|---|---|---|---|" + "---|" * len(libs),
    ]
    for kind, entry in kinds.items():
        for key, row in entry["results"].items():
            n, d, k, cov, batch = json.loads(key)
            ours = row["bayes_mech"]
            if "skipped" in ours or n >= 100_000:
                continue  # the scaling rows are in the report
            cells = []
            for lib in libs:
                r = ratio(row[lib], ours, "cpu_s_per_iter") if lib in row else None
                cells.append("–" if r is None else f"{r:.1f}×")
            lines.append(
                f"| {n}, {d}, {k}, {cov} | {batch or 1} | {kind} | "
                f"{ours['cpu_s_per_iter']:.3g} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines) + "\n"


def write_readme(saved: dict, readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    readme.write_text(text[:start] + "\n" + readme_summary(saved) + text[end:], encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, for CI")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file to write")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per worker")
    parser.add_argument(
        "--threads",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="threads for every library (torch, OpenMP, BLAS); 1 is robust on a busy machine",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="N,d,K,cov",
        help="re-measure only this case (all libraries) and merge it into the saved results",
    )
    parser.add_argument(
        "--libs", default=",".join(LIBS), help="comma list of libraries (bayes_mech first)"
    )
    parser.add_argument(
        "--clusters",
        choices=[*CLUSTERS, "both"],
        default="both",
        help="separated clusters, overlapping ones, or both (default)",
    )
    parser.add_argument(
        "--render", action="store_true", help="only re-write the .md from the saved .json"
    )
    parser.add_argument(
        "--readme", type=Path, help="only re-render this README's table from the saved JSON"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        import torch

        torch.set_num_threads(int(os.environ.get("BAYES_MECH_BENCH_THREADS", "1")))
        lib, n, d, k, cov, batch = json.loads(args.worker)
        cfg = json.loads(args.config)
        print(json.dumps(worker(lib, n, d, k, cov, batch, **cfg)))
        return 0
    if args.readme is not None:
        saved = json.loads((args.out or HERE / "results" / "mixture.json").with_suffix(".json")
                           .read_text())  # fmt: skip
        write_readme(saved, args.readme)
        return 0
    cfg = {**(QUICK if args.quick else FULL), "threads": args.threads}
    out = args.out or (None if args.quick else HERE / "results" / "mixture.md")
    libs = [lib for lib in LIBS if available(lib) and lib in args.libs.split(",")]
    shapes = [(*s, 0) for s in cfg["shapes"]]
    scaling = [(*s, 0) for s in cfg["scaling"]]
    batch = [tuple(cfg["batch"])]
    kinds = list(CLUSTERS) if args.clusters == "both" else [args.clusters]
    saved_path = out.with_suffix(".json") if out is not None else None
    stored = json.loads(saved_path.read_text()) if saved_path and saved_path.exists() else {}
    by_kind = stored.get("kinds", {}) if (args.only or args.render) else {}
    # Notes are about the stored run's cells: a full run measures them all again.
    notes = stored.get("notes", []) if (args.only or args.render) else []
    for kind in [] if args.render else kinds:
        entry = by_kind.setdefault(kind, {"results": {}, "remeasured": []})
        results = entry["results"]
        todo = shapes + batch + scaling
        if args.only:
            wanted = {tuple(int(v) if v.isdigit() else v for v in s.split(",")) for s in args.only}
            todo = [c for c in todo if c in wanted or c[:4] in wanted]
            entry["remeasured"] += [list(c[:4]) for c in todo]
        kind_cfg = {**cfg, "spread": CLUSTERS[kind]}
        for case in todo:
            results[json.dumps(case)] = row = {}
            for lib in libs:
                row[lib] = run_case(lib, case, kind_cfg, args.timeout)
                r = row[lib]
                msg = (
                    r.get("skipped") or f"{r['s_per_iter']:.5f} s/iter, peak {r['peak_mb']:.0f} MB"
                )
                print(f"{kind} {case} {lib:16s} {msg}", flush=True)
            found = [(lib, ratio(row[lib], row["bayes_mech"], metric_of(cfg))) for lib in libs[1:]]
            print(
                "   ratios vs ours: "
                + ", ".join(f"{lib} {r:.1f}x" for lib, r in found if r is not None),
                flush=True,
            )
    from importlib.metadata import PackageNotFoundError, version

    from bayes_mech.experiments import _machine

    versions = {}
    for dist in ("torch", "numpy", "scikit-learn", "mechanism-learn", "pomegranate"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            pass
    machine = stored["machine"] if args.render else _machine()
    # The libraries the driver loaded (their thread counts are the driver's, not the workers':
    # every worker runs with --threads).
    blas = "; ".join(
        dict.fromkeys(
            f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')})"
            for b in machine["blas"]
            if b.get("internal_api") != "openmp"
        )
    )
    flags = ", ".join(machine["cpu_flags"]) or "unknown"
    command = "python benchmarks/bench_mixture.py " + " ".join(argv or sys.argv[1:])
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    runs = stored.get("remeasured_runs", []) if (args.only or args.render) else []
    if args.only:  # the table keeps the full run's provenance; this run is listed below it
        runs = [*runs, {"command": command, "date": date, "cases": args.only}]
    if args.render or args.only:
        command, date = stored["command"], stored["date"]
    lines = [
        "# Mixture EM benchmark",
        "",
        f"Command: `{command.strip()}`; date {date}. CPU: {machine['cpu_model']} "
        f"({platform.machine()}, {os.cpu_count()} CPUs; SIMD flags: {flags}); BLAS/OpenMP: "
        f"{blas}; {cfg['threads']} thread(s) for every library; {json.dumps(versions)}. "
        "Ours and mechanism-learn and pomegranate fit exponential random weights; scikit-learn "
        "fits the same rows unweighted (it has no sample_weight). s/iter: ours and "
        "scikit-learn's timed inside the EM loop (median time between the starts of consecutive "
        "E-steps over every iteration of the timed fits; scikit-learn's B sequential fits count "
        "B of its iterations per batch iteration), the others (min T(n+1) − min T(1)) / n; "
        "tol=0; peak = max RSS of a fresh process per cell, EM extra = peak − RSS "
        "after data creation. Ratios are peer ÷ ours on "
        f"{'CPU' if metric_of(cfg).startswith('cpu') else 'wall'} seconds per iteration "
        "(> 1: ours is faster); with one thread CPU time is what the machine's other load "
        "cannot inflate. These ratios hold for this CPU.",
        "",
        *(
            f"Cells {', '.join(r['cases'])} re-measured with `{r['command']}` on {r['date']}."
            for r in runs
        ),
        *notes,
        "",
    ]
    metric = metric_of(cfg)
    for kind, entry in by_kind.items():
        results = entry["results"]
        lines += [f"# {kind.capitalize()} clusters (centres ~ N(0, {CLUSTERS[kind]}²))", ""]
        lines += targets(shapes, batch, scaling, results, metric)
        lines += table("Per-iteration time and memory", shapes, results, libs, metric)
        lines += table(
            f"Batched: one fit of B={batch[0][4]} weight vectors vs B sequential peer fits",
            batch,
            results,
            libs,
            metric,
        )
        lines += table("Scaling in N", scaling, results, libs, metric)
        if entry["remeasured"]:
            lines.append(
                "Re-measured later (all libraries, same settings): "
                + ", ".join(str(c) for c in dict.fromkeys(map(tuple, entry["remeasured"])))
                + "."
            )
        loads = [r.get("load_before", 0.0) for row in results.values() for r in row.values()]
        if loads:
            lines.append(
                f"1-minute load average before the workers: {min(loads):.1f} to {max(loads):.1f}."
            )
        lines.append("")
    text = "\n".join(lines) + "\n"
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        saved = {"command": command, "date": date, "machine": machine, "kinds": by_kind,
                 "remeasured_runs": runs, "notes": notes}  # fmt: skip
        out.with_suffix(".json").write_text(json.dumps(saved, indent=1))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

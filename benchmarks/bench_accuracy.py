r"""Accuracy: the paper's Table 1 (A.1, A.2) over 10 seeds, and a small-N calibration study.

Part 1, Table 1 (Mao & Little 2024) on the paper's generators: every seed draws a confounded
training set (N = 5,000) and 1,000 + 1,000 test rows of the non-confounded and the confounded SCM
(other seeds). Rows:

* ``naive``: the estimator trained on the confounded rows;
* ``CB``: causal bootstrap (``resampler="bootstrap"``, S = 1), the paper's baseline;
* ``CW-GMM (point)``: ``n_draws=1``, the paper's method;
* ``Bayesian ensemble``: ``n_draws=S`` (default 32) with the Bayesian bootstrap;
* ``oracle (non-conf train)``: the estimator trained on N rows of the non-confounded SCM;
* A.1 only, ``x1 > 0 rule``: the Bayes-optimal-looking rule on the causal feature alone;
* A.2 only, ``oracle-do``: ``LinearRegression`` trained on exact interventional samples
  :math:`x \sim p(x \mid do(y = v))` (``sample_interventional``, ``poutine.do``) over our default
  intervention grid (20 values over the central 95 % of the training y, N/20 rows each): the best
  any front-door method can do on that grid; and ``oracle-do, wide grid``: the same over
  :math:`\bar y \pm 0.95\,(\max y - \min y)`, a grid that leaves the data's support, to explain the
  paper's A.2 figures (see the results file).

Estimators: A.1 ``SVC(kernel="linear", C=5)`` (accuracy, %), A.2 ``LinearRegression()`` (MSE).
K of the CW-GMMs: chosen by our weighted BIC in the first seed's point fit and reused (as the
``bayes-mech demo`` does). Front-door weight warnings are expected on these data; they are
recorded (with ESS/N and k-hat) rather than printed.

Part 2, small N: A.1 with N = 300 and ``LogisticRegression()`` (calibrated probabilities), 20
seeds; log-loss and expected calibration error (10 equal-width bins of the top-label
confidence) of the ensemble against the point CW-GMM on the non-confounded test set (and the
confounded one), with the same K for both in a seed.

Usage::

    python benchmarks/bench_accuracy.py           # ~15 min; writes results/accuracy.{md,json}
    python benchmarks/bench_accuracy.py --quick   # 2 seeds, small sizes; prints only
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = {
    "naive": "naive (confounded train)",
    "cb": "causal bootstrap (point)",
    "cwgmm": "CW-GMM (point)",
    "ensemble": "Bayesian ensemble",
    "oracle": "oracle (non-conf train)",
    "rule": "x1 > 0 rule",
    "oracle_do": "oracle-do (exact p(x|do(y)), our grid)",
    "oracle_do_wide": "oracle-do, wide grid (leaves the support)",
}
TESTS = ("nonconf", "conf")
METRICS = ("log_loss", "ece", "accuracy")


def notes(result: dict) -> str:
    """The results file's "Notes": what this run's numbers say, computed from them."""
    out = []
    loads = [
        rec["load1"]
        for task in ("A.1", "A.2", "small")
        if task in result
        for rec in result[task]["records"]
    ]
    if loads:
        out += [
            f"**How this run was made.** `{result['command']}`; 1-minute load average "
            f'{min(loads):.1f}-{max(loads):.1f} before the seeds (2 cores). "fit s" columns '
            "are wall times.",
            "",
        ]
    if "A.1" in result:
        sm, recs = result["A.1"]["summary"], result["A.1"]["records"]
        gaps = [r["metric"]["oracle"]["nonconf"] - r["metric"]["ensemble"]["nonconf"] for r in recs]
        ens_w = [r["weights"]["ensemble"] for r in recs]
        out += [
            f"**A.1.** Ensemble {sm['ensemble']['nonconf']['mean']:.2f} % non-confounded against "
            f"the oracle's {sm['oracle']['nonconf']['mean']:.2f} % (mean gap "
            f"{statistics.mean(gaps):.2f} pt, per-seed {min(gaps):+.1f} to {max(gaps):+.1f}, "
            f"standard error {statistics.stdev(gaps) / len(gaps) ** 0.5:.2f} pt) and "
            f"{sm['ensemble']['nonconf']['mean'] - sm['naive']['nonconf']['mean']:.1f} points "
            f"above naive. Boundary normals: naive {sm['naive']['boundary_angle_deg']['mean']:.0f}"
            f" deg from the causal direction x1, ensemble "
            f"{sm['ensemble']['boundary_angle_deg']['mean']:.1f} deg. Weights are thin (ensemble "
            f"min ESS/N {min(w['min_ess_fraction'] for w in ens_w):.4f}-"
            f"{max(w['min_ess_fraction'] for w in ens_w):.4f}, max k-hat "
            f"{min(w['max_khat'] for w in ens_w):.2f}-{max(w['max_khat'] for w in ens_w):.2f} "
            "with the Bayesian bootstrap), yet the classes' CW-GMMs are good enough for a linear "
            "boundary.",
            "",
        ]
    if "A.2" in result:
        sm, recs = result["A.2"]["summary"], result["A.2"]["records"]
        do, wide = sm["oracle_do"], sm["oracle_do_wide"]
        khat = [r["weights"][m]["max_khat"] for r in recs for m in ("cwgmm", "ensemble")]
        out += [
            "**A.2: why the 0.658 target cannot be reached inside the data's support.** Under "
            "do(y = v) the training SCM still has c0 U in X: x = 1.5 v + eps_z + 5 u + eps_x, so "
            "Var(x | do(y)) = 1 + 25 + 1 = 27. OLS of y on x over a design whose y values have "
            "variance V has slope 1.5 V / (2.25 V + 27); our grid (20 values over the central "
            "95 % of y ~ N(2, 2)) has V ~ 2.8, slope ~ 0.127, and on the non-confounded test set "
            "(c0 = 0, x = 1.5 y + noise) MSE = 2 (1 - 1.5 s)^2 + 2 s^2 ~ 1.33. The oracle-do row "
            f"measures exactly that: slope {do['slope']['mean']:.3f} +- {do['slope']['sd']:.3f}, "
            f"MSE {do['nonconf']['mean']:.3f} +- {do['nonconf']['sd']:.3f}, against naive's "
            f"{sm['naive']['nonconf']['mean']:.3f}. MSE <= 0.658 needs s in [0.38, 0.54], i.e. "
            "V >= 16: a grid ~3x wider than the sd of y, far outside the support. The wide-grid "
            f"oracle-do row gives slope {wide['slope']['mean']:.3f} and MSE "
            f"{wide['nonconf']['mean']:.3f}, close to the paper's 0.658. We do not move our grid "
            "out of the support to chase it: there the front-door weights have no data.",
            "",
            "**A.2: our deconfounded rows equal naive.** CB, CW-GMM and the ensemble land on "
            f"slopes {min(sm[m]['slope']['mean'] for m in ('cb', 'cwgmm', 'ensemble')):.3f}-"
            f"{max(sm[m]['slope']['mean'] for m in ('cb', 'cwgmm', 'ensemble')):.3f} (naive "
            f"{sm['naive']['slope']['mean']:.3f}) rather than the oracle-do slope. Under this SCM "
            "E[w^2] = E_y'[exp(b^2 (v - y')^2)] is infinite whenever b^2 Var(y) >= 1/4 (here "
            f"4.5); measured PSIS k-hat {min(khat):.2f}-{max(khat):.2f} (>= 1: the fitted Pareto "
            "tail has no finite mean), so the estimate collapses onto a handful of rows and the "
            "resampled data keep the observational dependence. The ensemble's seed-to-seed sd is "
            f"{sm['ensemble']['nonconf']['sd']:.3f} against {sm['cwgmm']['nonconf']['sd']:.3f} "
            "for the point CW-GMM; no weighting estimator repairs infinite variance.",
            "",
        ]
    if "small" in result:
        sm = result["small"]["summary"]
        nc, cf = sm["nonconf"], sm["conf"]
        out += [
            "**Small N (A.1, N = 300, LogisticRegression).** The ensemble's log-loss is lower "
            f"than the point CW-GMM's in {nc['wins_log_loss']} of {nc['n_seeds']} seeds on the "
            f"non-confounded test set ({cf['wins_log_loss']} of {cf['n_seeds']} on the "
            f"confounded one), mean {nc['ensemble']['log_loss']['mean']:.4f} vs "
            f"{nc['point']['log_loss']['mean']:.4f}, with a smaller spread (sd "
            f"{nc['ensemble']['log_loss']['sd']:.3f} vs {nc['point']['log_loss']['sd']:.3f}): "
            "averaging over mechanism draws and Bayesian-bootstrap row weights removes the point "
            f"method's worst seeds. ECE improves in {nc['wins_ece']} of {nc['n_seeds']} seeds "
            f"(mean {nc['ensemble']['ece']['mean']:.3f} vs {nc['point']['ece']['mean']:.3f}); "
            "ECE on 1,000 test points with 10 bins is itself noisy.",
        ]
    return "\n".join(out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small run, prints only")
    p.add_argument("--seeds", type=int, default=None, help="Table-1 seeds (default 10)")
    p.add_argument("--small-seeds", type=int, default=None, help="small-N seeds (default 20)")
    p.add_argument("--draws", type=int, default=None, help="ensemble S (default 32)")
    p.add_argument("--n-train", type=int, default=None, help="Table-1 N_train (default 5000)")
    p.add_argument("--n-small", type=int, default=300, help="small-N N_train")
    p.add_argument("--n-test", type=int, default=None, help="rows per test set (default 1000)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tasks", default="A.1,A.2,small", help="comma list of A.1, A.2, small")
    p.add_argument("--out", type=Path, default=HERE / "results" / "accuracy.md")
    p.add_argument("--first-seed", type=int, default=0, help="first Table-1 seed")
    p.add_argument("--render", action="store_true", help="only re-write the .md from the .json")
    p.add_argument(
        "--merge", nargs="+", type=Path, help="combine the .json of split runs into --out"
    )
    return p.parse_args(argv)


# ------------------------------------------------------------------------------ helpers
def _learner(estimator, S, k, seed, resampler="cwgmm"):
    from bayes_mech import MechanismLearner

    return MechanismLearner(
        estimator,
        n_draws=S,
        n_components=k,
        resampler=resampler,
        n_jobs=1,
        random_state=seed,
        progress=False,
    )


def _weights_summary(learner) -> dict:
    import numpy as np

    diag = learner.weight_diagnostics_
    khat = diag["khat"].values
    return {
        "min_ess_fraction": float(diag["ess_fraction"].min()),
        "median_ess_fraction": float(diag["ess_fraction"].median()),
        "max_khat": float(np.nanmax(khat)) if np.isfinite(khat).any() else None,
        "median_khat": float(np.nanmedian(khat)) if np.isfinite(khat).any() else None,
    }


def _linear(task, model) -> dict:
    """Boundary angle (A.1) or slope/intercept (A.2), as the demo reports them."""
    from types import SimpleNamespace

    from bayes_mech.experiments import _linear_summary

    return _linear_summary(SimpleNamespace(key=task), model)


def _score(task, pred, y) -> float:
    import numpy as np

    if task == "A.1":
        return float(100.0 * np.mean(pred == y))
    return float(np.mean((np.asarray(pred, dtype=float).reshape(-1) - y) ** 2))


def _oracle_do(train, seed, n_rows, grid):
    """LinearRegression on exact interventional samples over ``grid`` (N / M rows per value)."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    from bayes_mech.datasets import sample_interventional

    per = max(2, n_rows // grid.size)
    parts = [
        sample_interventional("regression", float(v), per, random_state=30_000 + 100 * seed + m)
        for m, v in enumerate(grid)
    ]
    X = np.concatenate([p.X for p in parts])
    y = np.concatenate([p.y for p in parts])
    return LinearRegression().fit(X, y)


# ----------------------------------------------------------------------------- Table 1
def run_table_task(task, seeds, n_train, n_test, S, log, on_seed=None) -> list:
    """Every row of one Table-1 dataset over ``seeds``; returns per-seed records."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.linear_model import LinearRegression
    from sklearn.svm import SVC

    from bayes_mech.datasets import make_frontdoor_classification, make_frontdoor_regression
    from bayes_mech.experiments import _fit_quietly, _fixed_k
    from bayes_mech.weights import default_interventions

    make = make_frontdoor_classification if task == "A.1" else make_frontdoor_regression
    estimator = SVC(kernel="linear", C=5) if task == "A.1" else LinearRegression()
    k = "bic"
    records = []
    for seed in seeds:
        load = os.getloadavg()[0]
        train = make(n_train, confounded=True, random_state=seed)
        tests = {
            "nonconf": make(n_test, confounded=False, random_state=10_000 + seed),
            "conf": make(n_test, confounded=True, random_state=20_000 + seed),
        }
        rec = {"seed": seed, "load1": load, "metric": {}, "linear": {}, "time_s": {}}
        rec["weight_warnings"] = []
        models = {}
        for row in ("naive", "oracle", "cb", "cwgmm", "ensemble"):
            t0 = time.perf_counter()
            if row == "naive":
                model = clone(estimator).fit(train.X, train.y)
            elif row == "oracle":
                clean = make(n_train, confounded=False, random_state=40_000 + seed)
                model = clone(estimator).fit(clean.X, clean.y)
            else:
                S_row = S if row == "ensemble" else 1
                resampler = "bootstrap" if row == "cb" else "cwgmm"
                model = _learner(clone(estimator), S_row, k, seed, resampler)
                _fit_quietly(model, train.X, train.y, train.z, rec["weight_warnings"])
                rec.setdefault("weights", {})[row] = _weights_summary(model)
                if row == "cwgmm" and isinstance(k, str):
                    k = _fixed_k(model)  # selected once (first seed), reused from here on
                    rec["n_components_selected"] = np.asarray(model.n_components_).tolist()
            rec["time_s"][row] = time.perf_counter() - t0
            models[row] = model
        if task == "A.1":
            models["rule"] = None
        else:
            grid = default_interventions(train.y, y_kind="continuous")
            span = 0.95 * (train.y.max() - train.y.min())
            wide = np.linspace(train.y.mean() - span, train.y.mean() + span, grid.size)
            models["oracle_do"] = _oracle_do(train, seed, n_train, grid)
            models["oracle_do_wide"] = _oracle_do(train, seed, n_train, wide)
            rec["grid"] = {"ours": [float(grid[0]), float(grid[-1])]}
            rec["grid"]["wide"] = [float(wide[0]), float(wide[-1])]
            rec["y_train_range"] = [float(train.y.min()), float(train.y.max())]
        for row, model in models.items():
            if row == "rule":
                preds = {t: np.where(d.X[:, 0] > 0, 2, 1) for t, d in tests.items()}
            else:
                preds = {t: model.predict(d.X) for t, d in tests.items()}
                rec["linear"][row] = _linear(task, model)
            rec["metric"][row] = {t: _score(task, preds[t], tests[t].y) for t in TESTS}
        if task == "A.2":
            ens = models["ensemble"]
            band = ens.predict_interval(tests["nonconf"].X, alpha=0.1)
            yt = tests["nonconf"].y
            rec["ensemble_interval90_nonconf"] = {
                "coverage": float(np.mean((band[:, 0] <= yt) & (yt <= band[:, 1]))),
                "mean_width": float(np.mean(band[:, 1] - band[:, 0])),
            }
        rec["weight_warnings"] = sorted(set(rec["weight_warnings"]))
        rec["n_components"] = k if not isinstance(k, dict) else {str(a): b for a, b in k.items()}
        records.append(rec)
        if on_seed is not None:  # keep finished seeds if the run is stopped
            on_seed(records)
        m = rec["metric"]
        log(
            f"{task} seed {seed}: "
            + ", ".join(f"{r} {m[r]['nonconf']:.3f}/{m[r]['conf']:.3f}" for r in m)
            + f"  ({sum(rec['time_s'].values()):.0f} s, load {load:.1f})"
        )
    return records


# ---------------------------------------------------------------------------- small N
def _ece(proba, y, classes, n_bins=10) -> float:
    """Expected calibration error of the top-label confidence, equal-width bins."""
    import numpy as np

    conf = proba.max(axis=1)
    correct = classes[proba.argmax(axis=1)] == y
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    return float(
        sum(
            abs(correct[bins == b].mean() - conf[bins == b].mean()) * np.mean(bins == b)
            for b in range(n_bins)
            if np.any(bins == b)
        )
    )


def run_small_n(seeds, n_train, n_test, S, log) -> list:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    from bayes_mech.datasets import make_frontdoor_classification
    from bayes_mech.experiments import _fit_quietly, _fixed_k

    records = []
    for seed in seeds:
        load = os.getloadavg()[0]
        train = make_frontdoor_classification(n_train, confounded=True, random_state=seed)
        tests = {
            "nonconf": make_frontdoor_classification(
                n_test, confounded=False, random_state=10_000 + seed
            ),
            "conf": make_frontdoor_classification(
                n_test, confounded=True, random_state=20_000 + seed
            ),
        }
        rec = {"seed": seed, "load1": load, "weight_warnings": []}
        point = _learner(LogisticRegression(), 1, "bic", seed)
        _fit_quietly(point, train.X, train.y, train.z, rec["weight_warnings"])
        k = _fixed_k(point)
        ens = _learner(LogisticRegression(), S, k, seed)
        _fit_quietly(ens, train.X, train.y, train.z, rec["weight_warnings"])
        rec["n_components"] = {str(a): b for a, b in k.items()}
        rec["weights"] = {"point": _weights_summary(point), "ensemble": _weights_summary(ens)}
        for name, model in (("point", point), ("ensemble", ens)):
            for t, d in tests.items():
                proba = model.predict_proba(d.X)
                rec.setdefault(name, {})[t] = {
                    "log_loss": float(log_loss(d.y, proba, labels=model.classes_)),
                    "ece": _ece(proba, d.y, model.classes_),
                    "accuracy": float(100 * np.mean(model.classes_[proba.argmax(1)] == d.y)),
                }
        rec["weight_warnings"] = sorted(set(rec["weight_warnings"]))
        records.append(rec)
        p, e = rec["point"]["nonconf"], rec["ensemble"]["nonconf"]
        log(
            f"small-N seed {seed}: log-loss point {p['log_loss']:.4f} ens {e['log_loss']:.4f}; "
            f"ECE point {p['ece']:.4f} ens {e['ece']:.4f} (load {load:.1f})"
        )
    return records


# --------------------------------------------------------------------------- summaries
def _ms(values) -> dict:
    import numpy as np

    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if a.size > 1 else None}


def summarise_table(records) -> dict:
    rows = records[0]["metric"].keys()
    out = {r: {t: _ms([x["metric"][r][t] for x in records]) for t in TESTS} for r in rows}
    for r in rows:
        if r in records[0]["linear"]:
            for key in records[0]["linear"][r]:
                out[r][key] = _ms([x["linear"][r][key] for x in records])
        out[r]["time_s"] = (
            _ms([x["time_s"][r] for x in records]) if r in records[0]["time_s"] else None
        )
    return out


def summarise_small(records) -> dict:
    out = {}
    for t in TESTS:
        out[t] = {
            name: {
                m: _ms([r[name][t][m] for r in records]) for m in ("log_loss", "ece", "accuracy")
            }
            for name in ("point", "ensemble")
        }
        out[t]["wins_log_loss"] = sum(
            r["ensemble"][t]["log_loss"] < r["point"][t]["log_loss"] for r in records
        )
        out[t]["wins_ece"] = sum(r["ensemble"][t]["ece"] < r["point"][t]["ece"] for r in records)
        out[t]["n_seeds"] = len(records)
    return out


def _fmt(stat, digits) -> str:
    text = f"{stat['mean']:.{digits}f}"
    return text + (f" ± {stat['sd']:.{digits}f}" if stat.get("sd") is not None else "")


def targets(result) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the issue's targets that this run covers."""
    out = []
    t1 = result.get("A.1", {}).get("summary")
    if t1:
        ens, ora, nai = (t1[r]["nonconf"]["mean"] for r in ("ensemble", "oracle", "naive"))
        out.append(
            (
                "A.1 ensemble non-conf accuracy within 0.3 pt of the oracle",
                f"{ens:.2f} vs oracle {ora:.2f}: gap {ora - ens:+.2f} pt",
                ora - ens <= 0.3,
            )
        )
        out.append(("A.1 ensemble ≥ 4 pt above naive", f"{ens - nai:+.2f} pt", ens - nai >= 4.0))
    t2 = result.get("A.2", {}).get("summary")
    if t2:
        e = t2["ensemble"]["nonconf"]
        out.append(
            (
                "A.2 ensemble non-conf MSE ≤ 0.658 with sd ≤ 0.05",
                f"{e['mean']:.3f} ± {e['sd'] or 0:.3f}",
                e["mean"] <= 0.658 and (e["sd"] or 0) <= 0.05,
            )
        )
    sm = result.get("small", {}).get("summary")
    if sm:
        w, n = sm["nonconf"]["wins_log_loss"], sm["nonconf"]["n_seeds"]
        out.append(
            (
                "N=300: ensemble log-loss beats point in ≥ 16 of 20 seeds",
                f"{w} of {n} (non-conf test)",
                w >= 0.8 * n,
            )
        )
    return out


def format_md(result) -> str:
    cfg = result["config"]
    lines = [
        "# Accuracy: paper Table 1 (A.1, A.2) and small-N calibration",
        "",
        f"Command: `{result['command']}`  ",
        f"Date: {result['date']}; total run time {result['run_time_s'] / 60:.1f} min  ",
        f"Machine: {result['machine']}  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()),
        "",
        f"N_train = {cfg['n_train']}, test sets {cfg['n_test']} + {cfg['n_test']} "
        f"(non-confounded, confounded), {len(cfg['seeds'])} seeds {cfg['seeds']}; ensemble "
        f"S = {cfg['S']} posterior draws (n_jobs = 1); CB and CW-GMM use the posterior mean "
        "(S = 1). K chosen by weighted BIC in the CW-GMM fit of each run's first seed, reused for "
        "its other seeds. Mean ± sd over "
        "seeds; [brackets]: paper Table 1.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(result)]
    paper = {
        "A.1": {"naive": (78.2, 85.3), "cb": (85.4, 85.5), "cwgmm": (85.4, 85.6)},
        "A.2": {"naive": (1.162, 0.595), "cb": (0.662, 2.679), "cwgmm": (0.658, 2.649)},
    }
    for task, title, digits, extra in (
        ("A.1", "A.1 linear SVM, accuracy %", 1, "boundary_angle_deg"),
        ("A.2", "A.2 linear regression, MSE", 3, None),
    ):
        if task not in result:
            continue
        summ = result[task]["summary"]
        head = ["row", "non-conf test", "conf test"]
        head += ["boundary angle (deg)"] if extra else ["slope", "intercept"]
        head += ["fit s"]
        lines += ["", f"## {title}", "", "| " + " | ".join(head) + " |", "|---|" + "---|" * 4]
        if task == "A.2":
            lines[-1] += "---|"
        for row, stat in summ.items():
            ref = paper[task].get(row)
            cells = [ROWS[row]]
            for i, t in enumerate(TESTS):
                cells.append(_fmt(stat[t], digits) + (f" [{ref[i]}]" if ref else ""))
            keys = [extra] if extra else ["slope", "intercept"]
            cells += [_fmt(stat[k], 3 if task == "A.2" else 1) if k in stat else "-" for k in keys]
            cells.append(f"{stat['time_s']['mean']:.1f}" if stat.get("time_s") else "-")
            lines.append("| " + " | ".join(cells) + " |")
        recs = result[task]["records"]
        kh = [r["weights"]["ensemble"]["max_khat"] for r in recs]
        ess = [r["weights"]["ensemble"]["min_ess_fraction"] for r in recs]
        lines += [
            "",
            f"Front-door weights (ensemble, over seeds): min ESS/N {min(ess):.4f}-{max(ess):.4f}, "
            f"max k-hat {min(kh):.2f}-{max(kh):.2f}. K used (per run): "
            f"{', '.join(sorted({str(r['n_components']) for r in recs}))}. "
            f"Load (1-min) before each seed: {min(r['load1'] for r in recs):.1f}-"
            f"{max(r['load1'] for r in recs):.1f}.",
        ]
        if task == "A.2":
            cov = [r["ensemble_interval90_nonconf"]["coverage"] for r in recs]
            wid = [r["ensemble_interval90_nonconf"]["mean_width"] for r in recs]
            g, w = recs[0]["grid"], recs[0]["y_train_range"]
            lines += [
                f"Ensemble 90 % predictive interval on the non-conf test: coverage "
                f"{100 * sum(cov) / len(cov):.1f} %, mean width {sum(wid) / len(wid):.2f}.",
                f"Seed {recs[0]['seed']}: training y spans [{w[0]:.2f}, {w[1]:.2f}]; our grid "
                f"[{g['ours'][0]:.2f}, {g['ours'][1]:.2f}]; wide grid "
                f"[{g['wide'][0]:.2f}, {g['wide'][1]:.2f}].",
            ]
    if "small" in result:
        sm = result["small"]["summary"]
        lines += [
            "",
            f"## Small N: A.1, N = {cfg['n_small']}, LogisticRegression, "
            f"{len(result['small']['records'])} seeds",
            "",
            "| test set | method | log-loss | ECE | accuracy % | ensemble wins (log-loss, ECE) |",
            "|---|---|---|---|---|---|",
        ]
        for t in TESTS:
            for name in ("point", "ensemble"):
                s = sm[t][name]
                wins = (
                    f"{sm[t]['wins_log_loss']}/{sm[t]['n_seeds']}, "
                    f"{sm[t]['wins_ece']}/{sm[t]['n_seeds']}"
                    if name == "ensemble"
                    else ""
                )
                lines.append(
                    f"| {t} | {name} | {_fmt(s['log_loss'], 4)} | {_fmt(s['ece'], 4)} | "
                    f"{_fmt(s['accuracy'], 1)} | {wins} |"
                )
    lines += ["", "## Notes", "", notes(result), ""]
    return "\n".join(lines)


def merge(parts: list[dict]) -> dict:
    """One result from runs split over processes (same sizes, disjoint seeds or tasks)."""
    out = {k: parts[0][k] for k in ("machine", "versions", "config")}
    out["date"] = min(p["date"] for p in parts)
    out["command"] = " ; ".join(p["command"] for p in parts) + " (concurrent processes, merged)"
    out["run_time_s"] = max(p["run_time_s"] for p in parts)
    out["run_time_note"] = [p["run_time_s"] for p in parts]
    seeds = set()
    for task, summarise in (("A.1", summarise_table), ("A.2", summarise_table)):
        recs = sorted(
            (r for p in parts for r in p.get(task, {}).get("records", [])), key=lambda r: r["seed"]
        )
        if recs:
            out[task] = {"summary": summarise(recs), "records": recs}
            seeds |= {r["seed"] for r in recs}
    small = [r for p in parts for r in p.get("small", {}).get("records", [])]
    if small:
        out["small"] = {"summary": summarise_small(small), "records": small}
        out["config"]["small_seeds"] = sorted(r["seed"] for r in small)
    out["config"]["seeds"] = sorted(seeds)
    by_s: dict = {}
    for p in parts:
        names = [t for t in ("A.1", "A.2", "small") if t in p]
        by_s.setdefault(p["config"]["S"], set()).update(names)
    out["config"]["S"] = "; ".join(f"{s} ({', '.join(sorted(t))})" for s, t in by_s.items())
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.merge:
        result = merge([json.loads(path.read_text()) for path in args.merge])
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    if args.render or args.merge:
        result = json.loads(args.out.with_suffix(".json").read_text())
        args.out.write_text(format_md(result))
        print(f"wrote {args.out}")
        return result
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    from bayes_mech.experiments import versions

    torch.set_num_threads(args.threads)
    q = args.quick
    n_seeds = args.seeds or (2 if q else 10)
    small_seeds = args.small_seeds or (3 if q else 20)
    cfg = {
        "seeds": list(range(args.first_seed, args.first_seed + n_seeds)),
        "n_train": args.n_train or (1000 if q else 5000),
        "n_test": args.n_test or (500 if q else 1000),
        "S": args.draws or (8 if q else 32),
        "n_small": args.n_small,
        "small_seeds": list(range(small_seeds)),
        "threads": args.threads,
    }
    tasks = [t.strip() for t in args.tasks.split(",")]
    start = time.perf_counter()
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{platform.platform()}, {os.cpu_count()} cores, {args.threads} threads",
        "versions": versions(),
        "config": cfg,
    }

    def log(msg):
        print(f"[{time.perf_counter() - start:6.0f} s] {msg}", flush=True)

    for task in ("A.1", "A.2", "small"):
        if task not in tasks:
            continue
        if task == "small":
            recs = run_small_n(cfg["small_seeds"], cfg["n_small"], cfg["n_test"], cfg["S"], log)
            result[task] = {"summary": summarise_small(recs), "records": recs}
        else:

            def save_partial(recs, task=task):
                result[task] = {"summary": summarise_table(recs), "records": recs}
                result["run_time_s"] = time.perf_counter() - start
                if not q:
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")

            recs = run_table_task(
                task, cfg["seeds"], cfg["n_train"], cfg["n_test"], cfg["S"], log, save_partial
            )
            result[task] = {"summary": summarise_table(recs), "records": recs}
        result["run_time_s"] = time.perf_counter() - start
        if not q:  # keep what is done if a later task fails
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    text = format_md(result)
    print(text)
    for t, m, ok in targets(result):
        print(f"target {'MET ' if ok else 'MISS'}: {t}: {m}")
    if not q:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return result


if __name__ == "__main__":
    main()

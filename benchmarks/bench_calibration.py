r"""Pipeline calibration: is the ensemble's spread honest about its distance from the truth?

For each setting (the paper's A.1; A.2 with mechanism slope b = 1.5 and b = 0.4), each training
size N and each resampler, R replications draw a confounded training set, fit a default
``MechanismLearner`` (S = 32, LogisticRegression / LinearRegression) and compare its members
with the **estimand**: the same estimator trained on ``--estimand-rows`` (default 400k) exact
interventional rows from ``poutine.do`` on the SCM, y uniform over the learner's own intervention
values. Model misspecification of the estimator therefore does not count against the band.

Reported per (setting, N, resampler):

* ``band``: share of the fixed test points (``--points``, pooled over replications) where the
  members' central 90 % range (5 %-95 % quantiles) holds the estimand's prediction
  (p(y = 2 | x) for A.1, E[y | x] for A.2); ``band_se``: its standard error over replications
  (the replications are the unit of independence);
* ``band_nominal``: what ``band`` is for a perfectly calibrated ensemble of S members (the
  estimand exchangeable with the members): S + 1 equally likely ranks put it between the
  interpolated 5 % and 95 % quantiles of S draws with probability about
  (0.9 (S - 1)) / (S + 1), simulated here exactly: 0.85 for S = 32, not 0.90;
* ``spread_skill``: sqrt(mean (member mean - estimand)^2 / mean member variance), divided by
  sqrt(1 + 1/S), its value for a calibrated ensemble: 1 is honest, above 1 the members' spread
  is too narrow for their error, below 1 too wide; ``rank_hist`` (JSON) counts the estimand's
  rank among the members (S + 1 bins, flat when calibrated);
* ``interval``: A.2 only, coverage of ``predict_interval(alpha=0.1)`` for new interventional
  (x, y) pairs (y uniform over the grid, x from ``poutine.do``);
* ``member_sd``: mean over test points of the members' sd; its contraction from the smallest
  to the largest N is in the summary (a pure 1/sqrt(N) posterior gives sqrt(5) = 2.24 for
  N = 1000 -> 5000);
* ``mc_share``: the share of member variance that is Monte Carlo noise: every member is refitted
  with fresh resampling seeds on the same posterior draws and weights, and
  Var_MC = mean((f - f')^2) / 2 over members and points;
* ``accuracy`` (A.1, % on the non-confounded test set) against ``oracle`` (the estimator trained
  on N non-confounded rows) and ``estimand_accuracy``; A.2 ``slope`` (members' mean) against the
  estimand's ``estimand_slope``;
* the resampler ``auto`` ran, and the fit time.

Usage::

    python benchmarks/bench_calibration.py                       # full: ~1-2 h on 2 cores
    python benchmarks/bench_calibration.py --quick               # a minute; prints only
    python benchmarks/bench_calibration.py --settings A.2-b1.5 --sizes 2000 --reps 20
    python benchmarks/bench_calibration.py --render              # .md and figure from .json

Writes ``results/calibration.{md,json,png}``. ``tests/test_bench_calibration.py`` runs the
``--quick`` form in CI.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESAMPLERS = ("auto", "cwgmm", "gformula", "bootstrap")
SETTINGS = {
    # name: (SCM, model kwargs)
    "A.1": ("classification", {}),
    "A.2-b1.5": ("regression", {"b": 1.5}),
    "A.2-b0.4": ("regression", {"b": 0.4}),
}


# ---------------------------------------------------------------------------------- data
def _draw(setting: str, n: int, seed: int, confounded: bool = True):
    from bayes_mech.datasets._base import run_model
    from bayes_mech.datasets.synthetic import classification_model, regression_model

    kind, kw = SETTINGS[setting]
    model = classification_model if kind == "classification" else regression_model
    out = run_model(model, n, seed, confounded=confounded, **kw)
    y = out["y"].numpy()
    return (
        out["x"].numpy(),
        (y.astype(np.int64) if kind == "classification" else y),
        out["z"].numpy(),
    )


def _interventional(setting: str, values, n_total: int, seed: int):
    """``n_total`` rows with y uniform over ``values`` and x ~ p(x | do(y)) (poutine.do)."""
    from bayes_mech.datasets._base import run_model
    from bayes_mech.datasets.synthetic import classification_model, regression_model

    kind, kw = SETTINGS[setting]
    model = classification_model if kind == "classification" else regression_model
    per = max(2, n_total // len(values))
    X = np.concatenate(
        [
            run_model(model, per, seed + m, intervention=float(v), **kw)["x"].numpy()
            for m, v in enumerate(values)
        ]
    )
    y = np.repeat(np.asarray(values), per)
    return X, (y.astype(np.int64) if kind == "classification" else y)


def _estimator(setting: str):
    from sklearn.linear_model import LinearRegression, LogisticRegression

    return LogisticRegression() if SETTINGS[setting][0] == "classification" else LinearRegression()


def _predict(setting: str, model, X) -> np.ndarray:
    if SETTINGS[setting][0] == "classification":
        return model.predict_proba(X)[:, 1]
    return np.asarray(model.predict(X), dtype=np.float64).reshape(-1)


# ------------------------------------------------------------------------------ one fit
def _learner(setting, resampler, S, seed, pooling=False, selection=("bic", "full")):
    from bayes_mech import MechanismLearner
    from bayes_mech.mixture.selection import AUTO_COVARIANCE_TYPES

    n_components, covariance_type = selection
    if covariance_type == "auto":  # all four structures in any dimension (the list form)
        covariance_type = list(AUTO_COVARIANCE_TYPES)
    return MechanismLearner(
        _estimator(setting), n_draws=S, resampler=resampler, partial_pooling=pooling,
        n_components=n_components, covariance_type=covariance_type, progress=False,
        random_state=seed,
    )  # fmt: skip


def _members(setting, learner, X) -> np.ndarray:
    """Every member's prediction at X, shape (S, n)."""
    return np.stack([_predict(setting, e, X) for e in learner.estimators_])


def _mc_refit(setting, learner, X, y, z, seed, points) -> np.ndarray:
    """The members refitted with fresh resampling seeds on the same draws and weights."""
    from bayes_mech.resamplers import RESAMPLERS, FrontDoorProblem

    S, N = len(learner.estimators_), X.shape[0]
    # The learner draws its stage seeds in a documented order: the bootstrap seed is the third.
    boot_seed = int(np.random.RandomState(seed).randint(0, 2**31 - 1, size=6)[2])
    name = learner.resampler_.name
    problem = FrontDoorProblem(
        learner._map_features(X, name),
        y,
        z,
        learner.mechanism_,
        learner.draws_,
        learner.interventions_,
        learner.log_weights_,
        learner._row_log_weights(S, N, boot_seed),
    )
    resampler = RESAMPLERS[name](**learner._resampler_params(name))
    per_value, n_holdout = learner._sample_sizes(N)
    fresh = np.random.RandomState(seed + 7919)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        samples = resampler.resample(problem, per_value + n_holdout, fresh)
        refit = _clone_learner_state(learner)
        refit._fit_ensemble(
            learner._unmap_features(samples),
            per_value,
            fresh.randint(0, 2**31 - 1, size=S).tolist(),
        )
    return _members(setting, refit, points)


def _clone_learner_state(learner):
    import copy

    out = copy.copy(learner)
    out.estimators_ = None
    return out


def run_one(
    setting, N, resampler, rep, S, points, estimand_rows, estimand_cache, mc=True, pooling=False,
    selection=("bic", "full"),
):  # fmt: skip
    """One replication: fit, compare with the estimand, return a record of numbers.
    ``selection``: the learner's ``(n_components, covariance_type)``."""
    seed = 1000 * rep + N % 997
    X, y, z = _draw(setting, N, seed)
    learner = _learner(setting, resampler, S, seed, pooling, selection)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learner.fit(X, y, z)
    fit_s = time.perf_counter() - start
    values = learner.interventions_
    key = (setting, tuple(np.round(values, 12).tolist()))
    if key not in estimand_cache:
        Xd, yd = _interventional(setting, values, estimand_rows, seed=10_000_019)
        estimand_cache[key] = _estimator(setting).fit(Xd, yd)
    estimand = estimand_cache[key]
    truth = _predict(setting, estimand, points)
    members = _members(setting, learner, points)
    lo, hi = np.quantile(members, [0.05, 0.95], axis=0)
    rec = {
        "setting": setting,
        "N": N,
        "resampler": resampler,
        "rep": rep,
        "ran": learner.resampler_.name,
        "reason": learner.resampler_reason_,
        "fit_s": fit_s,
        "band": float(np.mean((lo <= truth) & (truth <= hi))),
        "member_sd": float(members.std(axis=0, ddof=1).mean()),
        "member_var": float(members.var(axis=0, ddof=1).mean()),
        "bias": float(np.mean(members.mean(axis=0) - truth)),
        "sq_error": float(np.mean((members.mean(axis=0) - truth) ** 2)),
        "rank_hist": np.bincount(
            (members < truth).sum(axis=0), minlength=members.shape[0] + 1
        ).tolist(),
        "abs_error": float(np.mean(np.abs(members.mean(axis=0) - truth))),
    }
    if mc:
        again = _mc_refit(setting, learner, X, y, z, seed, points)
        rec["mc_var"] = float(np.mean((members - again) ** 2) / 2.0)
    if SETTINGS[setting][0] == "classification":
        Xt, yt, _ = _draw(setting, 2000, seed + 1, confounded=False)
        Xo, yo, _ = _draw(setting, N, seed + 2, confounded=False)
        rec["accuracy"] = 100.0 * float(np.mean(learner.predict(Xt) == yt))
        rec["oracle"] = 100.0 * float(_estimator(setting).fit(Xo, yo).score(Xt, yt))
        rec["estimand_accuracy"] = 100.0 * float(estimand.score(Xt, yt))
    else:
        rec["slope"] = float(np.mean([e.coef_[0] for e in learner.estimators_]))
        rec["estimand_slope"] = float(estimand.coef_[0])
        Xi, yi = _interventional(setting, values, 2000, seed=seed + 3)
        interval = learner.predict_interval(Xi, alpha=0.1)
        rec["interval"] = float(np.mean((interval[:, 0] <= yi) & (yi <= interval[:, 1])))
    return rec


# --------------------------------------------------------------------------- summaries
def _group(records):
    groups: dict = {}
    for r in records:
        groups.setdefault((r["setting"], r["N"], r["resampler"]), []).append(r)
    return groups


def summarise(records) -> list[dict]:
    out = []
    for (setting, N, resampler), recs in sorted(_group(records).items()):
        bands = [r["band"] for r in recs]
        row = {
            "setting": setting,
            "N": N,
            "resampler": resampler,
            "reps": len(recs),
            "ran": sorted({r["ran"] for r in recs}),
            "band": statistics.mean(bands),
            "band_se": statistics.stdev(bands) / len(bands) ** 0.5 if len(bands) > 1 else None,
            "member_sd": statistics.mean(r["member_sd"] for r in recs),
            "abs_error": statistics.mean(r["abs_error"] for r in recs),
            "fit_s": statistics.median(r["fit_s"] for r in recs),
        }
        if all("sq_error" in r for r in recs):
            S = len(recs[0]["rank_hist"]) - 1
            row["band_nominal"] = band_nominal(S)
            ratio = sum(r["sq_error"] for r in recs) / sum(r["member_var"] for r in recs)
            row["spread_skill"] = (ratio / (1.0 + 1.0 / S)) ** 0.5
            row["rank_hist"] = np.sum([r["rank_hist"] for r in recs], axis=0).tolist()
        if all("mc_var" in r for r in recs):
            row["mc_share"] = sum(r["mc_var"] for r in recs) / sum(r["member_var"] for r in recs)
        for name in ("accuracy", "oracle", "estimand_accuracy", "slope", "estimand_slope",
                     "interval"):  # fmt: skip
            if name in recs[0]:
                row[name] = statistics.mean(r[name] for r in recs)
        if "slope" in recs[0]:
            row["slope_error_sd"] = statistics.pstdev(
                [r["slope"] - r["estimand_slope"] for r in recs]
            )
        out.append(row)
    return out


def band_nominal(S: int, n_sim: int = 200_000) -> float:
    """Coverage of the members' interpolated 5 %-95 % range for an estimand exchangeable with
    the S members (a calibrated ensemble), simulated with Gaussian members (fixed seed; other
    shapes move it by about 0.002): 0.85 for S = 32. The order-statistic value without the
    interpolation is (0.9 (S - 1)) / (S + 1)."""
    rng = np.random.default_rng(20_261_202)
    draws = rng.normal(size=(n_sim, S + 1))
    lo, hi = np.quantile(draws[:, :S], [0.05, 0.95], axis=1)
    return float(np.mean((lo <= draws[:, S]) & (draws[:, S] <= hi)))


def contraction(summary) -> list[dict]:
    """Member sd at the smallest N over that at the largest, per (setting, resampler)."""
    out = []
    by = {}
    for row in summary:
        by.setdefault((row["setting"], row["resampler"]), []).append(row)
    for (setting, resampler), rows in sorted(by.items()):
        rows = sorted(rows, key=lambda r: r["N"])
        if len(rows) > 1:
            out.append(
                {
                    "setting": setting,
                    "resampler": resampler,
                    "from_N": rows[0]["N"],
                    "to_N": rows[-1]["N"],
                    "ratio": rows[0]["member_sd"] / rows[-1]["member_sd"],
                    "ideal": (rows[-1]["N"] / rows[0]["N"]) ** 0.5,
                }
            )
    return out


def _fmt(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(result) -> str:
    """The summary and contraction tables (also rendered into the docs by the site's hook)."""
    lines = [
        "| setting | N | resampler (ran) | reps | band | band se | spread-skill | member sd | "
        "mc share | accuracy / oracle / estimand (%) | slope / estimand | interval | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["summary"]:
        acc = (
            f"{row['accuracy']:.1f} / {row['oracle']:.1f} / {row['estimand_accuracy']:.1f}"
            if "accuracy" in row
            else "-"
        )
        slope = f"{row['slope']:.3f} / {row['estimand_slope']:.3f}" if "slope" in row else "-"
        lines.append(
            f"| {row['setting']} | {row['N']} | {row['resampler']} ({', '.join(row['ran'])}) | "
            f"{row['reps']} | {row['band']:.2f} | {_fmt(row['band_se'], 3)} | "
            f"{_fmt(row.get('spread_skill'), 2)} | "
            f"{row['member_sd']:.4f} | {_fmt(row.get('mc_share'), 2)} | {acc} | {slope} | "
            f"{_fmt(row.get('interval'), 2)} | {row['fit_s']:.2f} |"
        )
    contr = result.get("contraction", [])
    if contr:
        lines += [
            "",
            "Member sd contraction from the smallest to the largest N (ideal: the square root of "
            "the ratio of the Ns, for spread that is all posterior):",
            "",
            "| setting | resampler | N | ratio | ideal |",
            "|---|---|---|---|---|",
        ]
        for c in contr:
            lines.append(
                f"| {c['setting']} | {c['resampler']} | {c['from_N']} -> {c['to_N']} | "
                f"{c['ratio']:.2f} | {c['ideal']:.2f} |"
            )
    return "\n".join(lines) + "\n"


README_START, README_END = "<!-- calibration:start -->", "<!-- calibration:end -->"


def readme_table(result, N: int = 2000) -> str:
    """The README's table: every setting and resampler at one N (default 2000)."""
    S = result["config"]["S"]
    lines = [
        f"| setting (N = {N}, {result['config']['reps']} replications) | resampler (ran) | "
        f"band coverage (calibrated, S = {S}: {band_nominal(S):.2f}) | spread-skill "
        "(calibrated: 1) | member sd | Monte Carlo share | accuracy % (oracle) "
        "or slope (estimand) | `predict_interval(0.1)` coverage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result["summary"]:
        if row["N"] != N:
            continue
        target = (
            f"{row['accuracy']:.1f} ({row['oracle']:.1f})"
            if "accuracy" in row
            else f"{row['slope']:.3f} ({row['estimand_slope']:.3f})"
        )
        lines.append(
            f"| {row['setting']} | {row['resampler']} ({', '.join(row['ran'])}) | "
            f"{row['band']:.2f} ± {_fmt(row['band_se'], 2)} | "
            f"{_fmt(row.get('spread_skill'), 2)} | {row['member_sd']:.3f} | "
            f"{_fmt(row.get('mc_share'), 2)} | {target} | {_fmt(row.get('interval'), 2)} |"
        )
    return "\n".join(lines) + "\n"


def write_readme(result, readme: Path) -> None:
    """Replace the block between the README's calibration markers with :func:`readme_table`."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    readme.write_text(text[:start] + "\n" + readme_table(result) + text[end:], encoding="utf-8")


def _row(result, setting, N, resampler):
    for row in result["summary"]:
        if (row["setting"], row["N"], row["resampler"]) == (setting, N, resampler):
            return row
    return None


def targets(result) -> list[tuple[str, str, bool | None]]:
    """Issue #14's targets, each with what this run measured (None: not measured here)."""
    out = []

    def add(name, row, measure, ok):
        if row is None:
            out.append((name, "not in this run", None))
        else:
            out.append((name, measure(row), bool(ok(row))))

    add(
        "A.2 b=1.5, N=2000, auto: slope within +-0.02 of the estimand's",
        _row(result, "A.2-b1.5", 2000, "auto"),
        lambda r: f"{r['slope']:.3f} vs {r['estimand_slope']:.3f}",
        lambda r: abs(r["slope"] - r["estimand_slope"]) <= 0.02,
    )
    add(
        "A.2 b=1.5, N=2000, auto: band >= 0.80",
        _row(result, "A.2-b1.5", 2000, "auto"),
        lambda r: f"{r['band']:.2f} +- {_fmt(r['band_se'], 2)}",
        lambda r: r["band"] >= 0.80,
    )
    for setting, N in (("A.1", 1000), ("A.1", 5000), ("A.2-b0.4", 2000)):
        add(
            f"{setting}, N={N}, auto: band in [0.85, 0.95]",
            _row(result, setting, N, "auto"),
            lambda r: f"{r['band']:.2f} +- {_fmt(r['band_se'], 2)}",
            lambda r: 0.85 <= r["band"] <= 0.95,
        )
    add(
        "A.2 b=0.4, N=2000, auto: predict_interval(0.1) covers 0.87-0.93",
        _row(result, "A.2-b0.4", 2000, "auto"),
        lambda r: f"{r['interval']:.3f}",
        lambda r: 0.87 <= r["interval"] <= 0.93,
    )
    contr = [
        c
        for c in result.get("contraction", [])
        if (c["setting"], c["resampler"]) == ("A.1", "auto")
    ]
    add(
        "A.1, auto: member sd shrinks >= 1.8x from N=1000 to N=5000",
        contr[0] if contr else None,
        lambda c: f"{c['ratio']:.2f}x ({c['from_N']} -> {c['to_N']})",
        lambda c: c["ratio"] >= 1.8,
    )
    for N in (1000, 5000):
        add(
            f"A.1, N={N}, auto: Monte Carlo share of member variance <= 0.25",
            _row(result, "A.1", N, "auto"),
            lambda r: f"{r.get('mc_share', float('nan')):.2f}",
            lambda r: r.get("mc_share", 1.0) <= 0.25,
        )
    for resampler in RESAMPLERS:
        add(
            f"A.1, N=5000, {resampler}: within 0.5 pt of the oracle (non-confounded test)",
            _row(result, "A.1", 5000, resampler),
            lambda r: f"{r['accuracy']:.2f} vs {r['oracle']:.2f}",
            lambda r: r["accuracy"] >= r["oracle"] - 0.5,
        )
    return out


def format_md(result) -> str:
    m = result["machine"]
    lines = [
        "# Pipeline calibration",
        "",
        f"Command: `{result['command']}`  ",
        f"Date: {result['date']}  ",
        f"Machine: {m['summary']}; load average before the run {m['load_average']}  ",
        f"Run time: {result.get('run_time_s', 0) / 60:.1f} min; S = {result['config']['S']}, "
        f"{result['config']['points']} test points, estimand from "
        f"{result['config']['estimand_rows']} interventional rows"
        + (
            "; every learner with partial_pooling=True"
            if result["config"].get("partial_pooling")
            else ""
        )
        + (
            f"; every learner with n_components={result['config']['n_components']!r}, "
            f"covariance_type={result['config']['covariance_type']!r}."
            if (
                result["config"].get("n_components", "bic"),
                result["config"].get("covariance_type", "full"),
            )
            != ("bic", "full")
            else "."
        ),
        "",
        "band = share of test points where the members' 5 %-95 % range holds the estimand "
        "(se over replications). With S members a calibrated ensemble does not reach 0.90: "
        "the estimand is then one of S + 1 exchangeable values, and the range between the "
        f"interpolated 5 % and 95 % quantiles of S = {result['config']['S']} holds it with "
        f"probability {band_nominal(result['config']['S']):.3f} (simulated). "
        "spread-skill = sqrt(mean (member mean - estimand)^2 / mean member variance) / "
        "sqrt(1 + 1/S): 1 for a calibrated ensemble, above 1 spread too narrow, below 1 too "
        "wide. interval = `predict_interval(0.1)` coverage of interventional pairs (nominal "
        "0.90); mc share = Monte Carlo share of member variance.",
        "",
        format_table(result),
        "## Targets (issue #14)",
        "",
    ]
    for name, measured, ok in targets(result):
        verdict = {True: "met", False: "MISSED", None: "-"}[ok]
        lines.append(f"- {verdict}: {name}: {measured}")
    lines.append("")
    return "\n".join(lines)


def plot(result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = sorted({r["setting"] for r in result["summary"]})
    fig, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 3.4), squeeze=False)
    for ax, setting in zip(axes[0], settings, strict=True):
        rows = [r for r in result["summary"] if r["setting"] == setting]
        for resampler in RESAMPLERS:
            sub = sorted((r for r in rows if r["resampler"] == resampler), key=lambda r: r["N"])
            if not sub:
                continue
            ns = [r["N"] for r in sub]
            band = np.array([r["band"] for r in sub])
            se = np.array([r["band_se"] or 0.0 for r in sub])
            ax.errorbar(ns, band, yerr=2 * se, marker="o", capsize=3, label=resampler)
        ax.axhline(0.9, color="k", lw=0.8, ls="--", label="0.90")
        ax.axhline(
            band_nominal(result["config"]["S"]), color="k", lw=0.8, ls=":",
            label=f"calibrated, S = {result['config']['S']}",
        )  # fmt: skip
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_title(setting)
        ax.set_xlabel("N (training rows)")
        ax.set_ylabel("band coverage")
    axes[0][0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny run (CI's short form)")
    p.add_argument("--settings", default=",".join(SETTINGS), help="comma list of settings")
    p.add_argument("--sizes", default="1000,2000,5000", help="comma list of N")
    p.add_argument("--resamplers", default=",".join(RESAMPLERS))
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--draws", type=int, default=32)
    p.add_argument("--points", type=int, default=300)
    p.add_argument("--estimand-rows", type=int, default=400_000)
    p.add_argument("--no-mc", action="store_true", help="skip the Monte Carlo refits")
    p.add_argument(
        "--partial-pooling", action="store_true", help="every learner with partial_pooling=True"
    )
    p.add_argument("--n-components", default="bic", help="every learner's n_components")
    p.add_argument(
        "--covariance-type", default="full",
        help="every learner's covariance_type; auto: chosen among all four in any dimension "
        "(the learner's list form, not its 'auto', which is full where the BIC identifies K > 1)",
    )  # fmt: skip
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=HERE / "results" / "calibration.md")
    p.add_argument("--render", action="store_true", help="only re-write .md/.png from .json")
    p.add_argument("--readme", type=Path, help="with --render: also rewrite this README's table")
    p.add_argument("--merge", nargs="+", type=Path, help="combine the .json of split runs")
    return p.parse_args(argv)


def _write(result, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    result["summary"] = summarise(result["records"])
    result["contraction"] = contraction(result["summary"])
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.write_text(format_md(result))
    plot(result, out.with_suffix(".png"))


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.merge:
        parts = [json.loads(p.read_text()) for p in args.merge]
        result = {**parts[0], "records": [r for p in parts for r in p["records"]]}
        result["command"] = " ; ".join(p["command"] for p in parts)
        result["date"] = " ; ".join(dict.fromkeys(p["date"] for p in parts))
        result["run_time_s"] = sum(p.get("run_time_s", 0) for p in parts)
        _write(result, args.out)
        print(f"wrote {args.out}")
        return result
    if args.render:
        result = json.loads(args.out.with_suffix(".json").read_text())
        _write(result, args.out)
        if args.readme is not None:
            write_readme(result, args.readme)
        return result
    from bayes_mech.experiments import run_record, use_threads

    use_threads(args.threads)
    q = args.quick
    cfg = {
        "settings": args.settings.split(",") if not q else ["A.1", "A.2-b1.5"],
        "sizes": [int(n) for n in args.sizes.split(",")] if not q else [400, 800],
        "resamplers": args.resamplers.split(",") if not q else ["auto", "cwgmm", "gformula"],
        "reps": args.reps if not q else 2,
        "S": args.draws if not q else 6,
        "points": args.points if not q else 50,
        "estimand_rows": args.estimand_rows if not q else 20_000,
        "mc": not args.no_mc,
        "partial_pooling": bool(args.partial_pooling),
        "n_components": args.n_components,
        "covariance_type": args.covariance_type,
    }
    for s in cfg["settings"]:
        if s not in SETTINGS:
            raise SystemExit(f"unknown setting {s!r}; choose from {list(SETTINGS)}")
    result = run_record(cfg, sys.argv)
    start = time.perf_counter()
    cache: dict = {}
    for setting in cfg["settings"]:
        points = _draw(setting, cfg["points"], 777_777, confounded=False)[0]
        for N in cfg["sizes"]:
            for rep in range(cfg["reps"]):
                for resampler in cfg["resamplers"]:
                    rec = run_one(
                        setting, N, resampler, rep, cfg["S"], points, cfg["estimand_rows"],
                        cache, mc=cfg["mc"], pooling=cfg["partial_pooling"],
                        selection=(cfg["n_components"], cfg["covariance_type"]),
                    )  # fmt: skip
                    result["records"].append(rec)
                    print(
                        f"[{time.perf_counter() - start:6.0f} s] {setting} N={N} rep={rep} "
                        f"{resampler}->{rec['ran']}: band {rec['band']:.2f}, "
                        f"sd {rec['member_sd']:.4f}, fit {rec['fit_s']:.1f}s",
                        flush=True,
                    )
                result["run_time_s"] = time.perf_counter() - start
                if not q:
                    _write(result, args.out)
    result["summary"] = summarise(result["records"])
    result["contraction"] = contraction(result["summary"])
    print(format_md(result))
    if not q:
        _write(result, args.out)
        print(f"wrote {args.out} (.json, .png)")
    return result


if __name__ == "__main__":
    main()

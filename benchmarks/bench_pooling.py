"""Which fitted parameter of the CW-GMMs costs accuracy in high dimension, and partial pooling.

    python benchmarks/bench_pooling.py            # 3 seeds, d = 32 and 64, results/pooling.md
    python benchmarks/bench_pooling.py --quick    # 1 seed, d = 32, printed only

On ``bench_selection``'s synthetic front-door problem (4 well-separated clusters; ``y`` moves
feature 0 only, through ``z``; N = 2,000, non-confounded test set of 5,000 rows) a learner with
K = 4 diagonal CW-GMMs (the generating structure) is fitted with ``S`` draws. Then, per draw,
``n`` rows per intervention value are drawn from the true ``p(x | do(y))`` with one fitted
parameter swapped in at a time (each fitted component matched to its true cluster), a
LogisticRegression is trained on each draw's rows and the draws' probabilities are averaged,
as the learner does:

* ``exact``: the true model;
* ``fitted proportions`` / ``fitted variances``: that parameter from the fit;
* ``fitted means, unmoved features``: the fitted means in the features ``y`` does not move;
* ``fitted means``: all fitted means;
* ``fitted mixture``: every parameter fitted (what the learner samples).

The learner's own accuracy is reported with and without ``partial_pooling``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

VARIANTS = {  # name: which parameters come from the fit (proportions, means, variances)
    "exact": (False, None, False),
    "fitted proportions": (True, None, False),
    "fitted variances": (False, None, True),
    "fitted means, unmoved features": (False, "unmoved", False),
    "fitted means": (False, "all", False),
    "fitted mixture": (True, "all", True),
}


def decompose(d: int, seed: int, S: int, n: int) -> dict:
    from bench_selection import synthetic_clusters
    from sklearn.linear_model import LogisticRegression

    import bayes_mech as bm

    rng = np.random.default_rng(seed)
    X, y, z = synthetic_clusters(2000, d, rng)
    Xt, yt, _ = synthetic_clusters(5000, d, rng, confounded=False)
    centres = np.random.default_rng(1234 + d).normal(0.0, 3.0, (4, d))  # synthetic_clusters'
    true_var = np.ones(d)
    true_var[0] += 1.5**2  # z ~ N(+-1, 1) enters feature 0 with slope 1.5
    true_var[1] += 2.0**2  # u ~ N(0, 1) enters feature 1 with slope 2
    out = {}
    for pooling in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            learner = bm.MechanismLearner(
                LogisticRegression(max_iter=2000), n_draws=S, n_components=4,
                covariance_type="diag", resampler="cwgmm", partial_pooling=pooling,
                progress=False, random_state=seed,
            ).fit(X, y, z)  # fmt: skip
        key = "learner, partial pooling" if pooling else "learner"
        out[key] = float(learner.score(Xt, yt))
        if pooling:
            continue
        bank = learner.resampler_.mixtures_
        weights, means, scale = (a.numpy() for a in (bank.weights, bank.means, bank.scale))
        values = learner.interventions_
        draw_rng = np.random.default_rng(10_000 + seed)
        for name, (fit_pi, fit_mu, fit_var) in VARIANTS.items():
            probs = []
            for s in range(weights.shape[0]):
                rows, labels = [], []
                for m, v in enumerate(values):
                    match = np.array(
                        [np.argmin(((centres[:, 2:] - mu[2:]) ** 2).sum(1)) for mu in means[s, m]]
                    )
                    shift = np.zeros(d)
                    shift[0] = 1.5 * (1.0 if v == 2 else -1.0)  # 1.5 E[z | do(y)]
                    truth = centres[match] + shift
                    pi = weights[s, m] if fit_pi else 1.0 / np.bincount(match, minlength=4)[match]
                    mu = truth.copy()
                    if fit_mu == "all":
                        mu = means[s, m]
                    elif fit_mu == "unmoved":
                        mu[:, 2:] = means[s, m][:, 2:]
                    sd = scale[s, m] if fit_var else np.sqrt(np.broadcast_to(true_var, mu.shape))
                    k = draw_rng.choice(len(pi), n, p=pi / pi.sum())
                    rows.append(mu[k] + sd[k] * draw_rng.normal(size=(n, d)))
                    labels.append(np.full(n, v))
                clf = LogisticRegression(max_iter=2000)
                probs.append(clf.fit(np.vstack(rows), np.concatenate(labels)).predict_proba(Xt))
            pred = np.asarray(values)[np.mean(probs, 0).argmax(1)]
            out[name] = float(np.mean(pred == yt))
    return out


def format_md(result: dict) -> str:
    m, cfg = result["machine"], result["config"]
    names = ["learner", "learner, partial pooling", *VARIANTS]
    lines = [
        "# Where the CW-GMMs lose accuracy in high dimension",
        "",
        f"Command: `{result['command']}`; date {result['date']}; {m['summary']}; load "
        f"{m['load_average']}; run time {result['run_time_s']:.0f} s.",
        "",
        f"K = 4 diagonal CW-GMMs, S = {cfg['S']} draws, {cfg['n']} rows per value and draw for "
        f"the swapped models; accuracy % on the non-confounded test set, mean over seeds "
        f"{cfg['seeds']}.",
        "",
        "| d | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for d, row in result["summary"].items():
        lines.append(f"| {d} | " + " | ".join(f"{100 * row[k]:.2f}" for k in names) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--dims", default="32,64")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--draws", type=int, default=8)
    p.add_argument("--rows", type=int, default=2000, help="rows per value and draw")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=HERE / "results" / "pooling.md")
    args = p.parse_args(argv)
    from bayes_mech.experiments import run_record, use_threads, write_results

    use_threads(args.threads)
    q = args.quick
    cfg = {
        "dims": [32] if q else [int(v) for v in args.dims.split(",")],
        "seeds": list(range(1 if q else args.seeds)),
        "S": 2 if q else args.draws,
        "n": 300 if q else args.rows,
    }
    result = run_record(cfg, sys.argv if argv is None else ["bench_pooling.py", *argv])
    start = time.perf_counter()
    records = []
    for d in cfg["dims"]:
        for seed in cfg["seeds"]:
            rec = {"d": d, "seed": seed, **decompose(d, seed, cfg["S"], cfg["n"])}
            records.append(rec)
            print(f"[{time.perf_counter() - start:5.0f} s] d = {d} seed {seed}: {rec}", flush=True)
    result["records"] = records
    result["run_time_s"] = time.perf_counter() - start
    result["summary"] = {
        str(d): {
            k: float(np.mean([r[k] for r in records if r["d"] == d]))
            for k in records[0]
            if k not in ("d", "seed")
        }
        for d in cfg["dims"]
    }
    text = format_md(result)
    print(text)
    if not q:
        write_results(result, text, args.out)
    return result


if __name__ == "__main__":
    main()

"""Running and scoring one repetition of one Table-1 row (:func:`run_task`).

Fits the naive predictor, the causal bootstrap, the CW-GMM point fit and the Bayesian ensemble on
one seed's confounded training set, and scores each on the non-confounded and confounded test
sets; the ensemble's predictive uncertainty, the linear models' slopes or boundary angles and the
front-door weight diagnostics are recorded alongside.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.base import clone

from bayes_mech.exceptions import FrontDoorWeightWarning, VoteShareWarning
from bayes_mech.experiments._config import INTERVAL_ALPHA, METHODS, DemoConfig, Task
from bayes_mech.mixture._base import MixtureWarning


def _entropy(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats of each row of class probabilities."""
    p = np.clip(proba, 1e-300, 1.0)
    return -(proba * np.log(p)).sum(axis=1)


def _score(task: Task, model, X: np.ndarray, y: np.ndarray) -> float:
    pred = model.predict(X)
    if task.kind == "classification":
        return float(100.0 * np.mean(pred == y))
    return float(np.mean((np.asarray(pred, dtype=np.float64).reshape(-1) - y) ** 2))


def _uncertainty(task: Task, learner, X: np.ndarray, y: np.ndarray) -> dict:
    """The ensemble's predictive uncertainty on one test set."""
    if task.kind == "classification":
        with warnings.catch_warnings():
            # The paper's SVC votes; the entropy of the vote shares is what the table reports.
            warnings.simplefilter("ignore", VoteShareWarning)
            proba = learner.predict_proba(X)
        h = _entropy(proba)
        correct = learner.classes_[proba.argmax(axis=1)] == y
        return {
            "mean_entropy": float(h.mean()),
            # Useful uncertainty is higher where the ensemble is wrong.
            "mean_entropy_correct": float(h[correct].mean()) if correct.any() else None,
            "mean_entropy_wrong": float(h[~correct].mean()) if (~correct).any() else None,
        }
    interval = learner.predict_interval(X, alpha=INTERVAL_ALPHA)
    inside = (interval[:, 0] <= y) & (y <= interval[:, 1])
    return {
        "interval_level": 1.0 - INTERVAL_ALPHA,
        "mean_interval_width": float(np.mean(interval[:, 1] - interval[:, 0])),
        "coverage": float(inside.mean()),
    }


def _linear_summary(task: Task, model) -> dict:
    """Slope/intercept (A.2) or boundary angle (A.1) of a linear model or ensemble."""
    members = getattr(model, "estimators_", [model])
    if task.key == "A.1":
        # Angle between the SVM's normal vector and the causal direction x1 (0 deg = only x1).
        angles = [
            float(np.degrees(np.arctan2(abs(m.coef_[0, 1]), abs(m.coef_[0, 0])))) for m in members
        ]
        return {"boundary_angle_deg": float(np.mean(angles))}
    if task.key.startswith("A.2"):
        return {
            "slope": float(np.mean([m.coef_.ravel()[0] for m in members])),
            "intercept": float(np.mean([m.intercept_ for m in members])),
        }
    return {}


def _learner(task: Task, cfg: DemoConfig, seed: int, method: str, n_components, y):
    from bayes_mech.learner import MechanismLearner

    point = method in ("cb", "cwgmm")
    resampler = {"cb": "bootstrap", "gformula": "gformula"}.get(method, "cwgmm")
    return MechanismLearner(
        task.estimator(),
        interventions=None if task.interventions is None else task.interventions(y),
        n_draws=1 if point else cfg.n_draws,
        # The CW-GMM's K is per intervention value; the g-formula's per cell of (y', z), chosen
        # by BIC in each fit.
        n_components="bic" if method == "gformula" else n_components,
        covariance_type="full",  # the paper's CW-GMM, whatever the learner's defaults
        partial_pooling=False,
        resampler=resampler,
        feature_map=None if task.feature_map is None or method == "cb" else task.feature_map(seed),
        n_jobs=cfg.n_jobs,
        random_state=seed,
        progress=False,
    )


def _fit_quietly(model, X, y, z, record: list) -> object:
    """Fit, recording FrontDoorWeightWarnings and MixtureWarnings (expected on these data, the
    latter for thin g-formula cells on small runs) instead of printing them.

    Only those categories are caught: any other warning keeps its normal handling (an error
    under pytest's ``filterwarnings = error``).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FrontDoorWeightWarning)
        warnings.simplefilter("always", MixtureWarning)
        model.fit(X, y, z)
    for w in caught:
        if issubclass(w.category, FrontDoorWeightWarning):
            record.append(str(w.message).splitlines()[0])
        elif issubclass(w.category, MixtureWarning):  # e.g. a thin g-formula cell on small data
            record.append(f"MixtureWarning: {str(w.message).splitlines()[0]}")
        else:  # recorded by catch_warnings only because record=True; hand it back
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model


def _fixed_k(learner):
    """The K chosen by a fitted learner, in a form that fixes it for the next fits.

    Discrete ``y``: a dict class -> K (the classes are the same in every seed). Continuous ``y``:
    the most common K (the grid moves with each seed's quantiles, so per-value K cannot carry).
    """
    ks = np.asarray(learner.n_components_, dtype=int)
    if learner.y_kind_ == "discrete":
        return {v.item(): int(k) for v, k in zip(learner.interventions_, ks, strict=True)}
    values, counts = np.unique(ks, return_counts=True)
    return int(values[counts == counts.max()].max())


def run_task(
    task: Task, cfg: DemoConfig, seed: int, bar=None, n_components=None
) -> tuple[dict, dict]:
    """One repetition of one Table-1 row: every method of ``METHODS`` on both test sets.

    Parameters
    ----------
    task : Task
    cfg : DemoConfig
    seed : int
        Seeds the data and every learner.
    bar : tqdm, optional
        Advanced once per method.
    n_components : int, dict or str, optional
        K of the CW-GMMs; default ``task.n_components``. When that is a criterion ("bic"), the
        CW-GMM (point) fit selects K and the ensemble reuses it (see :class:`DemoConfig`).

    Returns
    -------
    record : dict
        JSON-ready metrics, uncertainty, diagnostics and timings of this seed.
    fitted : dict
        The fitted models by method (``naive`` is a plain estimator), plus the data, for figures
        and saving.
    """
    n_train = cfg.n_train_digits if task.key == "A.3" else cfg.n_train
    train = task.make(n_train, True, seed)
    # Distinct, seed-dependent streams for the two test sets (never the training seed).
    tests = {
        "nonconf": task.make(cfg.n_test, False, 10_000 + seed),
        "conf": task.make(cfg.n_test, True, 20_000 + seed),
    }
    record = {"seed": seed, "metric": {}, "timings_s": {}, "weight_warnings": []}
    fitted = {"train": train, "tests": tests}
    k = task.n_components if n_components is None else n_components
    for method in METHODS:
        if bar is not None:
            bar.set_postfix_str(f"{task.key} seed {seed} {method}")
        start = time.perf_counter()
        if method == "naive":
            model = clone(task.estimator()).fit(train.X, train.y)
        else:
            model = _fit_quietly(
                _learner(task, cfg, seed, method, k, train.y),
                train.X,
                train.y,
                train.z,
                record["weight_warnings"],
            )
            if method == "cwgmm" and isinstance(k, str):
                record["n_components_selected"] = {
                    "criterion": k,
                    "per_intervention": np.asarray(model.n_components_).tolist(),
                }
                k = _fixed_k(model)
        record["timings_s"][method] = time.perf_counter() - start
        record["metric"][method] = {k: _score(task, model, t.X, t.y) for k, t in tests.items()}
        record.setdefault("linear", {})[method] = _linear_summary(task, model)
        fitted[method] = model
        if bar is not None:
            bar.update(1)
    ens = fitted["ensemble"]
    record["uncertainty"] = {k: _uncertainty(task, ens, t.X, t.y) for k, t in tests.items()}
    diag = ens.weight_diagnostics_
    khat = diag["khat"].values
    record["weights"] = {
        "min_ess_fraction": float(diag["ess_fraction"].min()),
        "median_ess_fraction": float(diag["ess_fraction"].median()),
        "max_khat": float(np.nanmax(khat)) if np.isfinite(khat).any() else None,
    }
    record["n_components"] = (
        None if ens.n_components_ is None else np.asarray(ens.n_components_).tolist()
    )
    fitted["n_components"] = k
    return record, fitted

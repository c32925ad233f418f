# %% [markdown]
# # Quick start: naive vs mechanism learning vs Bayesian ensemble
#
# The paper's Appendix A.1 (Mao & Little, arXiv:2410.20057): a binary cause $y \in \{1, 2\}$,
# a mechanism $z \sim \mathcal N(\mp 1.2, 1)$, an effect $x = (x_1, x_2)$ where $x_1$ follows
# $z$ and $x_2$ follows only the unobserved confounder $u$, which also drives $y$.
#
# A classifier trained on the confounded data leans on $x_2$: its decision boundary tilts away
# from the vertical line $x_1 = 0$ that the causal path alone gives. We train the same linear
# SVM three ways and score each on a **non-confounded** test set (where $y$ does not depend on
# $u$) and a confounded one:
#
# 1. **naive**: on the confounded training data;
# 2. **CW-GMM (point)**: on deconfounded samples (front-door weights, paper eq. 2; CW-GMM, paper
#    Alg. 1-2) with the posterior-mean mechanism, `n_draws=1`: the paper's method;
# 3. **Bayesian ensemble**: one SVM per posterior draw of the mechanism, `n_draws=32`.
#
# Set `BAYES_MECH_SMOKE=1` for a fast run with smaller sizes (what CI does).

# %%
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.svm import SVC

# tqdm.auto warns once that ipywidgets is missing; bayes-mech shows no progress bars here.
warnings.filterwarnings("ignore", message="IProgress not found")

import bayes_mech as bm

SMOKE = os.environ.get("BAYES_MECH_SMOKE") == "1"
N_TRAIN, N_TEST, N_DRAWS = (1500, 1000, 8) if SMOKE else (5000, 2000, 32)
# K of every CW-GMM: chosen by weighted BIC in the full run (what the default, "auto", runs on
# these 2-D data); fixed in smoke mode, where the search over K = 1..10 would dominate the run.
K = 4 if SMOKE else "bic"
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})
print(f"bayes-mech {bm.__version__}; smoke mode: {SMOKE}")

# %% [markdown]
# ## Data
#
# Training data are confounded; the two test sets come from other seeds.

# %%
train = bm.datasets.make_frontdoor_classification(N_TRAIN, confounded=True, random_state=0)
test_nc = bm.datasets.make_frontdoor_classification(N_TEST, confounded=False, random_state=1)
test_c = bm.datasets.make_frontdoor_classification(N_TEST, confounded=True, random_state=2)
print("P(y=2) in the training data:", round(float((train.y == 2).mean()), 3))
print("corr(x2, y) confounded train:", round(float(np.corrcoef(train.X[:, 1], train.y)[0, 1]), 3))
print(
    "corr(x2, y) non-confounded test:",
    round(float(np.corrcoef(test_nc.X[:, 1], test_nc.y)[0, 1]), 3),
)

# %% [markdown]
# ## Three ways to train the same SVM

# %%
svm = SVC(kernel="linear", C=5)
models, fit_seconds = {}, {}

start = time.perf_counter()
models["naive"] = SVC(kernel="linear", C=5).fit(train.X, train.y)
fit_seconds["naive"] = time.perf_counter() - start

start = time.perf_counter()
models["CW-GMM (point)"] = bm.MechanismLearner(
    svm, n_draws=1, n_components=K, progress=False, random_state=0
).fit(train.X, train.y, train.z)
fit_seconds["CW-GMM (point)"] = time.perf_counter() - start

start = time.perf_counter()
models["Bayesian ensemble"] = bm.MechanismLearner(
    svm, n_draws=N_DRAWS, n_components=K, progress=False, random_state=0
).fit(train.X, train.y, train.z)
fit_seconds["Bayesian ensemble"] = time.perf_counter() - start

print(models["Bayesian ensemble"].summary())

# %% [markdown]
# The `FrontDoorWeightWarning`s above are real: on these data the front-door weights of some
# draws rest on a few dozen rows (ESS/N of a few per cent, Pareto $\hat k$ above 0.7), as they
# do for the paper's own implementation. The summary repeats the worst numbers; notebook 02
# looks at them per draw.


# %%
def boundary_angle(estimator) -> float:
    """Angle (degrees) between a linear boundary's normal and the x1 axis; 0 = causal boundary."""
    w = estimator.coef_.ravel()
    return float(np.degrees(np.arctan2(abs(w[1]), abs(w[0]))))


def angles(model) -> list[float]:
    members = getattr(model, "estimators_", [model])
    return [boundary_angle(m) for m in members]


rows = []
for name, model in models.items():
    acc_nc = 100 * float((model.predict(test_nc.X) == test_nc.y).mean())
    acc_c = 100 * float((model.predict(test_c.X) == test_c.y).mean())
    a = angles(model)
    rows.append((name, acc_nc, acc_c, np.mean(a), np.std(a), fit_seconds[name]))

header = ("training data", "non-conf acc %", "conf acc %", "angle (deg)", "fit s")
print("{:<20} {:>15} {:>11} {:>15} {:>7}".format(*header))
for name, acc_nc, acc_c, a_mean, a_sd, sec in rows:
    spread = f" ± {a_sd:.1f}" if a_sd > 0 else ""
    print(f"{name:<20} {acc_nc:>15.1f} {acc_c:>11.1f} {a_mean:>9.1f}{spread:<6} {sec:>7.1f}")

# %% [markdown]
# The deconfounded SVMs' boundaries stand almost upright (angle near 0°: they use $x_1$, the
# causal path) and score clearly higher on the non-confounded test set. On the confounded test
# set, where the spurious $x_2$ still predicts $y$, the naive SVM's shortcut pays off about as
# much as the causal boundary does, so the three score about the same (the paper's Table 1 shows
# the same pattern); the shortcut costs accuracy only once the confounding changes. The
# ensemble's spread of angles is the mechanism's posterior uncertainty carried through to the
# predictor.

# %%
# Key result, checked on every CI run: mechanism learning removes the spurious tilt and beats the
# naive SVM where the confounding is gone.
result = {name: (acc_nc, acc_c, a_mean) for name, acc_nc, acc_c, a_mean, _, _ in rows}
assert result["Bayesian ensemble"][0] > result["naive"][0] + 1.0, result
assert result["CW-GMM (point)"][0] > result["naive"][0] + 1.0, result
assert result["naive"][2] > 10.0, result  # naive boundary tilted by the confounder
assert result["Bayesian ensemble"][2] < result["naive"][2] / 2, result

# %% [markdown]
# ## Decision boundaries


# %%
def plot_boundary(ax, estimator, **kwargs):
    w, b = estimator.coef_.ravel(), float(estimator.intercept_[0])
    xs = np.linspace(-6, 6, 2)
    ax.plot(-(w[1] * xs + b) / w[0], xs, **kwargs)


fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), sharex=True, sharey=True)
show = np.random.default_rng(0).choice(N_TEST, size=min(N_TEST, 600), replace=False)
for ax, (name, model) in zip(axes, models.items(), strict=True):
    ax.scatter(*test_nc.X[show].T, c=test_nc.y[show], cmap="coolwarm", s=6, alpha=0.5)
    members = getattr(model, "estimators_", [model])
    for member in members:
        plot_boundary(ax, member, color="k", lw=2 if len(members) == 1 else 0.6, alpha=0.8)
    ax.axvline(0, color="g", ls="--", lw=1)
    ax.set(title=name, xlim=(-6, 6), ylim=(-6, 6), xlabel="$x_1$")
axes[0].set_ylabel("$x_2$ (confounder only)")
fig.suptitle("Linear SVM boundaries on the non-confounded test set (green: causal boundary)")
fig.tight_layout()

# %% [markdown]
# ## Ensemble probabilities
#
# `predict_proba` averages the members; `predict_dist` returns every member's prediction as an
# `xarray.DataArray` with a `draw` dimension. An SVC without `probability=True` votes, so each
# member contributes a 0/1 vote and the ensemble mean is the fraction of members voting for the
# class: points near the boundary get intermediate values. That share measures the members'
# agreement, not a probability, and the learner says so with a `VoteShareWarning`; wrapping the
# estimator in scikit-learn's `CalibratedClassifierCV` gives members with probabilities.

# %%
ens = models["Bayesian ensemble"]
dist = ens.predict_dist(test_nc.X[:5])
print(dist.dims, dist.shape)
print(np.round(ens.predict_proba(test_nc.X[:5]), 3))

# %% [markdown]
# # Covariates: the conditional front door
#
# Real data come with measured covariates that shift the cause, the mechanism and the effect.
# This notebook uses `bm.datasets.make_frontdoor_covariates("classification")`: an A.1-like
# front-door SCM with a binary covariate $c$ (think: one of two hospitals) and an unobserved
# confounder $u$,
#
# $$c \to y,\quad c \to z,\quad c \to x_3,\qquad u \to y,\quad u \to x_2,\qquad y \to z \to x_1 .$$
#
# Leaving $c$ out of the mechanism opens the back door $y \leftarrow c \rightarrow z$: the
# weights $p(z_n \mid y) / p(z_n \mid y_n)$ then mix the effect of $y$ on $z$ with the way $c$
# shifts both, and the deconfounded rows keep $c$ (hence $x_3$) tied to $y$. Passing
# `covariates=c` gives the conditional front door's weights
# $p(z_n \mid y, c_n) / p(z_n \mid y_n, c_n)$.
#
# The reference is what the same estimator learns from exact interventional rows
# (`poutine.do` on the SCM), scored on a non-confounded test set.

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore", message="IProgress not found")

import bayes_mech as bm

SMOKE = os.environ.get("BAYES_MECH_SMOKE") == "1"
N_TRAIN, N_DRAWS, N_ORACLE = (1500, 8, 20_000) if SMOKE else (5000, 32, 200_000)
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})

train = bm.datasets.make_frontdoor_covariates("classification", N_TRAIN, random_state=0)
test = bm.datasets.make_frontdoor_covariates(
    "classification", 5000, confounded=False, random_state=1
)
rows = [
    bm.datasets.sample_interventional_covariates("classification", v, N_ORACLE // 2, random_state=v)
    for v in (1, 2)
]
oracle = LogisticRegression().fit(np.r_[rows[0].X, rows[1].X], np.r_[rows[0].y, rows[1].y])
naive = LogisticRegression().fit(train.X, train.y)
print(f"oracle {oracle.score(test.X, test.y):.3f}, naive {naive.score(test.X, test.y):.3f}")

# %% [markdown]
# ## With and without the covariate
#
# The covariate goes in as a DataFrame column with words, the way a user's table holds it; the
# learner one-hot encodes it and says so in `summary()`.

# %%
hospital = pd.DataFrame({"hospital": np.where(train.c == 1, "north", "south")})
learners = {}
for name, covariates in (("with c", hospital), ("without c", None)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.FrontDoorWeightWarning)
        learners[name] = bm.MechanismLearner(
            LogisticRegression(), n_draws=N_DRAWS, progress=False, random_state=0
        ).fit(train.X, train.y, train.z, covariates=covariates)
print(learners["with c"].summary())
scores = {name: lrn.score(test.X, test.y) for name, lrn in learners.items()}
print({k: round(v, 3) for k, v in scores.items()})

# %% [markdown]
# ## Where the bias comes from
#
# Under $do(y)$ the covariate keeps its own law, so $x_3$ (which carries $c$ only) says nothing
# about $y$. The deconfounded rows of each learner show whether that holds: the mean of $x_3$
# per intervention value should be the same for both classes.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
truth = [r.X[:, 2].mean() for r in rows]
for ax, (name, lrn) in zip(axes, learners.items(), strict=True):
    x3 = [lrn.sample_interventional(v, 4000, random_state=0)[:, 2].mean() for v in (1, 2)]
    ax.bar(["do(y=1)", "do(y=2)"], x3, color=["C0", "C1"], alpha=0.7, label="learner")
    ax.scatter(["do(y=1)", "do(y=2)"], truth, color="k", zorder=3, label="poutine.do truth")
    ax.set_title(f"{name}: mean of x3 (the covariate's feature)")
    ax.axhline(0, color="grey", lw=0.8)
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What it learns
#
# With $c$, the ensemble's accuracy is the oracle's; without it, it falls below even the naive
# classifier here. The coefficients say why. The oracle puts a *negative* weight on $x_3$: given
# $x_1$ (which reads $z$), knowing that $c$ pushed $z$ up explains part of a large $x_1$ away.
# Without $c$ the deconfounded rows tie $c$ to $y$, and the members weigh $x_3$ the other way.

# %%
coef = {name: np.mean([e.coef_[0] for e in lrn.estimators_], axis=0)
        for name, lrn in learners.items()}  # fmt: skip
coef["oracle"] = oracle.coef_[0]
print(pd.DataFrame(coef, index=["x1 (mechanism)", "x2 (confounder)", "x3 (covariate)"]).round(2))
gap_with = abs(scores["with c"] - oracle.score(test.X, test.y))
gap_without = oracle.score(test.X, test.y) - scores["without c"]
print(f"gap to the oracle: with c {gap_with:.3f}, without c {gap_without:.3f}")
assert gap_with < 0.015 and gap_without > 0.04

# %% [markdown]
# ## Members that read the covariate too
#
# By default the members read $x$ only. With `covariates_as_features=True` the samplers draw
# $(x, c)$ jointly under $do(y)$ and the members learn $p(y \mid x, c)$ there; predictions then
# need the covariate. The reference is the same estimator trained on interventional $(x, c)$.

# %%
with_c = bm.MechanismLearner(
    LogisticRegression(), n_draws=N_DRAWS, covariates_as_features=True, progress=False,
    random_state=0,
)  # fmt: skip
with warnings.catch_warnings():
    warnings.simplefilter("ignore", bm.FrontDoorWeightWarning)
    with_c.fit(train.X, train.y, train.z, covariates=hospital)
test_hospital = pd.DataFrame({"hospital": np.where(test.c == 1, "north", "south")})
oracle_xc = LogisticRegression().fit(
    np.r_[np.c_[rows[0].X, rows[0].c], np.c_[rows[1].X, rows[1].c]],
    np.r_[rows[0].y, rows[1].y],
)
score_xc = with_c.score(test.X, test.y, covariates=test_hospital)
oracle_xc_score = oracle_xc.score(np.c_[test.X, test.c], test.y)
print(f"reading (x, c): learner {score_xc:.3f}, oracle {oracle_xc_score:.3f}")
assert abs(score_xc - oracle_xc_score) < 0.015

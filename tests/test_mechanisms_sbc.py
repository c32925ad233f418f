"""Simulation-based calibration (Talts et al. 2018) of every conjugate mechanism.

For each replication: draw θ* from the prior (numpy/scipy, independently of the package), simulate
data from the model given θ*, fit the mechanism with the same prior, draw L = 99 posterior draws
and record the rank of θ* among them for every scalar parameter. If the posterior is right the
ranks are uniform on {0, …, 99}; a χ² test over 10 bins per parameter, Bonferroni-corrected over
the parameters, must give p > 0.01 (200 replications in CI, 4000 under BAYES_MECH_SLOW=1).
A deliberately wrong posterior (fitted with the wrong prior) must fail the same test, showing the
check has power.
"""

import numpy as np
import pytest
from conftest import scale
from scipy import stats

from bayes_mech._threads import torch_threads
from bayes_mech.mechanisms import (
    CategoricalMechanism,
    GaussianMechanism,
    LinearGaussianMechanism,
)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Each replication is a handful of 2×2 matrix operations: with several intra-op threads a
    busy machine spends far longer handing them between threads than computing them."""
    with torch_threads(1):
        yield


L_DRAWS = 99  # ranks take L + 1 = 100 values: 10 bins of 10
N_BINS = 10


def flat(params: dict, n_lead: int) -> np.ndarray:
    """Every scalar of a parameter dict (covariances: lower triangle), after ``n_lead`` axes."""
    parts = []
    for name in sorted(params):
        v = np.asarray(params[name])
        if name == "covariance_matrix":
            i, j = np.tril_indices(v.shape[-1])
            v = v[..., i, j]
        parts.append(v.reshape(*v.shape[:n_lead], -1))
    return np.concatenate(parts, axis=-1)


def sbc_pvalues(simulate, make_mechanism, n_reps, seed):
    """χ² p-value of the rank histogram of every scalar parameter."""
    rng = np.random.default_rng(seed)
    ranks = []
    for r in range(n_reps):
        truth, y, z = simulate(rng)
        draws = make_mechanism().fit(y, z).sample_posterior(L_DRAWS, random_state=r)
        post = flat({k: v.numpy() for k, v in draws.items()}, 1)  # (L, n_params)
        ranks.append((post < flat(truth, 0)[None]).sum(0))
    ranks = np.asarray(ranks)  # (n_reps, n_params)
    counts = np.stack(
        [np.bincount(rk * N_BINS // (L_DRAWS + 1), minlength=N_BINS) for rk in ranks.T]
    )
    return np.array([stats.chisquare(c).pvalue for c in counts])


# --------------------------------------------------------------------- simulators
ALPHA = np.array([1.0, 2.0, 0.5])


def simulate_categorical(rng):
    probs = rng.dirichlet(ALPHA, size=2)
    y = np.repeat([0, 1], 8)
    z = np.array([rng.choice(3, p=probs[k]) for k in y])
    return {"probs": probs}, y, z


M0, KAPPA0, NU0 = np.array([0.5, -1.0]), 0.5, 5.0
PSI0 = np.array([[2.0, 0.4], [0.4, 1.0]])


def simulate_gaussian(rng):
    cov = stats.invwishart(NU0, PSI0).rvs(size=2, random_state=rng)
    loc = np.stack([rng.multivariate_normal(M0, c / KAPPA0) for c in cov])
    y = np.repeat([0, 1], 6)
    z = np.stack([rng.multivariate_normal(loc[k], cov[k]) for k in y])
    return {"loc": loc, "covariance_matrix": cov}, y, z


COEF_M0 = np.array([[1.0, 0.0], [0.5, -0.5]])
COEF_V = np.array([2.0, 1.0])


def simulate_linear(rng):
    cov = stats.invwishart(NU0, PSI0).rvs(random_state=rng)
    # W ~ MN(M0, diag(v²), Σ): rows independent, row p ~ N(M0_p, v_p² Σ).
    coef = COEF_M0 + COEF_V[:, None] * rng.normal(size=(2, 2)) @ np.linalg.cholesky(cov).T
    y = rng.normal(size=10)
    phi = np.column_stack([np.ones_like(y), y])
    z = phi @ coef + rng.multivariate_normal(np.zeros(2), cov, size=10)
    return {"coef": coef, "covariance_matrix": cov}, y, z


CASES = {
    "categorical": (
        simulate_categorical,
        lambda: CategoricalMechanism(prior_concentration=ALPHA, z_categories=[0, 1, 2]),
    ),
    "gaussian": (
        simulate_gaussian,
        lambda: GaussianMechanism(M0, KAPPA0, NU0, PSI0),
    ),
    "linear": (
        simulate_linear,
        lambda: LinearGaussianMechanism(
            standardize=False,
            coef_prior_mean=COEF_M0,
            coef_prior_scale=COEF_V,
            prior_df=NU0,
            prior_scale=PSI0,
        ),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CASES))
def test_sbc_ranks_are_uniform(kind):
    simulate, make = CASES[kind]
    pvalues = sbc_pvalues(simulate, make, n_reps=scale(200, 4000), seed=2018)
    assert pvalues.size >= 6
    # Family-wise (Bonferroni) p > 0.01 over the mechanism's parameters: testing 6-10
    # parameters each at 0.01 would fail a correct posterior ~10 % of the time.
    assert pvalues.min() * pvalues.size > 0.01, pvalues


@pytest.mark.parametrize(
    ("kind", "wrong"),
    [
        (
            "categorical",
            lambda: CategoricalMechanism(prior_concentration=5 * ALPHA, z_categories=[0, 1, 2]),
        ),
        ("gaussian", lambda: GaussianMechanism(M0, KAPPA0, NU0, 0.25 * PSI0)),
        (
            "linear",
            lambda: LinearGaussianMechanism(
                standardize=False,
                coef_prior_mean=COEF_M0,
                coef_prior_scale=0.1 * COEF_V,
                prior_df=NU0,
                prior_scale=PSI0,
            ),
        ),
    ],
)
def test_sbc_detects_a_wrong_posterior(kind, wrong):
    """The same check on a posterior computed with the wrong prior fails clearly."""
    simulate, _ = CASES[kind]
    pvalues = sbc_pvalues(simulate, wrong, n_reps=200, seed=2018)
    assert pvalues.min() < 1e-3, pvalues

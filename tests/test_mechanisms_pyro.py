"""PyroMechanism: NUTS and SVI on Pyro models, vectorised log_prob, ArviZ export, bad input.

The conjugate mechanisms' Pyro models are the reference problems: their exact posteriors are
known, so NUTS on the same generative process must agree with them, and the PyroMechanism's
``log_prob`` (traced through the model's ``"z"`` site) must equal the conjugate closed form.
"""

import warnings

import arviz as az
import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch
from conftest import scale
from scipy import stats

from bayes_mech.exceptions import MechanismWarning, NotFittedError
from bayes_mech.mechanisms import (
    CategoricalMechanism,
    GaussianMechanism,
    LinearGaussianMechanism,
    PyroMechanism,
)

F64 = torch.float64


def conjugate_problem(kind, rng, n=30):
    """A small data set and its fitted conjugate mechanism."""
    if kind == "categorical":
        y = rng.integers(0, 2, size=n)
        z = np.where(y == 0, rng.choice(3, size=n, p=[0.6, 0.3, 0.1]), rng.choice(3, size=n))
        return y, z, CategoricalMechanism().fit(y, z), {"z_kind": "discrete"}
    if kind == "gaussian":
        y = rng.integers(0, 2, size=n)
        z = rng.normal(size=(n, 2)) @ np.array([[1.0, 0.5], [0.0, 0.6]]) + 2.0 * y[:, None]
        return y, z, GaussianMechanism().fit(y, z), {}
    y = rng.normal(size=n)
    z = np.column_stack([1.0 + y, 0.5 - y]) + 0.5 * rng.normal(size=(n, 2))
    return y, z, LinearGaussianMechanism().fit(y, z), {"y_kind": "continuous"}


def per_class_normal(y, z=None):
    """z_n ~ N(loc_{y_n}, scale_{y_n}²), loc_k ~ N(0, 10²), scale_k ~ HalfNormal(5)."""
    one = torch.ones((), dtype=F64)
    with pyro.plate("y_class", 2):
        loc = pyro.sample("loc", dist.Normal(0.0 * one, 10.0 * one))
        sd = pyro.sample("scale", dist.HalfNormal(5.0 * one))
    with pyro.plate("data", y.shape[0]):
        return pyro.sample("z", dist.Normal(loc[..., y], sd[..., y]), obs=z)


# ---------------------------------------------------------------- NUTS vs exact
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["categorical", "gaussian", "linear"])
def test_nuts_on_conjugate_model_matches_exact_posterior(kind):
    """Means within 4 MCSE, sds within 15 % (long form, 4 chains, r-hat < 1.01).

    The short CI form uses 2 short chains: same mean check (MCSE accounts for the length),
    sds within 35 %, r-hat < 1.1.
    """
    rng = np.random.default_rng(1)
    y, z, exact, kinds = conjugate_problem(kind, rng)
    chains = scale(2, 4)
    mech = PyroMechanism(
        exact.pyro_model(),
        num_samples=scale(100, 600),
        num_warmup=scale(80, 400),
        num_chains=chains,
        progress=False,
        **kinds,
    ).fit(y, z, random_state=0)
    idata = mech.to_inference_data()
    assert idata.posterior.sizes["chain"] == chains
    summary = az.summary(idata, kind="all", round_to="none")
    ref = exact.sample_posterior(20000, random_state=1)
    # az.summary lists variables in posterior order, each flattened C-style: so does ref.
    names = list(idata.posterior.data_vars)
    assert sorted(names) == sorted(ref)
    ref_mean = np.concatenate([ref[k].numpy().reshape(20000, -1).mean(0) for k in names])
    ref_sd = np.concatenate([ref[k].numpy().reshape(20000, -1).std(0) for k in names])
    nuts_mean, mcse, sd = (summary[c].to_numpy() for c in ("mean", "mcse_mean", "sd"))
    # A zero-variance entry (e.g. the upper triangle of nothing) would make the test vacuous.
    assert np.all(ref_sd > 0)
    print(  # the figures behind the checks, shown by pytest -rA
        f"{kind}: max |mean − exact| / MCSE = {np.max(np.abs(nuts_mean - ref_mean) / mcse):.2f}, "
        f"sd ratio in [{np.min(sd / ref_sd):.3f}, {np.max(sd / ref_sd):.3f}], "
        f"max r-hat = {summary['r_hat'].max():.3f}, min ESS = {summary['ess_bulk'].min():.0f}"
    )
    assert np.all(np.abs(nuts_mean - ref_mean) < 4 * mcse + 1e-12), (nuts_mean, ref_mean, mcse)
    assert np.all(np.abs(sd / ref_sd - 1) < scale(0.35, 0.15)), sd / ref_sd
    assert summary["r_hat"].max() < scale(1.1, 1.01)
    assert not mech.diverging_.any()


# ------------------------------------------------------- log_prob through Pyro
@pytest.mark.parametrize("kind", ["categorical", "gaussian", "linear"])
@pytest.mark.parametrize("vectorize", [True, False])
def test_log_prob_through_model_equals_closed_form(kind, vectorize):
    rng = np.random.default_rng(2)
    y, z, exact, kinds = conjugate_problem(kind, rng)
    mech = PyroMechanism(
        exact.pyro_model(),
        inference="svi",
        num_steps=2,
        num_samples=3,
        progress=False,
        vectorize=vectorize,
        **kinds,
    ).fit(y, z, random_state=0)
    draws = exact.sample_posterior(6, random_state=3)
    values = np.array([0.3, -1.0, 2.0]) if kind == "linear" else np.array([1, 0])
    got = mech.log_prob(z, values, draws)
    assert got.shape == (6, len(z), len(values)) and got.dtype == F64
    torch.testing.assert_close(got, exact.log_prob(z, values, draws), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(
        mech.log_prob_observed(z, y, draws), exact.log_prob_observed(z, y, draws)
    )


def test_log_prob_matches_scipy_for_a_user_model():
    rng = np.random.default_rng(3)
    y = np.repeat([3, 7], 10)
    z = rng.normal(np.where(y == 3, -1.0, 1.0))
    mech = PyroMechanism(
        per_class_normal, inference="svi", num_steps=2, num_samples=4, progress=False
    ).fit(y, z, random_state=0)
    draws = {
        "loc": torch.tensor([[-1.0, 1.0], [0.0, 2.0]], dtype=F64),
        "scale": torch.tensor([[1.0, 2.0], [0.5, 0.7]], dtype=F64),
    }
    lp = mech.log_prob(z, [7, 3, 7], draws)
    for s in range(2):
        for m, code in enumerate([1, 0, 1]):
            ref = stats.norm(draws["loc"][s, code], draws["scale"][s, code]).logpdf(z)
            np.testing.assert_allclose(lp[s, :, m].numpy(), ref, rtol=1e-12)
    # The default is the posterior mean of the stored draws, S = 1.
    mean = mech.posterior_mean()
    ref = stats.norm(mean["loc"][0, 1], mean["scale"][0, 1]).logpdf(z)
    np.testing.assert_allclose(mech.log_prob(z, [7])[0, :, 0].numpy(), ref, rtol=1e-12)


def test_log_prob_splits_large_requests_over_values(monkeypatch):
    import bayes_mech.mechanisms.pyro_mechanism as pm

    rng = np.random.default_rng(4)
    y, z, exact, kinds = conjugate_problem("linear", rng)
    mech = PyroMechanism(
        exact.pyro_model(), inference="svi", num_steps=2, num_samples=2, progress=False, **kinds
    ).fit(y, z, random_state=0)
    draws = exact.sample_posterior(4, random_state=0)
    values = np.linspace(-1, 1, 7)
    monkeypatch.setattr(pm, "_MAX_TRACE_ROWS", 4 * len(z) * 2)  # two values per trace
    torch.testing.assert_close(mech.log_prob(z, values, draws), exact.log_prob(z, values, draws))


# ------------------------------------------------------------------------- SVI
def test_svi_approximates_the_exact_posterior():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, size=200)
    z = rng.normal(size=200) + 2.0 * y
    exact = GaussianMechanism().fit(y, z)
    mech = PyroMechanism(
        exact.pyro_model(),
        inference="svi",
        num_steps=scale(400, 3000),
        learning_rate=0.05,
        num_samples=2000,
        progress=False,
    ).fit(y, z, random_state=0)
    assert mech.losses_[-1] < mech.losses_[0]
    ref = exact.sample_posterior(20000, random_state=0)["loc"].numpy()[:, :, 0]
    got = mech.sample_posterior(2000, random_state=0)["loc"].numpy()[:, :, 0]
    # A Gaussian guide in the unconstrained space: means within 0.3 posterior sd, sds 30 %.
    assert np.all(np.abs(got.mean(0) - ref.mean(0)) < 0.3 * ref.std(0)), (got.mean(0), ref.mean(0))
    assert np.all(np.abs(got.std(0) / ref.std(0) - 1) < 0.3), got.std(0) / ref.std(0)


def test_svi_accepts_a_guide_class_and_keeps_param_store_clean():
    rng = np.random.default_rng(6)
    y = np.repeat([0, 1], 10)
    z = rng.normal(size=20) + y
    pyro.param("user_param", torch.tensor(1.0, dtype=F64))
    mech = PyroMechanism(
        per_class_normal,
        inference="svi",
        guide=pyro.infer.autoguide.AutoNormal,
        num_steps=20,
        num_samples=5,
        progress=False,
    ).fit(y, z, random_state=0)
    assert isinstance(mech.guide_, pyro.infer.autoguide.AutoNormal)
    assert list(pyro.get_param_store().keys()) == ["user_param"]
    assert mech.sample_posterior(7, random_state=0)["loc"].shape == (7, 2)


# ------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("inference", ["nuts", "svi"])
def test_random_state_seeds_everything(inference, capsys):
    rng = np.random.default_rng(7)
    y = np.repeat([0, 1], 8)
    z = rng.normal(size=16) + y
    kw = {"num_samples": 10, "num_warmup": 10, "num_chains": 2, "num_steps": 10}

    def fit(seed):
        mech = PyroMechanism(per_class_normal, inference=inference, progress=False, **kw)
        with warnings.catch_warnings():
            # Ten draws per chain cannot converge (an r-hat warning); only reproducibility
            # matters here.
            warnings.simplefilter("ignore", MechanismWarning)
            return mech.fit(y, z, random_state=seed)

    a, b, c = fit(0), fit(0), fit(1)
    torch.testing.assert_close(a.samples_["loc"], b.samples_["loc"])
    assert not torch.allclose(a.samples_["loc"], c.samples_["loc"])
    torch.testing.assert_close(
        a.sample_posterior(5, random_state=3)["scale"],
        b.sample_posterior(5, random_state=3)["scale"],
    )
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""  # progress=False prints nothing


def test_sample_posterior_draws_from_the_stored_chains():
    rng = np.random.default_rng(8)
    y = np.repeat([0, 1], 8)
    z = rng.normal(size=16)
    mech = PyroMechanism(
        per_class_normal, num_samples=6, num_warmup=5, num_chains=2, progress=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MechanismWarning)  # six draws: r-hat warns, as it should
        mech.fit(y, z, random_state=0)
    pool = mech.samples_["loc"].reshape(-1, 2)
    draws = mech.sample_posterior(12, random_state=0)["loc"]
    # Without replacement when the pool suffices: a permutation of the 12 stored draws.
    assert sorted(draws[:, 0].tolist()) == sorted(pool[:, 0].tolist())
    assert mech.sample_posterior(30, random_state=0)["loc"].shape == (30, 2)
    torch.testing.assert_close(mech.posterior_mean()["loc"], pool.mean(0, keepdim=True))


# ---------------------------------------------------------------------- arviz
def test_to_inference_data_names_plates_and_has_sample_stats():
    rng = np.random.default_rng(9)
    y, z, exact, _kinds = conjugate_problem("gaussian", rng)
    mech = PyroMechanism(
        exact.pyro_model(), num_samples=8, num_warmup=8, num_chains=2, progress=False
    )
    # So short a run need not converge: its r-hat warning is expected and checked here.
    with pytest.warns(MechanismWarning, match="r-hat"):
        mech.fit(y, z, random_state=0)
    idata = mech.to_inference_data()
    assert idata.posterior["loc"].dims == ("chain", "draw", "y_class", "loc_dim_1")
    assert idata.posterior["covariance_matrix"].dims[:3] == ("chain", "draw", "y_class")
    np.testing.assert_array_equal(idata.posterior["y_class"].values, [0, 1])
    assert idata.sample_stats["diverging"].shape == (2, 8)
    assert idata.observed_data["z"].shape == z.shape
    assert az.summary(idata, var_names=["loc"]).shape[0] == 4


# ------------------------------------------------------------------ bad input
def test_model_without_z_site_is_rejected():
    def no_z(y, z=None):
        with pyro.plate("data", y.shape[0]):
            pyro.sample("x", dist.Normal(torch.zeros((), dtype=F64), 1.0), obs=z)

    with pytest.raises(ValueError, match=r"sample site named .z.*\[.x.\]"):
        PyroMechanism(no_z, progress=False).fit([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])

    def unobserved_z(y, z=None):
        loc = pyro.sample("loc", dist.Normal(torch.zeros((), dtype=F64), 1.0))
        with pyro.plate("data", y.shape[0]):
            pyro.sample("z", dist.Normal(loc, 1.0))

    with pytest.raises(ValueError, match="'z' site is not observed"):
        PyroMechanism(unobserved_z, progress=False).fit([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])


def test_bad_arguments_and_unfitted_use():
    mech = PyroMechanism(per_class_normal, progress=False)
    with pytest.raises(NotFittedError):
        mech.sample_posterior(3)
    with pytest.raises(NotFittedError):
        mech.log_prob([0.0], [0])
    with pytest.raises(ValueError, match="inference must be one of"):
        PyroMechanism(per_class_normal, inference="hmc").fit([0, 1], [0.0, 1.0])
    with pytest.raises(ValueError, match="y_kind must be one of"):
        PyroMechanism(per_class_normal, y_kind="ordinal").fit([0, 1], [0.0, 1.0])
    with pytest.raises(TypeError, match="model must be a callable"):
        PyroMechanism("model").fit([0, 1], [0.0, 1.0])
    with pytest.raises(ValueError, match="z must be finite"):
        mech.fit([0, 1, 1], [0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="y has 2, z has 3"):
        mech.fit([0, 1], [0.0, 2.0, 1.0])


def test_unknown_intervention_and_bad_n_draws():
    rng = np.random.default_rng(10)
    y = np.repeat([0, 1], 6)
    z = rng.normal(size=12)
    mech = PyroMechanism(
        per_class_normal, inference="svi", num_steps=2, num_samples=2, progress=False
    ).fit(y, z, random_state=0)
    with pytest.raises(ValueError, match=r"y_values holds value\(s\) \[2\] that were never"):
        mech.log_prob(z, [0, 2])
    with pytest.raises(ValueError, match="n_draws must be an integer >= 1"):
        mech.sample_posterior(0)

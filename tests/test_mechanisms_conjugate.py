"""Conjugate mechanisms: closed forms, densities, shrinkage, ArviZ export and bad input.

Every reference value here is computed independently in numpy/scipy, with algebra that differs
from the implementation (e.g. the NIW scale via raw second moments, the regression posterior via
augmented least squares), so a slip in either shows up as a mismatch.
"""

import warnings

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from scipy import stats

from bayes_mech.exceptions import MechanismWarning, NotFittedError
from bayes_mech.mechanisms import (
    CategoricalMechanism,
    GaussianMechanism,
    LinearGaussianMechanism,
)
from bayes_mech.mechanisms._distributions import InverseWishart


# ----------------------------------------------------------------------------- data
def categorical_data(rng, n=60):
    y = rng.integers(0, 3, size=n)
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    z = np.array([rng.choice(3, p=probs[k]) for k in y])
    return y, z


def gaussian_data(rng, n=80, d=2):
    y = rng.integers(0, 2, size=n) * 5 + 1  # classes {1, 6}: codes must not equal labels
    z = rng.normal(size=(n, d)) @ np.array([[1.0, 0.4], [0.0, 0.7]])[:d, :d] + 0.3 * y[:, None]
    return y, z


def linear_data(rng, n=100, d_y=1, d_z=2):
    y = rng.normal(1.0, 2.0, size=(n, d_y))
    b = np.linspace(-1.0, 1.5, d_y * d_z).reshape(d_y, d_z)
    z = 0.5 + y @ b + rng.normal(scale=0.3, size=(n, d_z))
    return (y[:, 0] if d_y == 1 else y), z


# ---------------------------------------------------------------------- closed forms
def test_categorical_posterior_matches_counts(rng):
    y, z = categorical_data(rng)
    alpha = np.array([0.5, 1.0, 2.0])
    mech = CategoricalMechanism(prior_concentration=alpha).fit(y, z)
    expected = np.array([[np.sum((y == k) & (z == j)) for j in range(3)] for k in range(3)]) + alpha
    np.testing.assert_allclose(mech.concentration_.numpy(), expected)
    np.testing.assert_allclose(
        mech.posterior_mean()["probs"][0].numpy(), expected / expected.sum(1, keepdims=True)
    )
    draws = mech.sample_posterior(20000, random_state=1)["probs"].numpy()
    # Dirichlet marginals are Beta(α_l, α_0 − α_l): a KS test of every entry's draws.
    for k in range(3):
        for j in range(3):
            ref = stats.beta(expected[k, j], expected[k].sum() - expected[k, j])
            assert stats.kstest(draws[:, k, j], ref.cdf).pvalue > 1e-3


def niw_reference(z, m0, kappa0, nu0, psi0):
    """NIW posterior via raw second moments (the implementation uses the centred scatter)."""
    n = z.shape[0]
    kappa = kappa0 + n
    m = (kappa0 * m0 + z.sum(0)) / kappa
    psi = psi0 + z.T @ z + kappa0 * np.outer(m0, m0) - kappa * np.outer(m, m)
    return m, kappa, nu0 + n, psi


def test_gaussian_posterior_matches_closed_form(rng):
    y, z = gaussian_data(rng)
    m0, kappa0, nu0, psi0 = np.array([0.5, -0.5]), 0.3, 5.0, np.array([[2.0, 0.3], [0.3, 1.0]])
    mech = GaussianMechanism(m0, kappa0, nu0, psi0).fit(y, z)
    np.testing.assert_array_equal(mech.classes_, [1, 6])
    for i, cls in enumerate([1, 6]):
        m, kappa, nu, psi = niw_reference(z[y == cls], m0, kappa0, nu0, psi0)
        np.testing.assert_allclose(mech.post_mean_[i].numpy(), m, rtol=1e-12)
        np.testing.assert_allclose(mech.post_kappa_[i].item(), kappa)
        np.testing.assert_allclose(mech.post_df_[i].item(), nu)
        np.testing.assert_allclose(mech.post_scale_[i].numpy(), psi, rtol=1e-10)
        mean = mech.posterior_mean()
        np.testing.assert_allclose(mean["loc"][0, i].numpy(), m, rtol=1e-12)
        np.testing.assert_allclose(mean["covariance_matrix"][0, i].numpy(), psi / (nu - 3))

    # Draws: Σ_11 ~ InvGamma((ν − d + 1)/2, Ψ_11/2) and μ_1 ~ t_{ν−d+1}(m_1, Ψ_11/(κ(ν−d+1))).
    draws = mech.sample_posterior(20000, random_state=2)
    m, kappa, nu, psi = niw_reference(z[y == 6], m0, kappa0, nu0, psi0)
    sig11 = draws["covariance_matrix"][:, 1, 0, 0].numpy()
    ref_sig = stats.invgamma((nu - 1) / 2, scale=psi[0, 0] / 2)
    assert stats.kstest(sig11, ref_sig.cdf).pvalue > 1e-3
    mu1 = draws["loc"][:, 1, 0].numpy()
    ref_mu = stats.t(nu - 1, loc=m[0], scale=np.sqrt(psi[0, 0] / (kappa * (nu - 1))))
    assert stats.kstest(mu1, ref_mu.cdf).pvalue > 1e-3


def test_gaussian_default_prior_is_scaled_to_data(rng):
    y, z = gaussian_data(rng)
    z = 1000.0 * z  # the prior must follow the data's scale
    mech = GaussianMechanism().fit(y, z)
    np.testing.assert_allclose(mech.prior_["mean"], z.mean(0))
    np.testing.assert_allclose(np.diag(mech.prior_["scale"]), z.var(0))
    assert mech.prior_["df"] == 4.0
    # With E[Σ] = diag(Var z) and ν0 = d + 2 the posterior is dominated by the data.
    cov = mech.posterior_mean()["covariance_matrix"][0, 0].numpy()
    emp = np.cov(z[y == 1].T)
    np.testing.assert_allclose(cov, emp, rtol=0.15, atol=0.05 * np.abs(emp).max())


def test_linear_gaussian_posterior_matches_augmented_least_squares(rng):
    y, z = linear_data(rng, d_y=2)
    p = 6  # degree 2 in two variables: 1, y0, y1, y0², y0y1, y1²
    m0 = rng.normal(size=(p, 2))
    v = np.linspace(0.5, 3.0, p)
    nu0, psi0 = 6.0, np.array([[1.0, 0.2], [0.2, 0.5]])
    mech = LinearGaussianMechanism(
        degree=2, coef_prior_mean=m0, coef_prior_scale=v, prior_df=nu0, prior_scale=psi0
    ).fit(y, z)
    assert mech.feature_names_ == ["1", "y0", "y1", "y0^2", "y0*y1", "y1^2"]
    u = (y - y.mean(0)) / y.std(0)
    phi = np.column_stack([np.ones(len(u)), u[:, 0], u[:, 1], u[:, 0] ** 2, u[:, 0] * u[:, 1]])
    phi = np.column_stack([phi, u[:, 1] ** 2])
    # The Gaussian prior on W is p pseudo-rows: rows diag(1/v) with targets diag(1/v) M0.
    phi_aug = np.vstack([phi, np.diag(1 / v)])
    z_aug = np.vstack([z, np.diag(1 / v) @ m0])
    m_n, *_ = np.linalg.lstsq(phi_aug, z_aug, rcond=None)
    resid = z_aug - phi_aug @ m_n
    psi_n = psi0 + resid.T @ resid
    v_n = np.linalg.inv(phi_aug.T @ phi_aug)
    np.testing.assert_allclose(mech.post_coef_mean_.numpy(), m_n, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(mech.post_scale_.numpy(), psi_n, rtol=1e-8)
    np.testing.assert_allclose(mech.post_row_cov_.numpy(), v_n, rtol=1e-8, atol=1e-12)
    assert mech.post_df_.item() == nu0 + len(y)

    # W_pj ~ t_{ν−d+1}(M_pj, V_pp Ψ_jj / (ν − d + 1)) marginally (matrix-t posterior).
    nu_n = nu0 + len(y)
    draws = mech.sample_posterior(20000, random_state=3)["coef"].numpy()
    for p_i, j in [(0, 0), (1, 1), (4, 0)]:
        scale = np.sqrt(v_n[p_i, p_i] * psi_n[j, j] / (nu_n - 1))
        ref = stats.t(nu_n - 1, loc=m_n[p_i, j], scale=scale)
        assert stats.kstest(draws[:, p_i, j], ref.cdf).pvalue > 1e-3


def test_linear_gaussian_unstandardised_recovers_coefficients(rng):
    y = rng.uniform(-2, 2, size=500)
    z = np.column_stack([1.0 - 0.5 * y + 0.3 * y**2, 2.0 * y]) + 0.05 * rng.normal(size=(500, 2))
    mech = LinearGaussianMechanism(degree=2, standardize=False).fit(y, z)
    truth = np.array([[1.0, 0.0], [-0.5, 2.0], [0.3, 0.0]])
    np.testing.assert_allclose(mech.posterior_mean()["coef"][0].numpy(), truth, atol=0.02)


def test_inverse_wishart_log_prob_matches_scipy():
    psi = np.array([[2.0, 0.3], [0.3, 1.0]])
    iw = InverseWishart(torch.tensor(5.0, dtype=torch.float64), torch.as_tensor(psi))
    sigma = np.array([[1.0, 0.2], [0.2, 0.5]])
    assert iw.log_prob(torch.as_tensor(sigma)).item() == pytest.approx(
        stats.invwishart(5, psi).logpdf(sigma), rel=1e-12
    )


# ------------------------------------------------------------------------- log_prob
def test_categorical_log_prob_matches_numpy(rng):
    y, z = categorical_data(rng)
    mech = CategoricalMechanism().fit(y, z)
    draws = mech.sample_posterior(4, random_state=0)
    lp = mech.log_prob(z, [2, 0], draws)
    assert lp.shape == (4, len(z), 2) and lp.dtype == torch.float64
    probs = draws["probs"].numpy()
    for m, cls in enumerate([2, 0]):
        np.testing.assert_allclose(lp[:, :, m].numpy(), np.log(probs[:, cls, z]), rtol=1e-12)
    obs = mech.log_prob_observed(z, y, draws)
    np.testing.assert_allclose(obs.numpy(), np.log(probs[:, y, z]), rtol=1e-12)


def test_gaussian_log_prob_matches_scipy(rng):
    y, z = gaussian_data(rng)
    mech = GaussianMechanism().fit(y, z)
    draws = mech.sample_posterior(3, random_state=0)
    lp = mech.log_prob(z, [6, 1, 6], draws)
    assert lp.shape == (3, len(z), 3) and lp.dtype == torch.float64
    loc, cov = draws["loc"].numpy(), draws["covariance_matrix"].numpy()
    for s in range(3):
        for m, code in enumerate([1, 0, 1]):
            ref = stats.multivariate_normal(loc[s, code], cov[s, code]).logpdf(z)
            np.testing.assert_allclose(lp[s, :, m].numpy(), ref, rtol=1e-10)
    obs = mech.log_prob_observed(z, y, draws).numpy()
    codes = (y == 6).astype(int)
    for s in range(3):
        ref = [
            stats.multivariate_normal(loc[s, c], cov[s, c]).logpdf(zn)
            for zn, c in zip(z, codes, strict=True)
        ]
        np.testing.assert_allclose(obs[s], ref, rtol=1e-10)
    # Default draws: the posterior mean, S = 1.
    mean = mech.posterior_mean()
    ref = stats.multivariate_normal(mean["loc"][0, 0].numpy(), mean["covariance_matrix"][0, 0])
    np.testing.assert_allclose(mech.log_prob(z, [1])[0, :, 0].numpy(), ref.logpdf(z), rtol=1e-10)


def test_linear_gaussian_log_prob_matches_torch_distributions(rng):
    y, z = linear_data(rng)
    mech = LinearGaussianMechanism(degree=2).fit(y, z)
    draws = mech.sample_posterior(5, random_state=0)
    values = np.array([-1.0, 0.5, 3.0])
    lp = mech.log_prob(z, values, draws)
    assert lp.shape == (5, len(z), 3)
    u = (values - y.mean()) / y.std()
    phi = torch.as_tensor(np.column_stack([np.ones(3), u, u**2]))
    for s in range(5):
        for m in range(3):
            mvn = torch.distributions.MultivariateNormal(
                phi[m] @ draws["coef"][s], draws["covariance_matrix"][s]
            )
            torch.testing.assert_close(lp[s, :, m], mvn.log_prob(torch.as_tensor(z)))
    obs = mech.log_prob_observed(z, y, draws)
    u = (y - y.mean()) / y.std()
    phi = torch.as_tensor(np.column_stack([np.ones(len(u)), u, u**2]))
    mvn = torch.distributions.MultivariateNormal(
        phi @ draws["coef"][2], draws["covariance_matrix"][2]
    )
    torch.testing.assert_close(obs[2], mvn.log_prob(torch.as_tensor(z)))


# ------------------------------------------------------------------------ shrinkage
@pytest.mark.parametrize("kind", ["categorical", "gaussian", "linear"])
def test_posterior_sd_shrinks_like_one_over_sqrt_n(kind):
    """Quadrupling N halves the posterior sd of every parameter (within 20 %)."""
    rng = np.random.default_rng(7)
    if kind == "categorical":
        y, z = categorical_data(rng, 4000)
        mech = CategoricalMechanism()
    elif kind == "gaussian":
        y, z = gaussian_data(rng, 4000)
        mech = GaussianMechanism()
    else:
        y, z = linear_data(rng, 4000)
        mech = LinearGaussianMechanism()
    sds = []
    for n in (1000, 4000):  # nested data sets: the first N rows of one sample
        draws = mech.fit(y[:n], z[:n]).sample_posterior(8000, random_state=0)
        sds.append(np.concatenate([v.numpy().reshape(8000, -1).std(0) for v in draws.values()]))
    ratio = sds[0] / sds[1]
    assert np.all(np.abs(ratio / 2.0 - 1.0) < 0.2), ratio


def test_sample_posterior_is_reproducible_and_leaves_global_rng_alone(rng):
    y, z = gaussian_data(rng)
    mech = GaussianMechanism().fit(y, z)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = mech.sample_posterior(5, random_state=11)
    after = torch.rand(1)
    b = mech.sample_posterior(5, random_state=11)
    c = mech.sample_posterior(5, random_state=12)
    torch.testing.assert_close(a["loc"], b["loc"])
    assert not torch.allclose(a["loc"], c["loc"])
    assert before.item() == after.item()


# -------------------------------------------------------------------------- arviz
# arviz 0.23's plot_posterior calls a matplotlib helper that matplotlib >= 3.11 deprecates;
# the warning comes from arviz internals, not from our data, so it is ignored here and only here.
MPL_ARVIZ_DEPRECATION = (
    "ignore:Passing a dict or None as alias_mapping:matplotlib.MatplotlibDeprecationWarning"
)


@pytest.mark.filterwarnings(MPL_ARVIZ_DEPRECATION)
@pytest.mark.parametrize("kind", ["categorical", "gaussian", "linear"])
def test_to_inference_data_works_with_arviz(rng, kind):
    if kind == "categorical":
        mech = CategoricalMechanism().fit(*categorical_data(rng))
        var, dims = "probs", ("chain", "draw", "y_class", "z_class")
    elif kind == "gaussian":
        mech = GaussianMechanism().fit(*gaussian_data(rng))
        var, dims = "loc", ("chain", "draw", "y_class", "z_dim")
    else:
        mech = LinearGaussianMechanism().fit(*linear_data(rng))
        var, dims = "coef", ("chain", "draw", "feature", "z_dim")
    idata = mech.to_inference_data(n_draws=200, n_chains=4, random_state=0)
    assert idata.posterior[var].dims == dims
    assert idata.posterior.sizes["chain"] == 4 and idata.posterior.sizes["draw"] == 200
    assert "z" in idata.observed_data and idata.observed_data["z"].sizes["obs"] == mech.n_samples_
    summary = az.summary(idata, var_names=[var], round_to="none")
    # Exact independent draws: r-hat is 1 up to noise, and the mean matches the closed form.
    assert summary["r_hat"].max() < 1.02
    np.testing.assert_allclose(
        summary["mean"].to_numpy(),
        mech.posterior_mean()[var][0].numpy().ravel(),
        atol=4 * summary["sd"].max() / np.sqrt(800) + 1e-3,
    )
    axes = az.plot_posterior(idata, var_names=[var])
    assert np.asarray(axes).size == np.prod(mech.posterior_mean()[var].shape)
    plt.close("all")
    az.plot_forest(idata, var_names=[var])
    plt.close("all")


# ---------------------------------------------------------------------- bad input
def test_not_fitted_raises():
    for mech in (CategoricalMechanism(), GaussianMechanism(), LinearGaussianMechanism()):
        with pytest.raises(NotFittedError, match="not fitted"):
            mech.sample_posterior(2)
        with pytest.raises(NotFittedError):
            mech.log_prob(np.zeros((3, 1)), [0])
        with pytest.raises(NotFittedError):
            mech.posterior_mean()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_names_the_argument(rng, bad):
    y, z = gaussian_data(rng)
    z_bad = z.copy()
    z_bad[3, 1] = bad
    with pytest.raises(ValueError, match="z must be finite"):
        GaussianMechanism().fit(y, z_bad)
    y_lin, z_lin = linear_data(rng)
    y_bad = y_lin.copy()
    y_bad[0] = bad
    with pytest.raises(ValueError, match="y must be finite"):
        LinearGaussianMechanism().fit(y_bad, z_lin)
    with pytest.raises(ValueError, match="y must be finite"):
        GaussianMechanism().fit(np.where(y == 1, bad, 6.0), z)


def test_mismatched_lengths(rng):
    y, z = gaussian_data(rng)
    with pytest.raises(ValueError, match="y has 79, z has 80"):
        GaussianMechanism().fit(y[:-1], z)
    mech = GaussianMechanism().fit(y, z)
    with pytest.raises(ValueError, match="same number of rows"):
        mech.log_prob_observed(z, y[:-2])
    with pytest.raises(ValueError, match="z must have 2 column"):
        mech.log_prob(z[:, :1], [1])


def test_small_class_warns_naming_it(rng):
    y, z = gaussian_data(rng)
    y = y.copy()
    y[0] = 9
    with pytest.warns(MechanismWarning, match=r"class\(es\) \[9\] of y have fewer than 2 rows"):
        mech = GaussianMechanism().fit(y, z)
    # The posterior for the lone class still exists (prior plus one row) and is finite.
    assert torch.isfinite(mech.log_prob(z, [9])).all()
    yc, zc = categorical_data(rng)
    yc[:1] = 7
    with pytest.warns(MechanismWarning, match=r"\[7\]"):
        CategoricalMechanism().fit(yc, zc)


def test_constant_continuous_y_is_rejected(rng):
    _, z = linear_data(rng)
    with pytest.raises(ValueError, match=r"y column\(s\) \[0\] are constant"):
        LinearGaussianMechanism().fit(np.full(len(z), 2.0), z)


@pytest.mark.parametrize("n_draws", [0, -3])
def test_n_draws_below_one(rng, n_draws):
    mech = CategoricalMechanism().fit(*categorical_data(rng))
    with pytest.raises(ValueError, match="n_draws must be an integer >= 1"):
        mech.sample_posterior(n_draws)
    with pytest.raises(TypeError, match="n_draws"):
        mech.sample_posterior(2.5)


def test_unknown_intervention_and_z_category(rng):
    y, z = categorical_data(rng)
    mech = CategoricalMechanism().fit(y, z)
    with pytest.raises(
        ValueError, match=r"y_values holds value\(s\) \[5\] that were never observed"
    ):
        mech.log_prob(z, [0, 5])
    with pytest.raises(ValueError, match=r"z holds value\(s\) \[4\]"):
        mech.log_prob(np.array([0, 4]), [0])
    mech = CategoricalMechanism(z_categories=[0, 1, 2, 3, 4]).fit(y, z)
    assert mech.posterior_mean()["probs"].shape == (1, 3, 5)
    assert torch.isfinite(mech.log_prob(np.array([0, 4]), [0])).all()


def test_bad_priors_and_draws(rng):
    y, z = gaussian_data(rng)
    with pytest.raises(ValueError, match="prior_kappa"):
        GaussianMechanism(prior_kappa=0.0).fit(y, z)
    with pytest.raises(ValueError, match="prior_scale must be positive definite"):
        GaussianMechanism(prior_scale=[[1.0, 2.0], [2.0, 1.0]]).fit(y, z)
    with pytest.raises(ValueError, match="prior_concentration"):
        CategoricalMechanism(prior_concentration=-1.0).fit(*categorical_data(rng))
    mech = GaussianMechanism().fit(y, z)
    with pytest.raises(ValueError, match=r"draws lacks parameter\(s\) \['covariance_matrix'\]"):
        mech.log_prob(z, [1], {"loc": torch.zeros(1, 2, 2, dtype=torch.float64)})


def test_refit_replaces_previous_fit(rng):
    mech = GaussianMechanism()
    y, z = gaussian_data(rng)
    mech.fit(y, z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mech.fit(np.where(y == 1, 2, 3), z[:, :1])
    np.testing.assert_array_equal(mech.classes_, [2, 3])
    assert mech.posterior_mean()["loc"].shape == (1, 2, 1)


def test_categorical_mechanism_refuses_continuous_z():
    # Each distinct float would become its own category: refused, naming the remedy.
    from bayes_mech.mechanisms import CategoricalMechanism

    y = np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"z must hold integer category codes.*such as 0\.37"):
        CategoricalMechanism().fit(y, np.array([0.37, 1.2, 2.5, 0.1]))
    fitted = CategoricalMechanism().fit(y, np.array([0.0, 1.0, 1.0, 0.0]))  # whole floats: codes
    assert fitted.log_prob(np.array([0.0, 1.0]), [0, 1]).shape == (1, 2, 2)

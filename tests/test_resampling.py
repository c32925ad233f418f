"""Causal bootstrap: resampled rows follow the front-door weights."""

import numpy as np
import pytest
import torch
from scipy import stats

from bayes_mech.resamplers import causal_bootstrap
from bayes_mech.weights import bayesian_bootstrap_log_weights

F64 = torch.float64


@pytest.fixture
def weights():
    """Two draws × two interventions over 8 rows, with zero weights in places."""
    w = torch.tensor(
        [
            [[0.30, 0.20, 0.10, 0.10, 0.10, 0.10, 0.05, 0.05], [0, 0, 0.5, 0.25, 0.25, 0, 0, 0]],
            [[1 / 8] * 8, [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.04, 0.90]],
        ],
        dtype=F64,
    )
    with np.errstate(divide="ignore"):
        return torch.log(w)


def test_frequencies_follow_weights_chi2(weights):
    X = np.arange(16.0).reshape(8, 2)
    n = 20_000
    Xs, idx = causal_bootstrap(X, weights, n, random_state=0, return_indices=True)
    assert Xs.shape == (2, 2, n, 2) and idx.shape == (2, 2, n) and idx.dtype == np.int64
    np.testing.assert_array_equal(Xs, X[idx])
    w = weights.exp().numpy()
    for s in range(2):
        for m in range(2):
            counts = np.bincount(idx[s, m], minlength=8)
            support = w[s, m] > 0
            assert counts[~support].sum() == 0  # zero-weight rows are never drawn
            p = stats.chisquare(counts[support], n * w[s, m, support]).pvalue
            assert p > 1e-3, (s, m, p)
    # the χ² test has power: the counts of (0, 0) are incompatible with the weights of (1, 0)
    counts = np.bincount(idx[0, 0], minlength=8)
    assert stats.chisquare(counts, n * w[1, 0]).pvalue < 1e-10


def test_reproducible_and_unnormalised_input(weights):
    X = np.linspace(0, 1, 8)  # 1-D X is one feature
    a = causal_bootstrap(X, weights, 50, random_state=7)
    assert a.shape == (2, 2, 50, 1)
    np.testing.assert_array_equal(a, causal_bootstrap(X, weights + 3.0, 50, random_state=7))
    assert not np.array_equal(a, causal_bootstrap(X, weights, 50, random_state=8))


def test_with_bayesian_bootstrap_weights():
    # Dirichlet row weights as the front-door weights of one intervention: the mean of the
    # resampled rows is the Dirichlet-weighted mean, up to the multinomial noise.
    lb = bayesian_bootstrap_log_weights(3, 400, random_state=0).unsqueeze(1)
    X = np.random.default_rng(0).normal(size=(400, 1))
    Xs = causal_bootstrap(X, lb, 40_000, random_state=1)
    w = lb[:, 0].exp().numpy()
    target = w @ X[:, 0]
    sd = np.sqrt(w @ (X[:, 0] ** 2) - target**2) / np.sqrt(40_000)
    np.testing.assert_array_less(np.abs(Xs[:, 0, :, 0].mean(1) - target), 4 * sd)


def test_bad_input(weights):
    X = np.zeros((8, 2))
    with pytest.raises(ValueError, match="X has 7 rows, log_weights has 8"):
        causal_bootstrap(X[:7], weights, 10)
    bad = weights.clone()
    bad[1, 1] = -torch.inf
    with pytest.raises(ValueError, match=r"all zero .*intervention index 1 \(draw\(s\) \[1\]\)"):
        causal_bootstrap(X, bad, 10)
    bad[1, 1, 0] = torch.nan
    with pytest.raises(ValueError, match="1 NaN"):
        causal_bootstrap(X, bad, 10)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        causal_bootstrap(X_nan, weights, 10)
    with pytest.raises(ValueError, match="n_samples"):
        causal_bootstrap(X, weights, 0)
    with pytest.raises(ValueError, match="got 2-D"):
        causal_bootstrap(X, weights[0], 10)


def test_cwgmm_fit_is_equivariant_to_column_units():
    # Fitted in standardised coordinates: rescaling and shifting the columns of X maps samples
    # and mixtures the same way, and shifts the log-likelihood by the log-Jacobian −Σ log|c_j|.
    from bayes_mech.resamplers import cwgmm_resample

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (150, 2)), rng.normal(4, 0.5, (150, 2))])
    lw = torch.log(torch.as_tensor(rng.dirichlet(np.ones(300), size=(2, 3))))
    c, shift = np.array([1e-7, 3e5]), np.array([5.0, -2.0])
    base, fit = cwgmm_resample(X, lw, 2, 200, random_state=0)
    moved, fit_moved = cwgmm_resample(X * c + shift, lw, 2, 200, random_state=0)
    np.testing.assert_allclose((moved - shift) / c, base, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        fit_moved.lower_bound, fit.lower_bound - np.log(c).sum(), rtol=1e-9, atol=1e-7
    )
    for (i, a), (j, b) in zip(fit.members, fit_moved.members, strict=True):
        assert i == j
        np.testing.assert_allclose(b.means_, a.means_ * c + shift, rtol=1e-6)
        np.testing.assert_allclose(b.covariances_, a.covariances_ * np.outer(c, c), rtol=1e-6)
        # The mixture in X's units is a proper fit: its covariance is positive definite.
        assert np.all(np.linalg.eigvalsh(b.covariances_) > 0)


def _two_draw_problem():
    """Draw 0 weights one blob of three, draw 1 all three: their K must differ."""
    from bayes_mech.resamplers import FrontDoorProblem

    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [12.0, 0.0], [0.0, 12.0]])
    X = np.concatenate([rng.normal(c, 1.0, (200, 2)) for c in centers])
    w = np.ones((2, 1, 600))
    w[0, 0, 200:] = 1e-12
    lw = torch.log(torch.as_tensor(w / w.sum(-1, keepdims=True)))
    return X, FrontDoorProblem(X, None, None, None, {}, np.array([1]), lw, None)


def test_cwgmm_chooses_k_per_draw_on_its_own_weights():
    from bayes_mech.resamplers import CWGMMResampler

    _, problem = _two_draw_problem()
    resampler = CWGMMResampler(n_components="bic")
    rows = resampler.resample(problem, 3000, random_state=0)
    np.testing.assert_array_equal(resampler.n_components_draws_, [[1], [3]])
    assert resampler.n_components_.shape == (1,)
    # Each draw's rows follow its own weights: blob 0 only, or all three blobs equally.
    np.testing.assert_allclose(rows[0, 0].mean(0), [0.0, 0.0], atol=0.15)
    np.testing.assert_allclose(rows[1, 0].mean(0), [4.0, 4.0], atol=0.5)
    assert resampler.mixtures_.weights.shape == (2, 1, 3)
    np.testing.assert_allclose(resampler.mixtures_.weights[0, 0].numpy(), [1.0, 0.0, 0.0])
    stats = resampler.fit_stats()
    np.testing.assert_array_equal(stats["n_components"][0], [[1], [3]])
    assert "draws" in resampler.describe(["1"])
    # Same seed, same K and rows; the saved state rebuilds the per-draw K.
    again = CWGMMResampler(n_components="bic")
    np.testing.assert_array_equal(again.resample(problem, 3000, random_state=0), rows)
    back = CWGMMResampler.from_state(resampler.state_arrays())
    np.testing.assert_array_equal(back.n_components_draws_, [[1], [3]])


@pytest.mark.parametrize("n_components", ["aic", "bic_eff", "cv", "dp", 2, {1: 2}])
def test_cwgmm_every_n_components_option_gives_per_draw_k(n_components):
    from bayes_mech.resamplers import CWGMMResampler

    _, problem = _two_draw_problem()
    resampler = CWGMMResampler(n_components=n_components)
    rows = resampler.resample(problem, 500, random_state=0)
    assert rows.shape == (2, 1, 500, 2) and np.isfinite(rows).all()
    ks = resampler.n_components_draws_
    assert ks.shape == (2, 1)
    if isinstance(n_components, str):  # chosen per draw: one blob, three blobs
        assert ks[0, 0] < ks[1, 0]
    else:
        np.testing.assert_array_equal(ks, [[2], [2]])


def _structured_values(n_draws: int, seed: int = 0):
    """Standardised rows and (S * M, N) weights: value 0 on two tilted clusters (a full
    mixture), value 1 on four round clusters of unequal sizes (a spherical one)."""
    from bayes_mech.resamplers._base import standardize_columns

    rng = np.random.default_rng(seed)
    tilted = [rng.multivariate_normal(c, [[1, r], [r, 1]], 300) for c, r in (([-6, 6], 0.9),
              ([6, -6], -0.9))]  # fmt: skip
    label = rng.integers(0, 4, 600)
    centres = np.array([[8, 8], [8, -8], [-8, 8], [-8, -8]])
    round_ = centres[label] + rng.normal(size=(600, 2)) * np.array([0.5, 1, 2, 1.5])[label, None]
    X = np.concatenate([*tilted, round_])  # symmetric in the two axes: standardising keeps shapes
    W = np.empty((n_draws, 2, 1200))
    W[:, 0] = np.r_[np.ones(600), np.full(600, 1e-9)]
    W[:, 1] = np.r_[np.full(600, 1e-9), np.ones(600)]
    W *= rng.exponential(size=W.shape)
    return standardize_columns(X)[0], (W / W.sum(-1, keepdims=True)).reshape(-1, 1200)


@pytest.mark.parametrize("criterion", ["bic", "aic", "bic_eff", "cv"])
def test_choose_structures_finds_each_values_structure(criterion):
    from bayes_mech.resamplers.cwgmm import choose_structures

    Z, W = _structured_values(n_draws=6)
    tilted, round_ = choose_structures(Z, W, criterion, (6, 2), seed=0)
    assert tilted == ("full",)
    # AIC's lighter penalty and the held-out score let some draw take the diagonal's two
    # variances per round cluster
    assert round_ == ("spherical",) if criterion in ("bic", "bic_eff") else "spherical" in round_


def test_choose_structures_reads_only_the_first_draws():
    from bayes_mech.resamplers.cwgmm import STRUCTURE_DRAWS, choose_structures

    n_draws = 3 * STRUCTURE_DRAWS
    Z, W = _structured_values(n_draws)
    # the later draws (two thirds of them) swap the values' weights: read, they would swap the
    # structures
    swapped = W.reshape(n_draws, 2, -1).copy()
    swapped[STRUCTURE_DRAWS:] = swapped[STRUCTURE_DRAWS:, ::-1]
    swapped = swapped.reshape(W.shape)
    found = choose_structures(Z, swapped, "bic", (n_draws, 2), seed=0)
    assert found == [("full",), ("spherical",)]
    found = choose_structures(Z, swapped[2 * STRUCTURE_DRAWS :], "bic", (STRUCTURE_DRAWS, 2), 0)
    assert found == [("spherical",), ("full",)]
    # with fewer draws than STRUCTURE_DRAWS, all of them
    assert choose_structures(Z, W[:4], "bic", (2, 2), seed=0) == [("full",), ("spherical",)]


def test_choose_structures_keeps_every_structure_a_first_draw_chose():
    """Where the first draws disagree, the draws choose among the structures they chose."""
    import torch

    from bayes_mech.resamplers.cwgmm import STRUCTURE_DRAWS, _select_and_draw, choose_structures

    Z, W = _structured_values(n_draws=STRUCTURE_DRAWS + 4)
    W = W.reshape(STRUCTURE_DRAWS + 4, 2, -1)
    # value 1's first two draws weight the tilted clusters, its other draws the round ones
    W[:2, 1] = W[:2, 0]
    W = W.reshape(-1, W.shape[-1])
    found = choose_structures(Z, W, "bic", (STRUCTURE_DRAWS + 4, 2), seed=0)
    assert found == [("full",), ("full", "spherical")]
    log_w = torch.log(torch.as_tensor(W).reshape(STRUCTURE_DRAWS + 4, 2, -1))
    *_, types = _select_and_draw(Z, log_w, "bic", 50, covariance_type="auto", seed=0, device=None)
    assert set(types[:, 0]) == {"full"}
    assert types[:2, 1].tolist() == ["full", "full"]
    assert set(types[2:, 1]) == {"spherical"}


def test_few_draws_scan_every_structure_without_a_first_pass(monkeypatch):
    """With no more draws than STRUCTURE_DRAWS every draw scans all four structures anyway:
    no separate first pass (it would fit the same mixtures twice)."""
    import torch

    from bayes_mech.resamplers import cwgmm

    def refuse(*args, **kwargs):
        raise AssertionError("choose_structures ran")

    monkeypatch.setattr(cwgmm, "choose_structures", refuse)
    Z, W = _structured_values(n_draws=cwgmm.STRUCTURE_DRAWS)
    log_w = torch.log(torch.as_tensor(W).reshape(cwgmm.STRUCTURE_DRAWS, 2, -1))
    *_, types = cwgmm._select_and_draw(Z, log_w, "bic", 50, covariance_type="auto", seed=0,
                                       device=None)  # fmt: skip
    assert set(types[:, 0]) == {"full"} and set(types[:, 1]) == {"spherical"}


def test_a_first_draws_single_full_component_votes_for_tied():
    """One component with a full covariance is the one-component tied mixture: the later draws
    then scan "tied" (which holds it at K = 1), not the costlier "full"."""
    from bayes_mech.resamplers._base import standardize_columns
    from bayes_mech.resamplers.cwgmm import STRUCTURE_DRAWS, choose_structures

    rng = np.random.default_rng(0)
    blob = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 600)  # one tilted Gaussian
    Z = standardize_columns(blob)[0]
    W = rng.exponential(size=(STRUCTURE_DRAWS + 2, 1, 600)).reshape(-1, 600)
    result = cwgmm_select(Z, W[:STRUCTURE_DRAWS])
    assert set(np.asarray(result.n_components).tolist()) == {1}
    assert set(np.asarray(result.covariance_type).tolist()) == {"full"}  # the tie goes to full
    assert choose_structures(Z, W, "bic", (STRUCTURE_DRAWS + 2, 1), seed=0) == [("tied",)]


def cwgmm_select(Z, W):
    from bayes_mech.resamplers.cwgmm import _select

    return _select(Z, W, "bic", "auto", 0)


def test_k_window_is_each_values_first_draws_k_plus_minus_one():
    from bayes_mech.resamplers.cwgmm import K_CANDIDATES, K_WINDOW, k_window

    assert K_WINDOW == 1
    window = k_window([3, 1, 5, 1], n_values=2)  # rows s * M + m: value 0 chose 3 and 5
    cands = np.asarray(K_CANDIDATES)
    np.testing.assert_array_equal(cands[window[0]], [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(cands[window[1]], [1, 2])


def test_later_draws_scan_only_their_values_structures_and_k_window(monkeypatch):
    """The first draws' scan of all four structures is their selection (not refitted); the
    later draws are fitted only at the structures and K window their value's first draws give."""
    import torch

    from bayes_mech.resamplers import cwgmm

    calls = []
    select = cwgmm._select

    def record(Z, W, criterion, ctype, seed, device=None, candidates=cwgmm.K_CANDIDATES,
               allowed=None):  # fmt: skip
        calls.append((W.shape[0], ctype, None if allowed is None else allowed.copy()))
        return select(Z, W, criterion, ctype, seed, device, candidates, allowed)

    monkeypatch.setattr(cwgmm, "_select", record)
    n_draws = cwgmm.STRUCTURE_DRAWS + 3
    Z, W = _structured_values(n_draws)
    log_w = torch.log(torch.as_tensor(W).reshape(n_draws, 2, -1))
    _, _, ks, types = cwgmm._select_and_draw(Z, log_w, "bic", 50, covariance_type="auto",
                                             seed=0, device=None)  # fmt: skip
    (n_probe, probe_type, _), *later = calls
    assert (n_probe, probe_type) == (2 * cwgmm.STRUCTURE_DRAWS, "auto")
    assert sorted((n, tuple(t)) for n, t, _ in later) == [(3, ("full",)), (3, ("spherical",))]
    window = cwgmm.k_window(ks[: cwgmm.STRUCTURE_DRAWS].reshape(-1), 2)
    for _, ctype, allowed in later:
        value = int(ctype == ["spherical"])  # value 0 is full, value 1 spherical
        np.testing.assert_array_equal(allowed, np.repeat(window[[value]], 3, 0))
    assert set(types[:, 0]) == {"full"} and set(types[:, 1]) == {"spherical"}
    cands = np.asarray(cwgmm.K_CANDIDATES)
    assert all(window[m][cands == k].item() for m in (0, 1) for k in ks[:, m])

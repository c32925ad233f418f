"""The BLAS choice of the EM: deterministic per machine, same numbers either way."""

import numpy as np
import pytest
import threadpoolctl
import torch

from bayes_mech.exceptions import ConvergenceWarning
from bayes_mech.mixture import WeightedGaussianMixture, _gemm
from bayes_mech.mixture import _covariances as cov_ops


@pytest.fixture
def blas(monkeypatch):
    """Run a block with BAYES_MECH_BLAS set, then restore the machine's choice."""

    def use(value):
        monkeypatch.setenv("BAYES_MECH_BLAS", value)
        _gemm.numpy_blas.cache_clear()

    yield use
    monkeypatch.delenv("BAYES_MECH_BLAS", raising=False)
    _gemm.numpy_blas.cache_clear()


def test_override_and_products_agree(blas):
    rng = np.random.default_rng(0)
    a, b = torch.as_tensor(rng.normal(size=(7, 300))), torch.as_tensor(rng.normal(size=(300, 5)))
    out = {}
    for value in ("torch", "numpy"):
        blas(value)
        assert _gemm.numpy_blas() is (value == "numpy")
        acc = torch.ones(7, 5, dtype=torch.float64)
        out[value] = (_gemm.mm(a, b), _gemm.addmm_(acc, a, b), _gemm.mm(b.T, a.T))
    for x, y in zip(out["torch"], out["numpy"], strict=True):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out["numpy"][1], 1.0 + a @ b)


def test_float32_and_autograd_stay_with_torch(blas):
    blas("numpy")
    a = torch.ones(3, 4, dtype=torch.float32)
    assert not _gemm._numpy_ok(a, a.T)
    g = torch.ones(3, 4, dtype=torch.float64, requires_grad=True)
    assert not _gemm._numpy_ok(g, g.T.detach())
    assert _gemm.mm(g, g.T.detach()).requires_grad


# diag 300: the moment path's wide GEMMs; full 6: its outer-product features; full/tied 70: the
# direct path (d > MOMENT_MAX_FEATURES), whose E-step is a trmm with P on numpy's BLAS and a
# triangular solve with the covariance factor on torch's, and whose M-step factorises by LAPACK.
@pytest.mark.parametrize(
    ("covariance_type", "d"), [("diag", 300), ("full", 6), ("full", 70), ("tied", 70)]
)
def test_em_gives_the_same_fit_with_either_blas(blas, covariance_type, d):
    assert cov_ops.uses_moments(covariance_type, d) is (d != 70)
    rng = np.random.default_rng(1)
    X = rng.normal(0.0, 0.7, (4, d))[rng.integers(0, 4, 800)] + rng.normal(size=(800, d))
    w = rng.exponential(size=(3, 800))
    fits = {}
    for value in ("torch", "numpy"):
        blas(value)
        gm = WeightedGaussianMixture(4, covariance_type=covariance_type, max_iter=300,
                                     random_state=0).fit(X, sample_weight=w)  # fmt: skip
        fits[value] = gm
    a, b = fits["torch"], fits["numpy"]
    np.testing.assert_array_equal(a.n_iter_, b.n_iter_)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-8, atol=1e-10)
    # P = L⁻ᵀ is a matrix inverse: its rounding scales with cond(Σ) (1.5e7 for one component at
    # d = 70, where the two paths differ by 2e-10 of the largest entry).
    scale = np.abs(a.precisions_cholesky_).max()
    np.testing.assert_allclose(a.precisions_cholesky_, b.precisions_cholesky_, atol=1e-8 * scale)
    np.testing.assert_allclose(a.lower_bound_, b.lower_bound_, rtol=1e-10)
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=1e-8)


def test_direct_path_chunks_give_the_same_fit_on_numpy_blas(blas, monkeypatch):
    # numpy's BLAS runs the direct path one matrix at a time in one reused (chunk, d) buffer:
    # chunks of 7 rows with a last one of 2 must give the one-chunk fit.
    blas("numpy")
    rng = np.random.default_rng(2)
    X = rng.normal(0.0, 0.7, (3, 70))[rng.integers(0, 3, 500)] + rng.normal(size=(500, 70))
    w = rng.exponential(size=(2, 500))
    kw = {"covariance_type": "full", "max_iter": 20, "tol": 0.0, "random_state": 0}
    with pytest.warns(ConvergenceWarning):  # tol = 0: exactly max_iter iterations each
        whole = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=w)
        monkeypatch.setattr(cov_ops, "CHUNK_BYTES", 7 * cov_ops._row_bytes("full", 2, 3, 70, 8))
        chunked = WeightedGaussianMixture(3, **kw).fit(X, sample_weight=w)
    for name in ("means_", "covariances_", "lower_bound_"):
        np.testing.assert_allclose(getattr(whole, name), getattr(chunked, name), rtol=1e-9)
    scale = np.abs(whole.precisions_cholesky_).max()  # an inverse: rounding grows with cond(Σ)
    np.testing.assert_allclose(
        whole.precisions_cholesky_, chunked.precisions_cholesky_, atol=1e-8 * scale
    )


def test_lapack_precision_factor_matches_torch_and_repairs_alike(blas):
    # P with P Pᵀ = Σ⁻¹ from LAPACK potrf + trtri (numpy's BLAS) or torch's cholesky_ex and
    # triangular solve: the same to rounding, and a matrix that is not positive definite gets
    # the same ridge either way.
    rng = np.random.default_rng(3)
    d = cov_ops.MOMENT_MAX_FEATURES + 16
    A = rng.normal(size=(2, 3, d, 2 * d))
    cov = torch.as_tensor(A @ A.transpose(0, 1, 3, 2) / (2 * d))
    cov[1, 2] = torch.as_tensor(np.outer(A[1, 2, :, 0], A[1, 2, :, 0]))  # rank one
    out = {}
    for value in ("torch", "numpy"):
        blas(value)
        out[value] = cov_ops.precision_cholesky(cov, "full")
    (p_torch, bad_torch), (p_numpy, bad_numpy) = out["torch"], out["numpy"]
    assert bad_torch == bad_numpy == 1
    assert torch.equal(p_numpy, p_numpy.triu())
    torch.testing.assert_close(p_numpy[:1], p_torch[:1], rtol=1e-10, atol=1e-12)
    eye = torch.eye(d, dtype=torch.float64)
    torch.testing.assert_close(cov[0] @ p_numpy[0] @ p_numpy[0].mT, eye.expand(3, d, d))
    # The repaired rank-one matrix keeps a condition number near 1e8 (the ridge is √ε times its
    # scale): its inverse factor agrees to 1e-7 of its largest entry, its log-determinant closely.
    assert torch.isfinite(p_numpy).all()
    scale = float(p_torch[1, 2].abs().max())
    torch.testing.assert_close(p_numpy[1, 2], p_torch[1, 2], rtol=0, atol=1e-6 * scale)
    logdet = {key: cov_ops.log_det_cholesky(p[1], "full", d) for key, (p, _) in out.items()}
    torch.testing.assert_close(logdet["numpy"], logdet["torch"], rtol=1e-10, atol=1e-6)


def test_machine_rule_reads_the_vendor(blas, monkeypatch):
    blas("auto")
    monkeypatch.setattr(_gemm, "_cpu_vendor", lambda: "GenuineIntel")
    _gemm.numpy_blas.cache_clear()
    assert _gemm.numpy_blas() is False
    monkeypatch.setattr(_gemm, "_cpu_vendor", lambda: "AuthenticAMD")
    _gemm.numpy_blas.cache_clear()
    assert _gemm.numpy_blas() is torch.backends.mkl.is_available()


def _blas_threads() -> set[int]:
    return {p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"}


@pytest.mark.filterwarnings("ignore::bayes_mech.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("value", ["torch", "numpy"])
def test_em_threads_follow_the_blas(blas, monkeypatch, value):
    """With products on numpy's BLAS a fit runs torch's ops on one thread at any size and
    OpenBLAS's below BLAS_THREAD_WORK (either pool's spinning threads would hold up the other's
    ops); with torch's own BLAS, large fits keep torch's threads and OpenBLAS is left alone.
    The caller's thread counts are restored either way."""
    blas(value)
    seen = []
    statistics = cov_ops.weighted_statistics

    def record(*args, **kwargs):
        seen.append((torch.get_num_threads(), frozenset(_blas_threads())))
        return statistics(*args, **kwargs)

    monkeypatch.setattr(cov_ops, "weighted_statistics", record)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    outside = _blas_threads()
    try:
        with threadpoolctl.threadpool_limits(2, user_api="blas"):
            outside = _blas_threads()
            rng = np.random.default_rng(0)
            X = rng.normal(size=(3000, 8))
            W = rng.gamma(1.0, size=(16, 3000))  # 3000 * 16 * 6 * 8: above SMALL_WORK
            WeightedGaussianMixture(6, max_iter=3, tol=0, random_state=0).fit(X, sample_weight=W)
            assert torch.get_num_threads() == 2
            assert _blas_threads() == outside
    finally:
        torch.set_num_threads(before)
    if value == "numpy":
        assert set(seen) == {(1, frozenset({1}))}
    else:
        assert set(seen) == {(2, frozenset(outside))}

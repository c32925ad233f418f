"""The BLAS choice of the EM's moment path: deterministic per machine, same numbers either way."""

import numpy as np
import pytest
import torch

from bayes_mech.mixture import WeightedGaussianMixture, _gemm


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


@pytest.mark.parametrize(("covariance_type", "d"), [("diag", 300), ("full", 6)])
def test_em_gives_the_same_fit_with_either_blas(blas, covariance_type, d):
    rng = np.random.default_rng(1)
    X = rng.normal(0.0, 0.7, (4, d))[rng.integers(0, 4, 800)] + rng.normal(size=(800, d))
    w = rng.exponential(size=(3, 800))
    fits = {}
    for value in ("torch", "numpy"):
        blas(value)
        gm = WeightedGaussianMixture(4, covariance_type=covariance_type, max_iter=300,
                                     random_state=0).fit(X, sample_weight=w)  # fmt: skip
        fits[value] = gm
    np.testing.assert_allclose(fits["torch"].means_, fits["numpy"].means_, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(fits["torch"].lower_bound_, fits["numpy"].lower_bound_, rtol=1e-10)


def test_machine_rule_reads_the_vendor(blas, monkeypatch):
    blas("auto")
    monkeypatch.setattr(_gemm, "_cpu_vendor", lambda: "GenuineIntel")
    _gemm.numpy_blas.cache_clear()
    assert _gemm.numpy_blas() is False
    monkeypatch.setattr(_gemm, "_cpu_vendor", lambda: "AuthenticAMD")
    _gemm.numpy_blas.cache_clear()
    assert _gemm.numpy_blas() is torch.backends.mkl.is_available()

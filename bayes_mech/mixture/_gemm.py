"""The EM's matrix products and factorisations, on the CPU BLAS that is fast on this CPU.

torch's CPU wheels link Intel's MKL; numpy's link OpenBLAS. For the EM's skinny products (a tall
matrix of row features times a few columns, and back) MKL is slow on AMD processors: on this
project's AMD EPYC machine, one thread, OpenBLAS took 11 ms for the M-step's (10 x 5000) x
(5000 x 1569) product where MKL took 36-39 ms, and 16 ms against 19 ms for the E-step's
(``benchmarks/results/mixture.md`` has the effect on whole EM iterations). So float64 products
on the CPU go through numpy's BLAS when torch's is MKL and the processor is not Intel's.

The direct path of high-dimensional ``full``/``tied`` fits takes the same route, one matrix at a
time through scipy's bindings of its OpenBLAS and LAPACK (same machine, ``d = 784``, 10
components, one thread): the E-step's rows times the upper-triangular precision factor ``P`` by
``trmm`` (13-17 ms per component for 711 rows; torch's batched ``solve_triangular`` took 24 ms
and needed the covariance factor ``L = P⁻ᵀ``, a further 240-320 ms triangular solve per
iteration), and the M-step's ``P`` by ``potrf`` and ``trtri`` (180 ms for the 10 matrices, 390 ms
with torch's ``cholesky_ex`` and ``solve_triangular``). A whole iteration went from 3.7-4.0 s to
2.4-2.6 s.

The choice is made from the machine, never from timings, so that a fit is reproducible: the
same machine always takes the same path. ``BAYES_MECH_BLAS=torch`` or ``=numpy`` overrides it.
"""

from __future__ import annotations

import functools
import os
import platform

import numpy as np
import scipy.linalg.blas
import scipy.linalg.lapack
import torch

from bayes_mech._cpuinfo import cpuinfo_field

__all__ = [
    "add_gram_rows_",
    "addmm_",
    "mm",
    "numpy_blas",
    "precision_factor",
    "quadratic_rows",
]


def _cpu_vendor() -> str:
    return cpuinfo_field("vendor_id") or platform.processor()


@functools.cache
def numpy_blas() -> bool:
    """Whether CPU float64 products use numpy's BLAS (see the module docstring)."""
    forced = os.environ.get("BAYES_MECH_BLAS", "auto").lower()
    if forced in ("torch", "numpy"):
        return forced == "numpy"
    mkl = torch.backends.mkl.is_available()
    return mkl and "intel" not in _cpu_vendor().lower()


def _numpy_ok(*tensors) -> bool:
    return numpy_blas() and all(
        t.device.type == "cpu" and t.dtype == torch.float64 and not t.requires_grad for t in tensors
    )


def mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` for 2-D tensors."""
    if _numpy_ok(a, b):
        return torch.from_numpy(np.dot(a.numpy(), b.numpy()))
    return torch.mm(a, b)


def addmm_(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``out += a @ b`` in place, for 2-D tensors."""
    if _numpy_ok(out, a, b) and out.is_contiguous():
        view = out.numpy()
        view += np.dot(a.numpy(), b.numpy())
        return out
    return out.addmm_(a, b)


def quadratic_rows(
    x: torch.Tensor, means: torch.Tensor, prec_chol: torch.Tensor, buffer: np.ndarray
) -> torch.Tensor:
    """``‖(x_n − μ_bk) P_bk‖²`` of shape ``(B, K, c)`` for the rows ``x`` ``(c, d)``, with ``P``
    upper triangular, ``(B, K, d, d)`` (``full``; a tied E-step needs no quadratic form).

    One matrix at a time in the reused ``(≥ c, d)`` ``buffer``: ``x − μ``, then ``trmm`` in place
    (half the flops of a GEMM), then the row sums of squares. ``P`` is used as it is, so the
    covariance factor ``L = P⁻ᵀ`` that torch's triangular solve needs is never formed
    (``‖L⁻¹(x − μ)‖²`` is the same number to rounding).
    """
    b, k, _ = means.shape
    quad = x.new_empty(b, k, len(x))
    rows = buffer[: len(x)]
    xn, mn, pn, qn = x.numpy(), means.numpy(), prec_chol.numpy(), quad.numpy()
    for i, j in np.ndindex(b, k):
        np.subtract(xn, mn[i, j], out=rows)
        # Row-major (c, d) is column-major (d, c): (rows P)ᵀ = Pᵀ rowsᵀ, and row-major P read
        # column-major is Pᵀ, lower triangular. Neither operand is copied.
        scipy.linalg.blas.dtrmm(1.0, pn[i, j].T, rows.T, side=0, lower=1, overwrite_b=1)
        np.einsum("ij,ij->i", rows, rows, out=qn[i, j])
    return quad


def add_gram_rows_(
    out: torch.Tensor, x: torch.Tensor, means: torch.Tensor, rw: torch.Tensor, buffer: np.ndarray
) -> None:
    """``out_bk += Σ_n rw_bkn (x_n − μ_bk)(x_n − μ_bk)ᵀ``, lower triangle only (BLAS ``syrk``).

    One matrix at a time: the rows ``√rw (x − μ)`` are formed again in the reused ``(≥ c, d)``
    ``buffer`` rather than kept from the E-step (that would be ``B · K`` such blocks).
    """
    acc, xn, mn = out.numpy(), x.numpy(), means.numpy()
    scale = rw.sqrt().numpy()
    rows = buffer[: len(x)]
    for i, j in np.ndindex(acc.shape[:2]):
        np.subtract(xn, mn[i, j], out=rows)
        rows *= scale[i, j][:, None]
        # Row-major (c, d) is column-major (d, c), so syrk forms rowsᵀ rows into the
        # column-major view of out[i, j], whose upper triangle is our lower one.
        scipy.linalg.blas.dsyrk(1.0, rows.T, beta=1.0, c=acc[i, j].T, trans=0, overwrite_c=1)


def precision_factor(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Upper-triangular ``P`` with ``P Pᵀ = Σ⁻¹`` for float64 CPU ``cov`` ``(..., d, d)``, and the
    LAPACK ``potrf`` status per matrix (``> 0``: not positive definite; that ``P`` is NaN).

    ``P = L⁻ᵀ`` for the lower Cholesky factor ``L`` (``potrf``) inverted by ``trtri``: both run
    in place on the column-major view of ``P``'s row-major slot, which holds ``L⁻¹`` as ``P``.
    ``potrf`` reads the upper triangle of the row-major ``Σ`` (torch's ``cholesky_ex`` the
    lower one): the same numbers for the exactly symmetric covariances of the M-step.
    """
    d = cov.shape[-1]
    flat = cov.reshape(-1, d, d).numpy()
    prec = np.empty_like(flat)
    info = np.zeros(len(flat), dtype=np.int64)
    for i, mat in enumerate(flat):
        slot = prec[i].T  # column-major
        slot[...] = mat.T  # Σ is symmetric; this copy is contiguous
        chol, info[i] = scipy.linalg.lapack.dpotrf(slot, lower=1, clean=1, overwrite_a=1)
        if info[i] > 0:
            slot[...] = np.nan
            continue
        inverse, _ = scipy.linalg.lapack.dtrtri(chol, lower=1, overwrite_c=1)
        if not np.shares_memory(inverse, slot):  # f2py copies only non-contiguous input
            slot[...] = inverse
    return torch.from_numpy(prec).view(cov.shape), torch.from_numpy(info).view(cov.shape[:-2])

"""The EM's matrix products and factorisations, on the CPU BLAS that is fast on this CPU.

torch's CPU wheels link Intel's MKL; numpy's link OpenBLAS. For the EM's skinny products (a tall
matrix of row features times a few columns, and back) MKL is slow on AMD processors: on this
project's AMD EPYC machine, one thread, OpenBLAS took 11 ms for the M-step's (10 x 5000) x
(5000 x 1569) product where MKL took 36-39 ms, and 16 ms against 19 ms for the E-step's
(``benchmarks/results/mixture.md`` has the effect on whole EM iterations). So float64 products
on the CPU go through numpy's BLAS when torch's is MKL and the processor is not Intel's.

The direct path of high-dimensional ``full``/``tied`` fits (``d = 784``, 10 components, one
thread, same machine) takes the same route, one matrix at a time through scipy's bindings of that
BLAS and LAPACK: the E-step's rows times the upper-triangular precision factor by ``trmm`` (about
17 ms per component for 711 rows, where MKL's batched ``solve_triangular`` with the covariance
factor took 24 ms and needed that factor, a further triangular solve per iteration), and the
M-step's factor ``P`` with ``P Pᵀ = Σ⁻¹`` by ``potrf`` and ``trtri`` (180 ms for the 10
matrices, 390 ms with torch's ``cholesky_ex`` and ``solve_triangular``).

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

__all__ = ["addmm_", "mm", "numpy_blas", "precision_factor", "times_upper_"]


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


def times_upper_(rows: np.ndarray, upper: np.ndarray) -> None:
    """``rows := rows @ upper`` in place, for C-ordered ``rows`` ``(c, d)`` and upper-triangular
    ``upper`` ``(d, d)``: one BLAS ``trmm`` (half the flops of a GEMM), float64."""
    # Row-major (c, d) is column-major (d, c): (rows U)ᵀ = Uᵀ rowsᵀ, and the row-major U viewed
    # column-major is Uᵀ, lower triangular. Neither operand is copied.
    scipy.linalg.blas.dtrmm(1.0, upper.T, rows.T, side=0, lower=1, trans_a=0, overwrite_b=1)


def precision_factor(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Upper-triangular ``P`` with ``P Pᵀ = Σ⁻¹`` for float64 CPU ``cov`` ``(..., d, d)``, and the
    LAPACK ``potrf`` status per matrix (``> 0``: not positive definite; that ``P`` is NaN).

    ``P = L⁻ᵀ`` for the lower Cholesky factor ``L`` (``potrf``) inverted by ``trtri``: both run
    in place on the column-major view of ``P``'s row-major slot, which holds ``L⁻¹`` as ``P``.
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

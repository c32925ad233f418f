"""The matrix products of the EM's moment path, on the CPU BLAS that is fast on this CPU.

torch's CPU wheels link Intel's MKL; numpy's link OpenBLAS. For the EM's skinny products (a tall
matrix of row features times a few columns, and back) MKL is slow on AMD processors: on this
project's AMD EPYC machine, one thread, OpenBLAS took 11 ms for the M-step's (10 x 5000) x
(5000 x 1569) product where MKL took 36-39 ms, and 16 ms against 19 ms for the E-step's
(``benchmarks/results/mixture.md`` has the effect on whole EM iterations). So float64 products
on the CPU go through numpy's BLAS when torch's is MKL and the processor is not Intel's.

The choice is made from the machine, never from timings, so that a fit is reproducible: the
same machine always takes the same path. ``BAYES_MECH_BLAS=torch`` or ``=numpy`` overrides it.
"""

from __future__ import annotations

import functools
import os
import platform

import numpy as np
import torch

from bayes_mech._cpuinfo import cpuinfo_field

__all__ = ["addmm_", "mm", "numpy_blas"]


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

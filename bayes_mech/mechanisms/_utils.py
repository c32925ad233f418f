"""Helpers shared by the mechanism modules: seeding, prior checks, ArviZ export."""

from __future__ import annotations

import math
import random
from contextlib import contextmanager

import numpy as np
import pyro
import torch

from bayes_mech._validation import as_numpy, seed_from

__all__ = [
    "check_positive_float",
    "check_scale_matrix",
    "gaussian_log_prob_grid",
    "seeded",
    "to_inference_data",
]


@contextmanager
def seeded(random_state):
    """Seed torch, numpy and ``random`` from ``random_state`` for the block, then restore them.

    Pyro draws from the global generators, so a seeded fit must set them; restoring them afterwards
    keeps a fit from changing the caller's random streams.
    """
    seed = seed_from(random_state)
    # Pyro seeds numpy's legacy global generator, so that is the state to save and restore.
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    with torch.random.fork_rng(devices=[]):
        pyro.set_rng_seed(seed)
        try:
            yield seed
        finally:
            np.random.set_state(np_state)  # noqa: NPY002
            random.setstate(py_state)


def check_positive_float(value, name: str, *, minimum: float = 0.0) -> float:
    """A finite float strictly above ``minimum``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number > {minimum}; got {value!r}.") from None
    if not np.isfinite(out) or out <= minimum:
        raise ValueError(f"{name} must be a finite number > {minimum}; got {value!r}.")
    return out


def check_scale_matrix(value, name: str, d: int) -> np.ndarray:
    """A (d, d) positive-definite matrix from a scalar, a (d,) diagonal or a (d, d) matrix."""
    arr = as_numpy(value, name).astype(np.float64)
    if arr.ndim == 0:
        arr = np.eye(d) * float(arr)
    elif arr.ndim == 1:
        if arr.shape[0] != d:
            raise ValueError(f"{name} as a diagonal must have length {d}; got {arr.shape[0]}.")
        arr = np.diag(arr)
    if arr.shape != (d, d):
        raise ValueError(f"{name} must be a scalar, ({d},) or ({d}, {d}); got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)) or not np.allclose(arr, arr.T):
        raise ValueError(f"{name} must be a finite symmetric matrix.")
    try:
        np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite.") from None
    return arr


def to_inference_data(posterior, *, dims, coords, observed_data, sample_stats=None):
    """Build an ``arviz.InferenceData`` from arrays of shape (chain, draw, ...)."""
    import arviz as az  # imported lazily: arviz is slow to import and only needed here

    def _np(d):
        return None if d is None else {k: as_numpy(v, k) for k, v in d.items()}

    return az.from_dict(
        posterior=_np(posterior),
        observed_data=_np(observed_data),
        sample_stats=_np(sample_stats),
        dims=dims,
        coords=coords,
    )


def gaussian_log_prob_grid(z: torch.Tensor, loc: torch.Tensor, scale_tril: torch.Tensor):
    """``log N(z_n | loc_sm, L_sm L_smᵀ)`` for every row, draw and intervention value.

    ``z`` has shape (N, d) or (S, N, d) (rows shifted per draw), ``loc`` (S, M, d) and
    ``scale_tril`` (S, M, d, d) (or broadcastable, e.g. (S, 1, d, d)); the result has shape
    (S, N, M). One batched triangular solve of the S·M
    factors against all N rows at once: ``MultivariateNormal(...).log_prob`` on the broadcast
    (S, N, M) grid expands the factors to S·N·M tiny solves instead (3x slower at S = 32,
    N = 5000, M = 20; measured), and this is the cost of every front-door weight computation.
    """
    d = z.shape[-1]
    scale_tril = scale_tril.expand(*loc.shape[:-1], d, d)
    z_t = z.T[None, None] if z.dim() == 2 else z.transpose(-1, -2)[:, None]
    diff = z_t - loc[..., None]  # (S, M, d, N)
    std = torch.linalg.solve_triangular(scale_tril, diff, upper=False)
    half_log_det = scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)  # (S, M)
    log_prob = (
        -0.5 * std.square().sum(-2) - (half_log_det + 0.5 * d * math.log(2 * math.pi))[..., None]
    )
    return log_prob.transpose(1, 2)

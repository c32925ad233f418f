"""Variance-reduced draws for training sets: low-discrepancy uniforms and antithetic normals.

Every member of the ensemble is trained on rows drawn from a fitted model; whatever noise those
draws carry passes for posterior spread. These helpers keep each row's law and remove most of
that noise: categorical choices read off a randomly shifted golden-ratio sequence (every leading
block of ``j`` draws holds each category within ``O(log j)`` of its expected count, against
``O(√j)`` for independent draws) and Gaussian noise in antithetic pairs ``(ε, −ε)``.
"""

from __future__ import annotations

import torch

__all__ = ["antithetic_normals", "golden_uniforms", "inverse_cdf"]

#: The golden ratio's fractional part: its continued fraction has every partial quotient 1, so
#: the additive recurrence ``u + jφ mod 1`` has discrepancy O(log j / j), the best order such a
#: sequence can have (Kuipers & Niederreiter, *Uniform Distribution of Sequences*, 1974): its
#: leading blocks split the unit interval evenly.
GOLDEN = (5.0**0.5 - 1.0) / 2.0


def golden_uniforms(n_batch: int, n: int, gen, device=None) -> torch.Tensor:
    """``(n_batch, n)`` uniforms ``(u_b + jφ) mod 1`` with an independent uniform shift ``u_b``
    per batch row: each entry is U(0, 1), and any ``j`` consecutive entries are evenly spread."""
    shift = torch.rand(n_batch, 1, generator=gen, dtype=torch.float64, device=device)
    steps = torch.arange(n, dtype=torch.float64, device=device) * GOLDEN
    return torch.remainder(shift + steps, 1.0)


def inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Categories ``(B, n)`` for uniforms ``u`` ``(B, n)`` under the probabilities ``probs``
    ``(B, C)`` of each batch row (unnormalised is fine)."""
    edges = torch.cumsum(probs.to(torch.float64), dim=-1)
    edges = edges / edges[..., -1:]  # the last edge exactly 1: u < 1 always finds a category
    return torch.searchsorted(edges, u, right=True).clamp_(max=probs.shape[-1] - 1)


def antithetic_normals(shape: tuple, gen, dtype=torch.float64, device=None) -> torch.Tensor:
    """Standard normals of ``shape`` ``(..., n, d)`` whose rows come in pairs ``(ε, −ε)`` along
    the second-to-last axis (rows ``2j`` and ``2j + 1``; an odd last row is unpaired)."""
    *lead, n, d = shape
    n_pairs = (n + 1) // 2
    eps = torch.randn(*lead, n_pairs, d, generator=gen, dtype=dtype, device=device)
    return torch.stack([eps, -eps], dim=-2).reshape(*lead, 2 * n_pairs, d)[..., :n, :]

"""The inverse-Wishart distribution, with an unconstrained parameterisation for NUTS and SVI.

Pyro and torch ship a Wishart distribution but no inverse-Wishart, and torch registers no
*bijective* transform onto ``constraints.positive_definite`` (its ``transform_to`` goes through a
d×d matrix whose upper triangle is ignored, which leaves NUTS with flat directions). This module
adds both: `InverseWishart`, whose support is a private subclass of the positive-definite
constraint, and the bijection ``R^{d(d+1)/2} → positive-definite`` registered for that subclass
only, so nothing else in Pyro changes behaviour.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
from pyro.distributions import TorchDistribution
from torch.distributions import Chi2, constraints
from torch.distributions.constraint_registry import biject_to, transform_to
from torch.distributions.transforms import Transform
from torch.distributions.utils import tril_matrix_to_vec, vec_to_tril_matrix

__all__ = ["InverseWishart", "positive_definite_matrix"]


class _PositiveDefiniteMatrix(constraints._PositiveDefinite):
    """``constraints.positive_definite`` with a bijective unconstrained transform registered."""


#: Support of `InverseWishart`: symmetric positive-definite matrices.
positive_definite_matrix = _PositiveDefiniteMatrix()


def _dim_from_vector(n: int) -> int:
    d = round((math.sqrt(8 * n + 1) - 1) / 2)
    if d * (d + 1) // 2 != n:
        raise ValueError(f"A vector of length {n} does not fill a lower-triangular matrix.")
    return d


class PositiveDefiniteVecTransform(Transform):
    r"""Bijection from ``R^{d(d+1)/2}`` onto d×d positive-definite matrices.

    The vector fills a lower-triangular ``L`` row by row, its diagonal passed through ``exp``;
    the output is ``Σ = L Lᵀ``. With ``L_ii = exp(x_ii)`` the log-Jacobian is

    .. math:: \log|J| = d \log 2 + \sum_{i=1}^{d} (d - i + 2)\, \log L_{ii},

    ``d log 2 + Σ (d − i + 1) log L_ii`` from ``L ↦ L Lᵀ`` and ``Σ log L_ii`` from the ``exp``.
    """

    domain = constraints.real_vector
    codomain = positive_definite_matrix
    bijective = True

    def __eq__(self, other):
        return isinstance(other, PositiveDefiniteVecTransform)

    def _call(self, x):
        _dim_from_vector(x.shape[-1])  # fail clearly on a length that is not d(d+1)/2
        tril = vec_to_tril_matrix(x)
        diag = torch.diagonal(tril, dim1=-2, dim2=-1)
        chol = tril - torch.diag_embed(diag) + torch.diag_embed(diag.exp())
        return chol @ chol.mT

    def _inverse(self, y):
        chol = torch.linalg.cholesky(y)
        diag = torch.diagonal(chol, dim1=-2, dim2=-1)
        chol = chol - torch.diag_embed(diag) + torch.diag_embed(diag.log())
        return tril_matrix_to_vec(chol)

    def log_abs_det_jacobian(self, x, y):
        d = y.shape[-1]
        log_diag = torch.diagonal(torch.linalg.cholesky(y), dim1=-2, dim2=-1).log()
        order = torch.arange(d + 1, 1, -1, dtype=y.dtype, device=y.device)  # d + 1, ..., 2
        return d * math.log(2.0) + (order * log_diag).sum(-1)

    def forward_shape(self, shape):
        d = _dim_from_vector(shape[-1])
        return (*shape[:-1], d, d)

    def inverse_shape(self, shape):
        d = shape[-1]
        return (*shape[:-2], d * (d + 1) // 2)


@biject_to.register(_PositiveDefiniteMatrix)
@transform_to.register(_PositiveDefiniteMatrix)
def _transform_to_positive_definite_matrix(constraint):
    return PositiveDefiniteVecTransform()


class InverseWishart(TorchDistribution):
    r"""Inverse-Wishart distribution ``IW(ν, Ψ)`` over d×d covariance matrices.

    .. math::

        \log p(Σ) = \tfrac{ν}{2}\log|Ψ| - \tfrac{νd}{2}\log 2 - \log Γ_d(\tfrac{ν}{2})
                    - \tfrac{ν + d + 1}{2}\log|Σ| - \tfrac12 \operatorname{tr}(Ψ Σ^{-1}),

    with mean ``Ψ / (ν − d − 1)`` for ``ν > d + 1``. ``Σ ~ IW(ν, Ψ)`` iff ``Σ⁻¹ ~ W(ν, Ψ⁻¹)``,
    which is how it is sampled (Bartlett decomposition).

    Parameters
    ----------
    df : float or Tensor of shape batch_shape
        Degrees of freedom ``ν > d − 1``.
    scale_matrix : Tensor of shape batch_shape + (d, d)
        Positive-definite scale ``Ψ``.

    Examples
    --------
    >>> import torch
    >>> iw = InverseWishart(torch.tensor(5.0, dtype=torch.float64),
    ...                     torch.eye(2, dtype=torch.float64))
    >>> iw.mean
    tensor([[0.5000, 0.0000],
            [0.0000, 0.5000]], dtype=torch.float64)
    >>> iw.log_prob(torch.eye(2, dtype=torch.float64)).item()  # doctest: +ELLIPSIS
    -5.32...
    """

    arg_constraints: ClassVar[dict] = {
        "df": constraints.positive,
        "scale_matrix": constraints.positive_definite,
    }
    support = positive_definite_matrix
    has_rsample = False

    def __init__(self, df, scale_matrix, validate_args=None):
        scale_matrix = torch.as_tensor(scale_matrix)
        df = torch.as_tensor(df, dtype=scale_matrix.dtype, device=scale_matrix.device)
        d = scale_matrix.shape[-1]
        # np.broadcast_shapes: torch.broadcast_shapes imports sympy on first use (seconds).
        batch_shape = torch.Size(np.broadcast_shapes(df.shape, scale_matrix.shape[:-2]))
        self.df = df.expand(batch_shape)
        self.scale_matrix = scale_matrix.expand((*batch_shape, d, d))
        super().__init__(batch_shape, torch.Size((d, d)), validate_args=validate_args)
        if self._validate_args and not bool((self.df > d - 1).all()):
            raise ValueError(f"df must exceed d - 1 = {d - 1}; got {self.df.min().item()}.")

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(InverseWishart, _instance)
        batch_shape = torch.Size(batch_shape)
        d = self.event_shape[-1]
        new.df = self.df.expand(batch_shape)
        new.scale_matrix = self.scale_matrix.expand((*batch_shape, d, d))
        super(InverseWishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        d = self.event_shape[-1]
        return self.scale_matrix / (self.df - d - 1)[..., None, None]

    def sample(self, sample_shape=()):
        # Bartlett decomposition of Σ⁻¹ ~ W(ν, Ψ⁻¹): Σ⁻¹ = (L A)(L A)ᵀ with L Lᵀ = Ψ⁻¹, A lower
        # triangular, A_ii² ~ χ²(ν − i) (i = 0 … d−1) and A_ij ~ N(0, 1) below the diagonal.
        # (torch's Wishart.rsample warns spuriously on every call, so it is not used.)
        shape = torch.Size(sample_shape) + self.batch_shape
        d = self.event_shape[-1]
        with torch.no_grad():
            offsets = torch.arange(d, dtype=self.df.dtype, device=self.df.device)
            chi2 = Chi2(self.df[..., None] - offsets).sample(sample_shape)
            a = torch.randn((*shape, d, d), dtype=self.df.dtype, device=self.df.device).tril(-1)
            a = a + torch.diag_embed(chi2.sqrt())
            chol_prec = torch.linalg.cholesky(
                torch.cholesky_inverse(torch.linalg.cholesky(self.scale_matrix))
            )
            t = chol_prec @ a
            sigma = torch.cholesky_inverse(t)  # (T Tᵀ)⁻¹ for lower-triangular T
            return 0.5 * (sigma + sigma.mT)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d = self.event_shape[-1]
        nu = self.df
        chol_sigma = torch.linalg.cholesky(value)
        logdet_sigma = 2.0 * torch.diagonal(chol_sigma, dim1=-2, dim2=-1).log().sum(-1)
        logdet_psi = torch.linalg.slogdet(self.scale_matrix)[1]
        # tr(Ψ Σ⁻¹) through the Cholesky factor of Σ: Σ⁻¹ = L⁻ᵀ L⁻¹.
        sigma_inv = torch.cholesky_inverse(chol_sigma)
        trace = (self.scale_matrix * sigma_inv).sum((-2, -1))
        return (
            0.5 * nu * logdet_psi
            - 0.5 * nu * d * math.log(2.0)
            - torch.mvlgamma(0.5 * nu, p=d)
            - 0.5 * (nu + d + 1) * logdet_sigma
            - 0.5 * trace
        )

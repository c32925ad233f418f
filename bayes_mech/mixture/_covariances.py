"""Covariance-specific Gaussian maths shared by the EM and variational mixtures.

Everything here works on a leading *batch* axis ``B`` (one mixture per weight vector) and never
loops over components or batch members: the component axis ``K`` is a tensor axis and the work is
done by batched matrix products. Rows are streamed in chunks so that the memory held at once is
``O(chunk · B · K · d)`` on top of the data itself.

Shapes, with ``B`` batch members, ``K`` components and ``d`` features:

=============  ==================  ==================  ================
type           covariances         precisions_chol     quadratic form
=============  ==================  ==================  ================
``full``       ``(B, K, d, d)``    ``(B, K, d, d)``    batched matmul
``tied``       ``(B, d, d)``       ``(B, d, d)``       batched matmul
``diag``       ``(B, K, d)``       ``(B, K, d)``       GEMM expansion
``spherical``  ``(B, K)``          ``(B, K)``          GEMM expansion
=============  ==================  ==================  ================

``precisions_chol`` is the upper-triangular ``P`` with ``P Pᵀ = Σ⁻¹`` (scikit-learn's convention),
so the Mahalanobis term is ``‖(x − μ)ᵀ P‖²`` and ``log det Σ⁻¹ = 2 Σ_j log P_jj``.
"""

from __future__ import annotations

import math

import torch

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

#: Bytes of temporaries one chunk of rows may use; tests lower it to exercise chunking.
CHUNK_BYTES = 2**27


def n_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters of a ``K``-component mixture (weights, means and covariances)."""
    k, d = n_components, n_features
    cov = {
        "full": k * d * (d + 1) / 2,
        "tied": d * (d + 1) / 2,
        "diag": k * d,
        "spherical": k,
    }[covariance_type]
    return int(cov + k * d + k - 1)


def chunk_rows(n_rows: int, bytes_per_row: int) -> int:
    """Rows per chunk so that the chunk's temporaries fit in :data:`CHUNK_BYTES`."""
    return int(max(1, min(n_rows, CHUNK_BYTES // max(1, bytes_per_row))))


def _row_bytes(covariance_type: str, n_batch: int, n_components: int, n_features: int, itemsize):
    bk = n_batch * n_components
    if covariance_type in ("full", "tied"):
        # D = x − μ, Y = D P and the weighted D, each (B, K, c, d), plus a few (B, K, c).
        return itemsize * (3 * bk * n_features + 5 * bk)
    return itemsize * (6 * bk + 2 * n_features)


def precision_cholesky(cov: torch.Tensor, covariance_type: str) -> tuple[torch.Tensor, int]:
    """Upper-triangular Cholesky factors of the precisions, ``P Pᵀ = Σ⁻¹``.

    A covariance that is not numerically positive definite (a collapsed component with
    ``reg_covar = 0``) gets a growing ridge until its Cholesky factorisation succeeds instead of
    producing NaN; the number of matrices repaired is returned so the caller can warn.
    """
    if covariance_type in ("diag", "spherical"):
        bad = ~(cov > 0)
        n_bad = int(bad.any(-1).sum()) if covariance_type == "diag" else int(bad.sum())
        if n_bad:
            cov = torch.where(bad, torch.full_like(cov, torch.finfo(cov.dtype).tiny ** 0.5), cov)
        return cov.rsqrt(), n_bad
    chol, info = torch.linalg.cholesky_ex(cov)
    n_bad = int((info > 0).sum())
    if n_bad:
        eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
        scale = cov.diagonal(dim1=-2, dim2=-1).abs().mean(-1).clamp_min(1.0)[..., None, None]
        jitter = torch.finfo(cov.dtype).eps ** 0.5
        while bool((info > 0).any()):
            fix = (info > 0)[..., None, None]
            cov = torch.where(fix, cov + jitter * scale * eye, cov)
            chol, info = torch.linalg.cholesky_ex(cov)
            jitter *= 10.0
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device).expand_as(chol)
    inv_chol = torch.linalg.solve_triangular(chol, eye, upper=False)
    return inv_chol.mT, n_bad


def log_det_cholesky(prec_chol: torch.Tensor, covariance_type: str, n_features: int):
    """``log det P = ½ log det Σ⁻¹``, shape ``(B, K)`` (``(B,)`` for ``tied``)."""
    if covariance_type in ("full", "tied"):
        return prec_chol.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    if covariance_type == "diag":
        return prec_chol.log().sum(-1)
    return n_features * prec_chol.log()


def _quadratic(x, x2, means, prec_chol, covariance_type):
    """Mahalanobis terms ``(x − μ_k)ᵀ Σ_k⁻¹ (x − μ_k)``, shape ``(B, K, c)``.

    For ``full``/``tied`` also returns ``D = x − μ_k`` of shape ``(B, K, c, d)``, reused by the
    M-step so that covariances are accumulated around the current means (no cancellation).
    For ``diag``/``spherical`` the square is expanded, ``Σ_j p²(x_j² − 2 x_j μ_j + μ_j²)``, so that
    the work is two ``(c, d) @ (d, B·K)`` GEMMs and nothing of size ``c · K · d`` is formed.
    """
    b, k, d = means.shape
    if covariance_type in ("full", "tied"):
        diff = x[None, None] - means[:, :, None, :]
        prec = prec_chol if covariance_type == "full" else prec_chol[:, None]
        y = diff @ prec
        return y.square().sum(-1), diff
    if covariance_type == "diag":
        p2 = prec_chol.square()  # (B, K, d)
        quad = x2 @ p2.reshape(b * k, d).T - 2.0 * x @ (means * p2).reshape(b * k, d).T
        quad = quad.T.reshape(b, k, -1) + (means.square() * p2).sum(-1)[..., None]
        return quad, None
    p2 = prec_chol.square()  # (B, K)
    quad = x2.sum(1)[:, None] - 2.0 * x @ means.reshape(b * k, d).T
    quad = quad.T.reshape(b, k, -1) + means.square().sum(-1)[..., None]
    return quad * p2[..., None], None


def log_rho(x, means, prec_chol, log_const, covariance_type):
    """Unnormalised log responsibilities ``log_const_bk − ½ (x − μ_bk)ᵀ Σ_bk⁻¹ (x − μ_bk)``.

    Shape ``(B, K, c)`` for a chunk ``x`` of ``c`` rows.
    """
    quad, _ = _quadratic(x, x * x, means, prec_chol, covariance_type)
    return log_const[..., None] - 0.5 * quad


def gaussian_log_const(log_weights, prec_chol, covariance_type, n_features):
    """``log π_k + log det P_k − (d/2) log 2π``: everything in ``log π_k N(x | μ_k, Σ_k)`` but the
    Mahalanobis term, shape ``(B, K)``."""
    logdet = log_det_cholesky(prec_chol, covariance_type, n_features)
    if covariance_type == "tied":
        logdet = logdet[:, None]
    return log_weights + logdet - 0.5 * n_features * math.log(2 * math.pi)


def weighted_statistics(
    X, W, means, prec_chol, log_const, covariance_type, reg_covar, *, entropy=False
):
    """One pass over the rows: E-step and the weighted sufficient statistics of the M-step.

    With ``log ρ_bkn = log_const_bk − ½ (x_n − μ_bk)ᵀ Σ_bk⁻¹ (x_n − μ_bk)`` and responsibilities
    ``r_bkn = softmax_k log ρ_bkn``, it returns, for every batch member ``b``,

    * ``nk = Σ_n w_bn r_bkn`` (plus ``10 ε``, as scikit-learn, so empty components stay finite),
    * ``x̄_k = Σ_n w_bn r_bkn x_n / nk``,
    * the weighted covariances ``S_k = Σ_n w_bn r_bkn (x_n − x̄_k)(x_n − x̄_k)ᵀ / nk + reg_covar·I``
      in the layout of ``covariance_type`` (``tied`` pools ``Σ_k nk S_k / Σ_k nk``),
    * ``log_norm = Σ_n w_bn logsumexp_k log ρ_bkn`` and, if ``entropy``,
      ``Σ_n w_bn Σ_k r_bkn log r_bkn``.

    ``full``/``tied`` accumulate around the current means and correct by the shift afterwards,
    ``S = Σ r w (x − μ)(x − μ)ᵀ / nk − δ δᵀ`` with ``δ = x̄ − μ`` small, which is numerically
    stable; ``diag``/``spherical`` use second moments of ``X`` (the caller centres ``X``).
    """
    b, k, d = means.shape
    n = X.shape[0]
    chunk = chunk_rows(n, _row_bytes(covariance_type, b, k, d, X.element_size()))
    kw = {"dtype": X.dtype, "device": X.device}
    nk = torch.zeros(b, k, **kw)
    s1 = torch.zeros(b, k, d, **kw)
    s2 = torch.zeros((b, k, d, d) if covariance_type in ("full", "tied") else (b, k, d), **kw)
    log_norm = torch.zeros(b, **kw)
    ent = torch.zeros(b, **kw)
    for start in range(0, n, chunk):
        x = X[start : start + chunk]
        w = W[:, start : start + chunk]
        x2 = x * x
        quad, diff = _quadratic(x, x2, means, prec_chol, covariance_type)
        log_rho = log_const[..., None] - 0.5 * quad
        lse = torch.logsumexp(log_rho, dim=1)  # (B, c)
        log_resp = log_rho - lse[:, None]
        rw = log_resp.exp() * w[:, None, :]  # (B, K, c)
        nk += rw.sum(-1)
        log_norm += (w * lse).sum(-1)
        if entropy:
            ent += (rw * log_resp).sum((1, 2))
        if diff is not None:
            wdiff = diff * rw[..., None]
            s1 += wdiff.sum(2)
            s2 += wdiff.mT @ diff
        else:
            s1 += rw @ x
            s2 += rw @ x2
    nk = nk + 10 * torch.finfo(X.dtype).eps
    if covariance_type in ("full", "tied"):
        delta = s1 / nk[..., None]
        new_means = means + delta
        cov = s2 / nk[..., None, None] - delta[..., :, None] * delta[..., None, :]
        if covariance_type == "tied":
            cov = (nk[..., None, None] * cov).sum(1) / nk.sum(1)[:, None, None]
        cov = cov + reg_covar * torch.eye(d, **kw)
    else:
        new_means = s1 / nk[..., None]
        cov = (s2 / nk[..., None] - new_means.square()).clamp_min(0.0) + reg_covar
        if covariance_type == "spherical":
            cov = cov.mean(-1)
    return nk, new_means, cov, log_norm, ent


def expand_covariance(cov_global, covariance_type, n_components):
    """Covariances of every component set to the global ``(B, d, d)`` covariance."""
    if covariance_type == "full":
        return cov_global[:, None].expand(-1, n_components, -1, -1).clone()
    if covariance_type == "tied":
        return cov_global.clone()
    diag = cov_global.diagonal(dim1=-2, dim2=-1)
    if covariance_type == "diag":
        return diag[:, None].expand(-1, n_components, -1).clone()
    return diag.mean(-1)[:, None].expand(-1, n_components).clone()


def cholesky_of_covariance(cov, covariance_type, n_components):
    """Lower Cholesky factors ``L Lᵀ = Σ_k``, shape ``(B, K, d, d)``, for sampling."""
    if covariance_type == "full":
        return torch.linalg.cholesky(cov)
    if covariance_type == "tied":
        return torch.linalg.cholesky(cov)[:, None].expand(-1, n_components, -1, -1)
    if covariance_type == "diag":
        return torch.diag_embed(cov.sqrt())
    return None  # spherical: a scalar per component, handled by the caller

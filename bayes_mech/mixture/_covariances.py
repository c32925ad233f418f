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

import numpy as np
import scipy.linalg.blas
import torch

from bayes_mech.mixture import _gemm as gemm

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

#: BLAS symmetric rank-k updates by dtype (see :func:`_add_gram`).
_SYRK = {torch.float64: scipy.linalg.blas.dsyrk, torch.float32: scipy.linalg.blas.ssyrk}

#: Bytes of temporaries one chunk of rows may use; tests lower it to exercise chunking.
CHUNK_BYTES = 2**27
#: Target size of the per-chunk responsibility block on the moment path. Per-chunk op overhead
#: (about 20 torch ops) favours big chunks, cache misses small ones; on the project's AMD EPYC
#: (512 KiB L2 per core, 32 MiB L3), one thread, one E+M pass took 0.69-0.93 of its time at
#: 256 KiB with 2 MiB, over (N, d, B, K) from (5000, 2, 1, 4) to (20000, 16, 16, 10) full and
#: (5000, 64, 8, 4) diag; 4-8 MiB were no better.
CACHE_BYTES = 2**21
#: From this many row features on, the E-step GEMM runs as Φ A then a transpose (faster in MKL).
WIDE_FEATURES = 256
#: Row features Φ (``N × F``, ``F ≈ d²/2``) are built once per fit when they fit in this many
#: bytes; otherwise they are rebuilt per chunk, which costs ~3x the two GEMMs they feed (measured
#: at d = 16 and d = 64). This cache is the only memory above ``O(chunk · B · K + N · d)``.
FEATURE_CACHE_BYTES = 2**31


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
    prec, info = _precision_factor(cov)
    n_bad = int((info > 0).sum())
    if n_bad:
        eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
        scale = cov.diagonal(dim1=-2, dim2=-1).abs().mean(-1).clamp_min(1.0)[..., None, None]
        jitter = torch.finfo(cov.dtype).eps ** 0.5
        while bool((info > 0).any()):
            fix = (info > 0)[..., None, None]
            cov = torch.where(fix, cov + jitter * scale * eye, cov)
            prec, info = _precision_factor(cov)
            jitter *= 10.0
    return prec, n_bad


def _precision_factor(cov):
    """Upper-triangular ``P`` with ``P Pᵀ = Σ⁻¹`` and the Cholesky status per matrix (``> 0``: not
    positive definite, that ``P`` is not usable). Matrices of the direct path go one at a time
    through LAPACK where :mod:`._gemm` picks numpy's BLAS (2x faster at ``d = 784``)."""
    if gemm._numpy_ok(cov) and cov.shape[-1] > MOMENT_MAX_FEATURES:
        return gemm.precision_factor(cov)
    chol, info = torch.linalg.cholesky_ex(cov)
    if bool((info > 0).any()):
        return chol, info  # the caller repairs and factorises again
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device).expand_as(chol)
    return torch.linalg.solve_triangular(chol, eye, upper=False).mT, info


def log_det_cholesky(prec_chol: torch.Tensor, covariance_type: str, n_features: int):
    """``log det P = ½ log det Σ⁻¹``, shape ``(B, K)`` (``(B,)`` for ``tied``)."""
    if covariance_type in ("full", "tied"):
        return prec_chol.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    if covariance_type == "diag":
        return prec_chol.log().sum(-1)
    return n_features * prec_chol.log()


def uses_moments(covariance_type: str, n_features: int) -> bool:
    """Whether the E- and M-steps run as GEMMs on row features (see :class:`RowFeatures`)."""
    return covariance_type in ("diag", "spherical") or n_features <= MOMENT_MAX_FEATURES


#: ``full``/``tied`` with at most this many features use the moment (GEMM) path; above it the
#: ``d(d+1)/2`` features per row cost more memory traffic than the direct path's batched matmuls.
MOMENT_MAX_FEATURES = 64


class RowFeatures:
    """Row features ``φ(x)`` that turn both EM steps into one GEMM each.

    ``log ρ_bkn = φ(x_n) · a_bk`` is linear in ``φ(x) = [second moments, x, 1]``:
    ``diag`` uses ``x_j²``, ``spherical`` ``‖x‖²``, ``full``/``tied`` the ``d(d+1)/2`` products
    ``x_i x_j`` (``i ≤ j``). The E-step is then ``Φ A`` with ``A`` of shape ``(F, B·K)`` built from
    the parameters, and the M-step's sufficient statistics ``Σ_n w r φ(x_n)`` (counts, first and
    second moments) are ``Rᵀ Φ``. ``Φ`` is built once per fit when it fits in
    :data:`FEATURE_CACHE_BYTES`, otherwise per chunk of rows.
    """

    def __init__(self, X: torch.Tensor, covariance_type: str):
        self.X, self.covariance_type = X, covariance_type
        n, d = X.shape
        self.iu = torch.triu_indices(d, d, device=X.device)
        n_second = {"diag": d, "spherical": 1}.get(covariance_type, self.iu.shape[1])
        self.n_second, self.n_features = n_second, n_second + d + 1
        self.flat_iu = self.iu[0] * d + self.iu[1]
        # Precomputed so each iteration is a handful of ops: the coefficient of x_i x_j is
        # −½ Λ_ij, doubled off the diagonal (x_i x_j appears twice), and ``sym_index`` maps
        # every (i, j) of a d × d matrix to its upper-triangle feature, to unpack Σ w r x xᵀ in
        # one gather.
        diagonal = (self.iu[0] == self.iu[1]).to(X.dtype)
        self.second_scale = -0.5 * (2.0 - diagonal)
        position = torch.zeros(d, d, dtype=torch.long, device=X.device)
        position[self.iu[0], self.iu[1]] = torch.arange(self.iu.shape[1], device=X.device)
        self.sym_index = (position + torch.triu(position, 1).T).flatten()
        fits = n * self.n_features * X.element_size() <= FEATURE_CACHE_BYTES
        self.cache = None
        if fits:  # built chunk by chunk: the outer products of all rows at once would be N·d²
            cache = X.new_empty(n, self.n_features)
            step = chunk_rows(n, X.element_size() * (d * d + self.n_features))
            for start in range(0, n, step):
                self.build(X[start : start + step], out=cache[start : start + step])
            self.cache = cache

    def build(self, x, out=None):
        """Φ of the rows ``x``, shape ``(c, F)``, written into ``out`` when given."""
        c, d = x.shape
        out = x.new_empty(c, self.n_features) if out is None else out
        if self.covariance_type == "diag":
            torch.mul(x, x, out=out[:, :d])
        elif self.covariance_type == "spherical":
            torch.sum(x * x, 1, keepdim=True, out=out[:, :1])
        else:
            # Row i of the upper triangle, x_i · x_{i:}, written in place: no (c, d²) outer
            # product and no column gather (index_select over columns made the feature build
            # cost more than four EM iterations at d = 64; measured).
            col = 0
            for i in range(d):
                torch.mul(x[:, i : i + 1], x[:, i:], out=out[:, col : col + d - i])
                col += d - i
        out[:, self.n_second : self.n_second + d] = x
        out[:, -1] = 1.0
        return out

    def rows(self, start, stop):
        return self.cache[start:stop] if self.cache is not None else self.build(self.X[start:stop])

    def weighted_sums(self, W: torch.Tensor) -> torch.Tensor:
        """``Σ_n W_bn φ(x_n)``, shape ``(B, F)``: a tied mixture's M-step second moments, the
        same in every EM iteration (see :func:`weighted_statistics`)."""
        n = self.X.shape[0]
        out = torch.zeros(W.shape[0], self.n_features, dtype=self.X.dtype, device=self.X.device)
        step = chunk_rows(n, self.X.element_size() * self.n_features)
        for start in range(0, n, step):
            stop = min(start + step, n)
            gemm.addmm_(out, W[:, start:stop], self.rows(start, stop))
        return out

    def coefficients(self, means, prec_chol, log_const):
        """``A`` of shape ``(B, K, F)`` with ``φ(x) · A[b, k] = log ρ_bk(x)``."""
        b, k, d = means.shape
        ctype = self.covariance_type
        if ctype in ("diag", "spherical"):
            p2 = prec_chol.square()  # (B, K, d) or (B, K)
            p2d = p2 if ctype == "diag" else p2[..., None].expand(b, k, d)
            second = -0.5 * (p2 if ctype == "diag" else p2[..., None])
            linear = p2d * means
        else:
            prec = prec_chol @ prec_chol.mT  # Λ = P Pᵀ, (B, K, d, d); tied (B, d, d)
            # tied: one Λ's features, shared by the K components as a view (no (B, K, d, d) copy)
            lead = (b, k) if ctype == "full" else (b, 1)
            second = prec.reshape(*lead, d * d).index_select(-1, self.flat_iu) * self.second_scale
            second = second.expand(b, k, -1)
            linear = ((prec if ctype == "full" else prec[:, None]) @ means[..., None]).squeeze(-1)
        const = log_const - 0.5 * (linear * means).sum(-1)
        return torch.cat([second, linear, const[..., None]], -1)

    def unpack(self, totals, d):
        """Split ``Σ_n w r φ(x_n)`` of shape ``(B, K, F)`` into counts, sums and second sums."""
        nk = totals[..., -1]
        s1 = totals[..., self.n_second : self.n_second + d]
        second = totals[..., : self.n_second]
        if self.covariance_type in ("full", "tied"):
            second = second.index_select(-1, self.sym_index).unflatten(-1, (d, d))
        elif self.covariance_type == "spherical":
            second = second[..., 0]
        return nk, s1, second


def log_rho(x, means, prec_chol, log_const, covariance_type):
    """Unnormalised log responsibilities ``log_const_bk − ½ (x − μ_bk)ᵀ Σ_bk⁻¹ (x − μ_bk)``.

    Shape ``(B, K, c)`` for a chunk ``x`` of ``c`` rows.
    """
    b, k, d = means.shape
    if uses_moments(covariance_type, d):
        feats = RowFeatures(x, covariance_type)
        coef = feats.coefficients(means, prec_chol, log_const).reshape(b * k, -1)
        return (coef @ feats.rows(0, x.shape[0]).T).view(b, k, -1)
    quad, _ = _direct_quadratic(x, means, prec_chol, covariance_type)
    return log_const[..., None] - 0.5 * quad


def gaussian_log_const(log_weights, prec_chol, covariance_type, n_features):
    """``log π_k + log det P_k − (d/2) log 2π``: everything in ``log π_k N(x | μ_k, Σ_k)`` but the
    Mahalanobis term, shape ``(B, K)``."""
    logdet = log_det_cholesky(prec_chol, covariance_type, n_features)
    if covariance_type == "tied":
        logdet = logdet[:, None]
    return log_weights + logdet - 0.5 * n_features * math.log(2 * math.pi)


def _direct_quadratic(x, means, prec_chol, covariance_type, cov_chol=None, buffers=None):
    """``(x − μ_k)ᵀ Σ_k⁻¹ (x − μ_k)`` with ``D = x − μ_k`` of shape ``(B, K, c, d)`` (returned for
    reuse by the M-step).

    With the covariance factor ``L`` (``Σ = L Lᵀ``) the rows ``z = L⁻¹ (x − μ)`` come from one
    batched triangular solve, half the flops of the matmul ``D P`` (3x faster at d = 784,
    measured); without it (scoring from fitted attributes) ``‖D P‖²`` is used.
    """
    if buffers is None:
        diff = x[None, None] - means[:, :, None, :]
    else:  # reused across chunks: fresh multi-MB tensors cost a page fault per 4 KiB
        diff = torch.sub(x[None, None], means[:, :, None, :], out=buffers[0][:, :, : len(x)])
    if cov_chol is not None:  # full only (tied's E-step needs no quadratic form)
        # Solving L zᵀ = Dᵀ on the transposed view hands LAPACK a column-major right-hand side
        # as is; the row-major ``left=False`` form copies D first (1.2x slower at d = 784).
        out = None if buffers is None else buffers[1][:, :, : len(x)].mT
        z = torch.linalg.solve_triangular(cov_chol, diff.mT, upper=False, out=out)
        return z.square_().sum(-2), diff
    prec = prec_chol if covariance_type == "full" else prec_chol[:, None]
    return (diff @ prec.contiguous()).square().sum(-1), diff


def _uses_syrk(t: torch.Tensor) -> bool:
    """Whether :func:`_add_gram` accumulates ``t`` with BLAS syrk (lower triangle only)."""
    return t.device.type == "cpu" and t.dtype in _SYRK


def _add_gram(out: torch.Tensor, scaled: torch.Tensor) -> None:
    """``out += scaledᵀ scaled`` over the last two axes, shape ``(B, K, d, d)``.

    On the CPU this is BLAS ``syrk`` (scipy's bindings; torch has none), which computes one
    triangle: half the flops of the GEMM and 1.9x faster at d = 784 (measured). It fills the
    lower triangle of ``out`` (row-major), which :func:`_symmetrize_lower` completes once at the
    end. Elsewhere a batched GEMM fills both triangles.
    """
    if not _uses_syrk(out):
        out += scaled.mT @ scaled
        return
    syrk = _SYRK[out.dtype]
    acc, rows = out.numpy(), scaled.contiguous().numpy()
    for b, k in np.ndindex(acc.shape[:2]):  # each call is O(c · d²): the loop costs nothing
        # Row-major (c, d) is column-major (d, c): syrk(A Aᵀ) with A = that view, accumulating
        # into the column-major view of out[b, k] (its upper triangle = our lower one).
        syrk(1.0, rows[b, k].T, beta=1.0, c=acc[b, k].T, trans=0, overwrite_c=1)


def weighted_gram(X: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """``Σ_n W_bn x_n x_nᵀ``, shape ``(B, d, d)``: a tied mixture's second moments on the direct
    path, the same in every EM iteration (see :func:`weighted_statistics`)."""
    (n, d), b = X.shape, W.shape[0]
    out = torch.zeros(b, 1, d, d, dtype=X.dtype, device=X.device)
    step = chunk_rows(n, X.element_size() * b * d)
    for start in range(0, n, step):
        x, w = X[start : start + step], W[:, start : start + step]
        _add_gram(out, (x * w[..., None].sqrt())[:, None])
    return _symmetrize_lower(out)[:, 0]


def _symmetrize_lower(mat: torch.Tensor) -> torch.Tensor:
    """Copy the lower triangle onto the (zero) upper one after :func:`_add_gram` on the CPU."""
    if not _uses_syrk(mat):
        return mat
    out = mat + mat.mT  # the upper triangle is exactly zero, so only the diagonal doubles
    out.diagonal(dim1=-2, dim2=-1).mul_(0.5)
    return out


def covariance_cholesky_from_precision(prec_chol):
    """``L`` with ``L Lᵀ = Σ`` from ``P`` with ``P Pᵀ = Σ⁻¹``: ``L = P⁻ᵀ`` (a triangular solve)."""
    eye = torch.eye(prec_chol.shape[-1], dtype=prec_chol.dtype, device=prec_chol.device)
    return torch.linalg.solve_triangular(prec_chol, eye.expand_as(prec_chol), upper=True).mT


def _weighted_resp(log_rho, w, dim, entropy):
    """Weighted responsibilities ``w · softmax(log ρ)`` along ``dim``, in place on ``log_rho``.

    Returns ``(w r, logsumexp log ρ, log r or None)``. The explicit max shift keeps everything in
    log space; it is ~3x faster than torch's fused log-softmax over a short component axis on
    cache-sized chunks (measured), and folding ``w / Σ exp`` into one multiply saves a pass.

    Values below the smallest normal float are set to zero. Far-away components get
    responsibilities like exp(−730), which are *subnormal*, and x86 arithmetic on subnormals is
    ~100x slower: once EM has separated the clusters, the M-step GEMM slowed down 86x on them
    (measured; a fit at N = 20000, d = 64, K = 20 doubled its time per iteration). They are
    below 1e-308 of the row's largest responsibility (1), so dropping them changes no sum.
    """
    top = log_rho.amax(dim, keepdim=True)
    shifted = log_rho.sub_(top)
    log_r = shifted.clone() if entropy else None
    expd = shifted.exp_()
    total = expd.sum(dim, keepdim=True)
    log_total = total.log()
    lse = (top + log_total).squeeze(dim)
    if entropy:
        log_r.sub_(log_total)
    rw = expd.mul_(w / total)
    torch.nn.functional.threshold_(rw, torch.finfo(rw.dtype).tiny, 0.0)
    return rw, lse, log_r


def _tied_covariance(second, nk, new_means):
    """The pooled covariance ``Σ_k nk S_k / Σ_k nk`` of the components' scatter ``S_k`` around
    their new means, from ``second = Σ_n w x xᵀ`` ``(B, d, d)``: ``(second − Σ_k nk x̄_k x̄_kᵀ) /
    Σ_k nk`` (``X`` is centred by the caller, which keeps the cancellation small)."""
    # a batched product, not torch.einsum: einsum's contraction-path search cost more than the
    # product itself at these sizes (0.12 of 0.17 s over a bic_eff/auto fit on A.1)
    between = (new_means * nk[..., None]).mT @ new_means
    return (second - between) / nk.sum(1)[:, None, None]


def weighted_statistics(
    X,
    W,
    means,
    prec_chol,
    log_const,
    covariance_type,
    reg_covar,
    *,
    entropy=False,
    features=None,
    second_moments=None,
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

    Two paths: the *moment* path (:class:`RowFeatures`; ``diag``, ``spherical`` and
    ``full``/``tied`` up to :data:`MOMENT_MAX_FEATURES` features) does both steps as GEMMs on
    row features and uses ``S = Σ w r x xᵀ / nk − x̄ x̄ᵀ`` (the caller centres ``X``, which keeps
    the cancellation at float64 rounding level). The *direct* path (``full``/``tied`` in high
    dimension) forms ``D = x − μ_k`` per chunk, accumulates around the current means and corrects
    by the small shift ``δ = x̄ − μ``; it runs batched over ``(B, K)`` on torch's BLAS, or one
    matrix at a time on numpy's where :mod:`._gemm` picks it (``trmm`` with ``P`` in the
    E-step, ``syrk`` in the M-step, one reused ``(chunk, d)`` buffer).
    """
    b, k, d = means.shape
    n = X.shape[0]
    kw = {"dtype": X.dtype, "device": X.device}
    log_norm = torch.zeros(b, **kw)
    ent = torch.zeros(b, **kw)
    moments = uses_moments(covariance_type, d)
    tied = covariance_type == "tied"
    if moments:
        feats = features if features is not None else RowFeatures(X, covariance_type)
        # Rows ordered (k, b): log ρ = Aᵀ Φᵀ comes out as (K, B, c), so every reduction over the
        # components runs over the outermost axis, vectorised along the contiguous rows (2x
        # faster than reducing a short inner axis, measured at K = 6, B = 1).
        coef = feats.coefficients(means, prec_chol, log_const)
        n_q = feats.n_second
        # Tied: every component shares Λ, so the quadratic part −½ xᵀΛx of log ρ is the same for
        # all K: it cancels from the responsibilities, and the log-likelihood needs only its
        # weighted sum, Σ_n w xᵀΛx = tr(Λ Σ_n w x xᵀ), from the second moments. Those,
        # Σ_k Σ_n w r φ(x) = Σ_n w φ(x), need no responsibilities either, so only [x, 1] goes
        # through the (K·B)-row products: the E-step's (B, F) by (F, c) product of the
        # quadratic features, F ≈ d²/2, is gone (at d = 64, K = 2 it was 16x the rest).
        if tied:
            quad_coef = torch.zeros(b, feats.n_features, **kw)
            quad_coef[:, :n_q] = coef[:, 0, :n_q]
            # Σ_n w φ(x) does not change between iterations: the EM passes it in once per fit.
            given = second_moments is not None
            quad_totals = second_moments if given else torch.zeros(b, feats.n_features, **kw)
            coef = coef[..., n_q:]  # (B, K, d + 1): x and the constant
        coef_t = coef.transpose(0, 1).reshape(k * b, -1)  # (K·B, F), tied (K·B, d + 1)
        totals = torch.zeros(k * b, coef_t.shape[1], **kw)
        wide = feats.n_features >= WIDE_FEATURES and not tied
        uncached = 0 if feats.cache is not None else feats.n_features
        row_bytes = X.element_size() * (3 * b * k + uncached)
        # Chunks of about CACHE_BYTES keep the (K, B, c) temporaries in cache across the
        # max, exp, sum and weighting passes: 0.70 of one chunk's time at (N, d, B, K) =
        # (10^6, 2, 1, 10) and (10^5, 4, 16, 5).
        cache_rows = max(128, CACHE_BYTES // (X.element_size() * b * k))
        chunk = min(chunk_rows(n, row_bytes), cache_rows)
    else:
        chunk = chunk_rows(n, _row_bytes(covariance_type, b, k, d, X.element_size()))
        nk = torch.zeros(b, k, **kw)
        s1 = torch.zeros(b, k, d, **kw)
        # numpy's BLAS one matrix at a time (see _gemm), or torch's batched over (B, K).
        per_matrix = gemm._numpy_ok(X, means, prec_chol) and _uses_syrk(X)
        if tied:
            # −½ (x − μ_k)ᵀΛ(x − μ_k) = −½ xᵀΛx + xᵀΛμ_k − ½ μ_kᵀΛμ_k, and −½ xᵀΛx is the same
            # for every component: it cancels from the responsibilities, and the log-likelihood
            # needs only Σ_n w xᵀΛx = tr(Λ Σ_n w x xᵀ). So the E-step is one (c, d) by (d, B·K)
            # product of the rows, O(c d K) per member instead of O(c d²), and the pooled
            # scatter comes from Σ_n w x xᵀ, which the EM passes in once per fit.
            lam = prec_chol @ prec_chol.mT  # (B, d, d)
            lam_mu = lam @ means.mT  # (B, d, K)
            tied_const = log_const - 0.5 * (means * lam_mu.mT).sum(-1)  # (B, K)
            lam_mu_cols = lam_mu.permute(1, 0, 2).reshape(d, b * k)
            given = second_moments is not None
            second = second_moments if given else torch.zeros(b, 1, d, d, **kw)
        else:
            s2 = torch.zeros(b, k, d, d, **kw)
            if per_matrix:
                buffer_np = X.new_empty(chunk, d).numpy()
            else:
                cov_chol = covariance_cholesky_from_precision(prec_chol)
                # the E-step's x − μ and its solve
                buffers = tuple(torch.empty(b, k, chunk, d, **kw) for _ in range(2))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        w = W[:, start:stop]
        if moments:
            phi = feats.rows(start, stop)
            lin = phi[:, n_q:] if tied else phi
            if wide:  # MKL's skinny GEMMs: Φ A then a transpose beats A Φᵀ for many features
                log_rho = gemm.mm(phi, coef_t.T).T.contiguous().view(k, b, -1)
            else:
                log_rho = gemm.mm(coef_t, lin.mT).view(k, b, -1)  # (K, B, c)
            rw, lse, log_r = _weighted_resp(log_rho, w, 0, entropy)  # tied: lse less −½ xᵀΛx
            log_norm += (w * lse).sum(-1)
            if entropy:
                ent += (rw * log_r).sum((0, 2))
            gemm.addmm_(totals, rw.view(k * b, -1), lin)
            if tied and not given:
                gemm.addmm_(quad_totals, w, phi)
        else:
            x = X[start:stop]
            if tied:  # less −½ xᵀΛx, added back to the log-likelihood below
                linear = gemm.mm(x, lam_mu_cols).view(-1, b, k).permute(1, 2, 0)
                log_rho = linear + tied_const[..., None]  # (B, K, c)
            else:
                if per_matrix:
                    quad = gemm.quadratic_rows(x, means, prec_chol, buffer_np)
                else:
                    quad, diff = _direct_quadratic(
                        x, means, prec_chol, covariance_type, cov_chol, buffers
                    )
                log_rho = log_const[..., None] - 0.5 * quad  # (B, K, c)
            rw, lse, log_r = _weighted_resp(log_rho, w[:, None, :], 1, entropy)
            log_norm += (w * lse).sum(-1)
            if entropy:
                ent += (rw * log_r).sum((1, 2))
            rw_sum = rw.sum(-1)
            nk += rw_sum
            # Σ r w (x − μ) by a GEMM; Σ r w (x − μ)(x − μ)ᵀ as (√(r w) D)ᵀ (√(r w) D), in place.
            s1 += rw @ x - rw_sum[..., None] * means
            if tied:
                if not given:
                    _add_gram(second, (x * w[..., None].sqrt())[:, None])
            elif per_matrix:
                gemm.add_gram_rows_(s2, x, means, rw, buffer_np)
            else:
                _add_gram(s2, diff.mul_(rw.sqrt_()[..., None]))
    eps = 10 * torch.finfo(X.dtype).eps
    if moments and tied:
        log_norm += (quad_coef * quad_totals).sum(-1)  # Σ_n w (−½ xᵀΛx): the part left out
        sums = totals.view(k, b, -1).transpose(0, 1)  # (B, K, d + 1)
        nk = sums[..., -1] + eps
        new_means = sums[..., :d] / nk[..., None]
        cov = _tied_covariance(feats.unpack(quad_totals, d)[2], nk, new_means)
    elif moments:
        nk, s1, s2 = feats.unpack(totals.view(k, b, -1).transpose(0, 1), d)
        nk = nk + eps
        new_means = s1 / nk[..., None]
        if covariance_type in ("full", "tied"):
            outer = new_means[..., :, None] * new_means[..., None, :]
            cov = s2 / nk[..., None, None] - outer
        elif covariance_type == "diag":
            cov = (s2 / nk[..., None] - new_means.square()).clamp_min(0.0)
        else:
            cov = ((s2 / nk - new_means.square().sum(-1)) / d).clamp_min(0.0)
    elif tied:
        second = second if given else _symmetrize_lower(second)[:, 0]  # Σ_n w x xᵀ, (B, d, d)
        log_norm -= 0.5 * (lam * second).sum((-2, -1))  # Σ_n w (−½ xᵀΛx): the part left out
        nk = nk + eps
        new_means = means + s1 / nk[..., None]
        cov = _tied_covariance(second, nk, new_means)
    else:
        nk = nk + eps
        delta = s1 / nk[..., None]
        new_means = means + delta
        # In place: every (B, K, d, d) temporary is a fresh allocation, page faults and all.
        cov = _symmetrize_lower(s2).div_(nk[..., None, None])
        cov.addcmul_(delta[..., :, None], delta[..., None, :], value=-1.0)
    if covariance_type in ("full", "tied"):
        cov.diagonal(dim1=-2, dim2=-1).add_(reg_covar)  # cov is a fresh tensor: in place is safe
    else:
        cov = cov + reg_covar
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

"""The g-formula's conditional model: which variables split cells, and q(x | cell, w).

:class:`Layout` decides, from the kinds of ``y`` and ``z``, which conditioning variables are
discrete (they split the rows into cells) and which continuous (the coordinates ``w`` that each
cell's Gaussian mixture is conditioned on); :class:`ConditionalMixtureBank` holds the fitted
mixtures of every (draw, cell) in conditioned form (module docstring of
:mod:`bayes_mech.resamplers.gformula` for the maths).
"""

from __future__ import annotations

import numpy as np
import pyro.distributions as dist
import torch

from bayes_mech.mixture import WeightedGaussianMixture

__all__ = ["ConditionalMixtureBank", "Layout", "full_covariances"]


def full_covariances(gm: WeightedGaussianMixture) -> np.ndarray:
    """Every covariance of a batched fit as a full matrix, shape (B, K, D, D)."""
    cov = np.asarray(gm.covariances_)
    B, K, D = gm.means_.shape
    if gm.covariance_type == "full":
        return cov
    if gm.covariance_type == "tied":
        return np.broadcast_to(cov[:, None], (B, K, D, D)).copy()
    diag = cov if gm.covariance_type == "diag" else np.repeat(cov[..., None], D, axis=-1)
    return diag[..., None] * np.eye(D)


class ConditionalMixtureBank:
    """Per (draw, cell) Gaussian mixtures over ``(x, w)``, kept in conditioned form.

    All arrays are in standardised coordinates (``center``/``spread`` undo them) and padded to a
    common number of components (padding has log-weight ``-inf``).

    Parameters
    ----------
    log_weights : ndarray of shape (S, C, K)
    means : ndarray of shape (S, C, K, D)
    covariances : ndarray of shape (S, C, K, D, D)
    n_x : int
        The first ``n_x`` of the D coordinates are ``x``; the rest are ``w``.
    center, spread : ndarray of shape (D,)
    """

    #: The constructor's array arguments: what :meth:`state_arrays` saves.
    _STATE = ("log_weights", "means", "covariances", "center", "spread")

    def __init__(self, log_weights, means, covariances, n_x: int, center, spread):
        f64 = {"dtype": torch.float64}
        self.n_x = int(n_x)
        self.log_weights = torch.as_tensor(log_weights, **f64)
        self.means = means = torch.as_tensor(means, **f64)
        self.covariances = cov = torch.as_tensor(covariances, **f64)
        self.center = torch.as_tensor(center, **f64)
        self.spread = torch.as_tensor(spread, **f64)
        self.mean_x, self.mean_w = means[..., :n_x], means[..., n_x:]
        sxx, sxw = cov[..., :n_x, :n_x], cov[..., :n_x, n_x:]
        sww = cov[..., n_x:, n_x:]
        if sww.shape[-1]:
            self.chol_w = torch.linalg.cholesky(sww)
            # coef = Σ_xw Σ_ww⁻¹ through the Cholesky factor of Σ_ww (symmetric positive definite).
            self.coef = torch.cholesky_solve(sxw.mT, self.chol_w).mT
            cond = sxx - self.coef @ sxw.mT
        else:
            self.chol_w = sww
            self.coef = sxw
            cond = sxx
        self.chol_x = torch.linalg.cholesky(0.5 * (cond + cond.mT))

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The constructor's arguments as arrays; :meth:`from_state` rebuilds the bank from them
        by the same computations, so the rebuilt bank samples bit for bit as this one."""
        return {"n_x": np.asarray(self.n_x), **{k: getattr(self, k).numpy() for k in self._STATE}}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray]) -> ConditionalMixtureBank:
        return cls(n_x=int(arrays["n_x"]), **{k: arrays[k] for k in cls._STATE})

    def standardize_w(self, w: torch.Tensor) -> torch.Tensor:
        return (w - self.center[self.n_x :]) / self.spread[self.n_x :]

    def component_logits(self, s, cell, w_std: torch.Tensor) -> torch.Tensor:
        """``log π_k + log N(w; μ_w,k, Σ_ww,k)`` per row, shape (R, K) (unnormalised)."""
        logits = self.log_weights[s, cell]
        if w_std.shape[-1] == 0:
            return logits
        gauss = dist.MultivariateNormal(self.mean_w[s, cell], scale_tril=self.chol_w[s, cell])
        return logits + gauss.log_prob(w_std[:, None, :])

    def conditional(self, s, cell, k, w_std: torch.Tensor):
        """Location and Cholesky factor of ``x | w, k`` per row (standardised x)."""
        loc = self.mean_x[s, cell, k]
        if w_std.shape[-1]:
            delta = w_std - self.mean_w[s, cell, k]
            loc = loc + (self.coef[s, cell, k] @ delta[..., None])[..., 0]
        return loc, self.chol_x[s, cell, k]

    def pit(self, s, cell, w_std: torch.Tensor, x_std: torch.Tensor) -> torch.Tensor:
        """Probability integral transform of each coordinate of ``x`` under ``q(x_j | cell, w)``.

        Shape (R, d_x); uniform on (0, 1) in every region of ``w`` when ``q`` is right.
        """
        resp = torch.softmax(self.component_logits(s, cell, w_std), dim=-1)  # (R, K)
        loc = self.mean_x[s, cell]  # (R, K, d_x)
        if w_std.shape[-1]:
            delta = w_std[:, None, :] - self.mean_w[s, cell]
            loc = loc + (self.coef[s, cell] @ delta[..., None])[..., 0]
        sd = self.chol_x[s, cell].square().sum(-1).sqrt()  # sqrt(diag(L Lᵀ)), (R, K, d_x)
        cdf = torch.special.ndtr((x_std[:, None, :] - loc) / sd)
        return (resp[..., None] * cdf).sum(dim=1)

    def to_units(self, x_std: torch.Tensor) -> torch.Tensor:
        return x_std * self.spread[: self.n_x] + self.center[: self.n_x]


class Layout:
    """Which conditioning variables are discrete (cells) and which continuous (``w``).

    Parameters
    ----------
    y_classes, z_classes : ndarray, optional
        The sorted values of a discrete ``y`` (``z``) as the mechanism sees them; None for a
        continuous one. :meth:`of` reads them from a fitted mechanism.
    """

    def __init__(self, y_classes=None, z_classes=None):
        self.y_discrete = y_classes is not None
        self.z_discrete = z_classes is not None
        self.y_classes, self.z_classes = y_classes, z_classes
        self.n_y = len(self.y_classes) if self.y_discrete else 1
        self.n_z = len(self.z_classes) if self.z_discrete else 1

    @classmethod
    def of(cls, mechanism) -> Layout:
        """The layout of a fitted mechanism's ``y`` and ``z``."""
        return cls(
            mechanism.classes_ if mechanism.y_kind_ == "discrete" else None,
            mechanism.z_classes_ if mechanism.z_kind == "discrete" else None,
        )

    def state_arrays(self) -> dict[str, np.ndarray]:
        out = {"y_classes": self.y_classes, "z_classes": self.z_classes}
        return {k: np.asarray(v) for k, v in out.items() if v is not None}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray]) -> Layout:
        return cls(arrays.get("y_classes"), arrays.get("z_classes"))

    @property
    def n_cells(self) -> int:
        return self.n_y * self.n_z

    def y_codes(self, y: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.y_classes, y) if self.y_discrete else np.zeros(len(y), int)

    def z_codes(self, z: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.z_classes, z) if self.z_discrete else np.zeros(len(z), int)

    def w_columns(self, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The continuous conditioning columns ``[y' (continuous), z (continuous)]``."""
        cols = []
        if not self.y_discrete:
            cols.append(np.asarray(y, dtype=np.float64).reshape(len(y), -1))
        if not self.z_discrete:
            cols.append(np.asarray(z, dtype=np.float64).reshape(len(z), -1))
        return np.concatenate(cols, axis=1) if cols else np.empty((len(y), 0))

    def cells(self, y_codes: np.ndarray, z_codes: np.ndarray) -> np.ndarray:
        return y_codes * self.n_z + z_codes

    def cell_label(self, cell: int) -> str:
        parts = []
        if self.y_discrete:
            parts.append(f"y'={self.y_classes[cell // self.n_z]}")
        if self.z_discrete:
            parts.append(f"z={self.z_classes[cell % self.n_z]}")
        return ", ".join(parts) or "all rows"

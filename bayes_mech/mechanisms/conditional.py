r"""Discrete ``y``, continuous ``z``, observed covariates: the conditional front door's mechanism.

With covariates ``c`` on the back-door paths (``C → Y``, ``C → Z``, ``C → X``), the front-door
weights need ``p(z | y, c)``; a per-class Gaussian (``GaussianMechanism``) cannot take ``c``.
`ConditionalGaussianMechanism` is the linear-Gaussian regression of ``z`` on the one-hot classes
of ``y`` and the standardised covariates, with the exact matrix-normal-inverse-Wishart posterior
of `LinearGaussianMechanism`.
"""

from __future__ import annotations

import numpy as np
import torch

from bayes_mech.mechanisms.linear_gaussian import LinearGaussianMechanism

__all__ = ["ConditionalGaussianMechanism"]


class ConditionalGaussianMechanism(LinearGaussianMechanism):
    r"""Discrete ``y``, continuous ``z``: ``z | y, c ~ N(μ_y + B (c − c̄)/s_c, Σ)``, exact posterior.

    The design is ``φ(y, c) = [onehot(y), (c − c̄)/s_c]`` (no intercept: the class columns span
    it), so ``coef`` holds one mean row ``μ_k`` per class, then one row of ``B`` per covariate;
    the covariance ``Σ`` is shared by the classes. The prior and the posterior are those of
    `LinearGaussianMechanism`; the default ``M₀`` puts every class mean at the mean of ``z``.
    Without covariates it is a per-class mean with a shared covariance.

    Parameters
    ----------
    coef_prior_mean : array-like of shape (C + q, d_z), optional
    coef_prior_scale : float or array-like of shape (C + q,), default=10.0
        A class mean's prior sd is ``v`` noise sds; a covariate's slope, ``v`` noise sds per sd
        of the covariate.
    prior_df, prior_scale : optional
        As in `LinearGaussianMechanism`.

    Attributes
    ----------
    classes_ : ndarray of shape (C,)
    feature_names_ : list of str
        ``["y=<class>", ..., "c0", ...]``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y, c = rng.integers(0, 2, 2000), rng.normal(size=2000)
    >>> z = np.where(y == 1, 1.0, -1.0) + 0.8 * c + 0.5 * rng.normal(size=2000)
    >>> mech = ConditionalGaussianMechanism().fit(y, z, covariates=c)
    >>> mech.feature_names_
    ['y=0', 'y=1', 'c0']
    >>> coef = mech.posterior_mean()["coef"][0, :, 0]  # class means at c = mean(c), then slope
    >>> bool(abs(coef[1] - coef[0] - 2.0) < 0.1)
    True
    >>> mech.log_prob(z, [0, 1], covariates=c).shape        # (S, N, M)
    torch.Size([1, 2000, 2])
    """

    y_kind = "discrete"
    z_kind = "continuous"

    def __init__(
        self, coef_prior_mean=None, coef_prior_scale=10.0, prior_df=None, prior_scale=None
    ):
        self.coef_prior_mean = coef_prior_mean
        self.coef_prior_scale = coef_prior_scale
        self.prior_df = prior_df
        self.prior_scale = prior_scale

    def _fit(self, y, z, random_state, c=None) -> None:
        codes = np.searchsorted(self.classes_, y)  # the basis works on class indices
        super()._fit(codes, z, random_state, c)

    def _y_basis_setup(self, y: np.ndarray) -> list[str]:
        self.degree_ = 1
        return [f"y={k}" for k in self.classes_.tolist()]

    def _y_basis(self, y: torch.Tensor) -> torch.Tensor:
        codes = y.reshape(y.shape[0], -1)[:, 0] if y.dim() > 1 else y
        return torch.nn.functional.one_hot(codes.long(), len(self.classes_)).to(torch.float64)

    def _prior_coef_mean(self, z: np.ndarray, p: int) -> np.ndarray:
        m0 = np.zeros((p, z.shape[1]))
        m0[: len(self.classes_)] = z.mean(axis=0)
        return m0

    def _model_basis(self) -> dict:
        return {"basis": self._y_basis}

"""The fitted CW-GMMs as a Pyro program over (draw, y, x).

:class:`CWGMMProgram` turns the S x M fitted mixtures of a
:class:`~bayes_mech.MechanismLearner` into a Pyro model with sites ``draw`` (which posterior draw
θ_s), ``y`` (the intervention value, uniform over the randomised design), ``component`` and ``x``.
``poutine.do(model, {"y": v})`` then samples :math:`p(x \\mid do(y = v))` with the mechanism's
uncertainty averaged in: :math:`\\frac1S \\sum_s \\mathrm{CW\\text{-}GMM}_{s, v}(x)`.
"""

from __future__ import annotations

import numpy as np
import pyro
import pyro.distributions as dist
import torch

__all__ = ["CWGMMProgram", "MixtureBank", "intervention_index", "sample_do", "uniform_design"]


class MixtureBank:
    """The S x M fitted mixtures, padded to a common number of components.

    Parameters
    ----------
    weights : ndarray of shape (S, M, K_max)
        Mixing weights; padding components have weight 0.
    means : ndarray of shape (S, M, K_max, d)
    scale : ndarray of shape (S, M, K_max, d, d) or (S, M, K_max, d)
        Cholesky factors of the covariances (full or tied), or standard deviations (diag or
        spherical, broadcast to ``d``).
    """

    def __init__(self, weights: np.ndarray, means: np.ndarray, scale: np.ndarray):
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.means = torch.as_tensor(means, dtype=torch.float64)
        self.scale = torch.as_tensor(scale, dtype=torch.float64)
        self.full = self.scale.dim() == 5

    @classmethod
    def from_mixtures(cls, fitted: list[tuple[np.ndarray, object]], shape: tuple[int, int]):
        """Gather ``(member_index, WeightedGaussianMixture)`` pairs into padded arrays.

        ``member_index`` holds flat indices ``s * M + m`` of the members of one batched fit.
        """
        n_draws, n_values = shape
        k_max = max(gm.weights_.shape[-1] for _, gm in fitted)
        d = fitted[0][1].means_.shape[-1]
        # Members may differ in structure (covariance_type="auto"): one full-covariance member
        # makes the bank full, and the diagonal ones become diagonal Cholesky factors.
        full = any(gm.covariance_type in ("full", "tied") for _, gm in fitted)
        B = n_draws * n_values
        weights = np.zeros((B, k_max))
        means = np.zeros((B, k_max, d))
        scale = np.tile(np.eye(d), (B, k_max, 1, 1)) if full else np.ones((B, k_max, d))
        for index, gm in fitted:
            k = gm.weights_.shape[-1]
            weights[index, :k] = gm.weights_
            means[index, :k] = gm.means_
            cov = np.asarray(gm.covariances_)
            if gm.covariance_type in ("full", "tied"):  # tied: one (d, d) shared by k components
                scale[index, :k] = np.linalg.cholesky(cov)
                continue
            sd = np.sqrt(cov) if gm.covariance_type == "diag" else np.sqrt(cov)[..., None]
            scale[index, :k] = sd[..., None] * np.eye(d) if full else sd
        return cls(
            weights.reshape(n_draws, n_values, k_max),
            means.reshape(n_draws, n_values, k_max, d),
            scale.reshape(n_draws, n_values, k_max, *scale.shape[2:]),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "weights": self.weights.numpy(),
            "means": self.means.numpy(),
            "scale": self.scale.numpy(),
        }


def intervention_index(y, values: torch.Tensor) -> torch.Tensor:
    """Map intervention values (any shape, last axis d_y) to their index among ``values``."""
    y = torch.as_tensor(y, dtype=torch.float64)
    flat = values.reshape(values.shape[0], -1)
    y_flat = y.reshape(-1, flat.shape[1]) if flat.shape[1] > 1 else y.reshape(-1, 1)
    dist_ = torch.cdist(y_flat, flat)
    best = dist_.min(dim=1)
    tol = 1e-9 * (1.0 + flat.abs().max())
    if (best.values > tol).any():
        bad = y_flat[best.values > tol][:5].squeeze(-1).tolist()
        raise ValueError(
            f"y = {bad} is not an intervention value of this learner; its samplers were fitted at "
            f"{values.squeeze(-1).tolist()}. Refit with interventions=[...] to include it."
        )
    idx = best.indices
    return idx.reshape(y.shape[: y.dim() - (1 if flat.shape[1] > 1 else 0)])


def uniform_design(values: torch.Tensor) -> dist.Empirical:
    """The randomised design: ``y`` uniform over the intervention values."""
    return dist.Empirical(values, torch.zeros(values.shape[0], dtype=torch.float64))


def decode_features(gauss, feature_map):
    """Sample ``x`` from ``gauss``, through ``feature_map.inverse_transform`` when there is one.

    With a feature map the Gaussian site is ``x_latent`` and ``x`` a deterministic site.
    """
    if feature_map is None:
        return pyro.sample("x", gauss)
    latent = pyro.sample("x_latent", gauss)
    x = feature_map.inverse_transform(latent.detach().cpu().numpy())
    return pyro.deterministic("x", torch.as_tensor(x, dtype=torch.float64), event_dim=1)


class CWGMMProgram:
    r"""A Pyro program sampling deconfounded ``(draw, y, x)`` from the fitted CW-GMMs.

    .. math::

        s \sim \mathcal U\{0, \dots, S - 1\},\quad
        y \sim \mathcal U\{y_1, \dots, y_M\},\quad
        k \mid s, y_m \sim \mathrm{Cat}(\pi_{s m}),\quad
        x \mid s, y_m, k \sim \mathcal N(\mu_{s m k}, \Sigma_{s m k}).

    With a ``feature_map`` the Gaussian site is ``x_latent`` and ``x`` is its
    ``inverse_transform`` (a deterministic site). A plain class, not a closure, so a fitted
    learner pickles.

    Call it as ``program(n_samples=1)``; it returns ``x`` of shape (n_samples, n_features).
    """

    def __init__(self, bank: MixtureBank, interventions, feature_map=None):
        self.bank = bank
        self.values = torch.as_tensor(np.asarray(interventions, dtype=np.float64))
        self.feature_map = feature_map

    def __call__(self, n_samples: int = 1):
        bank, values = self.bank, self.values
        n_draws = bank.weights.shape[0]
        with pyro.plate("samples", n_samples):
            s = pyro.sample(
                "draw", dist.Categorical(logits=torch.zeros(n_draws, dtype=torch.float64))
            )
            y = pyro.sample("y", uniform_design(values))
            m = intervention_index(y, values)
            m = m.expand(s.shape) if m.dim() < s.dim() else m
            k = pyro.sample("component", dist.Categorical(probs=bank.weights[s, m]))
            loc = bank.means[s, m, k]
            if bank.full:
                gauss = dist.MultivariateNormal(loc, scale_tril=bank.scale[s, m, k])
            else:
                gauss = dist.Normal(loc, bank.scale[s, m, k]).to_event(1)
            return decode_features(gauss, self.feature_map)


def sample_do(program, value, n_samples: int, random_state=None) -> np.ndarray:
    """``x`` of ``poutine.do(program, {"y": value})``: (n_samples, d), seeded, in chunks.

    The g-formula's ``y_prime`` site holds an (n, N) table of row weights, so large requests
    are split into chunks of at most 2**22 table entries.
    """
    from pyro import poutine

    from bayes_mech._validation import check_positive_int
    from bayes_mech.datasets._base import _seeded

    n_samples = check_positive_int(n_samples, "n_samples")
    model = poutine.do(program, data={"y": torch.as_tensor(value, dtype=torch.float64)})
    rows = getattr(program, "table_rows", 1)
    chunk = max(1, 2**22 // max(1, rows))
    out = []
    with _seeded(random_state):
        for start in range(0, n_samples, chunk):
            trace = poutine.trace(model).get_trace(min(chunk, n_samples - start))
            out.append(trace.nodes["x"]["value"].detach().cpu().numpy())
    return np.concatenate(out)

r"""The paper's front-door SCMs with an observed covariate ``C`` on the back-door paths.

``C`` affects the cause, the mechanism and the effect (``C → Y``, ``C → Z``, ``C → X``); the
confounder ``U`` of ``Y`` and ``X`` stays unobserved. Leaving ``C`` out of the mechanism opens the
back-door path ``Y ← C → Z``, so the front-door weights :math:`p(z \mid y) / p(z \mid y_n)` are
wrong; the conditional front door with :math:`p(z \mid y, c)` is right (``fit(...,
covariates=c)``). Each SCM is a Pyro program with sites ``u``, ``c``, ``y``, ``z``, ``x``;
``poutine.do(model, {"y": v})`` gives the ground truth :math:`p(c, x \mid do(y = v))`.
"""

from __future__ import annotations

import numpy as np
import pyro
import pyro.distributions as dist
import torch

from bayes_mech._validation import check_option
from bayes_mech.datasets._base import FrontDoorData, run_model
from bayes_mech.datasets.synthetic import _to_data, _two_point

__all__ = [
    "classification_covariate_model",
    "make_frontdoor_covariates",
    "regression_covariate_model",
    "sample_interventional_covariates",
]

_F64 = {"dtype": torch.float64}


def classification_covariate_model(n_samples: int, confounded: bool = True, shift: float = 1.0):
    r"""An A.1-like SCM with a binary observed covariate ``C`` that shifts ``y``, ``z`` and ``x``.

    .. math::

        C &\sim \operatorname{Bernoulli}(0.5), \quad U \sim \{1, 2\},\ P(U = 2) = 0.25 \\
        Y \mid U, C &\sim \{1, 2\},\ P(Y = 2) = q(U, C),\quad
            q = \begin{pmatrix} 0.15 & 0.4 \\ 0.6 & 0.85 \end{pmatrix}
            \ (\text{rows } U, \text{ columns } C;\ q \equiv 0.5 \text{ if not confounded}) \\
        Z \mid Y, C &\sim \mathcal N(\mp 1.2 + s (2C - 1), 1) \quad (- \text{ for } Y = 1) \\
        X_1 \mid Z &\sim \mathcal N(1.5 Z, 1) \\
        X_2 \mid U &\sim \mathcal N(\mp 2.4, 1) \quad (- \text{ for } U = 1) \\
        X_3 \mid C &\sim \mathcal N(2 s (2C - 1), 1)

    with ``s = shift``. Not confounded, ``Y`` depends on neither ``U`` nor ``C``. ``X_3`` carries
    the covariate only: under ``do(y)`` it says nothing about ``y``, but front-door weights
    that leave ``C`` out keep ``C`` (hence ``X_3``) tied to ``y`` in the deconfounded rows.
    """
    table = [[0.15, 0.4], [0.6, 0.85]] if confounded else [[0.5, 0.5], [0.5, 0.5]]
    q = torch.tensor(table, **_F64)
    with pyro.plate("samples", n_samples):
        c = pyro.sample("c", dist.Bernoulli(torch.tensor(0.5, **_F64)))
        u = pyro.sample("u", _two_point(torch.tensor(0.25, **_F64)))
        y = pyro.sample("y", _two_point(q[u.long() - 1, c.long()]))
        sign_c = 2.0 * c - 1.0
        z_mean = torch.where(y == 1, -1.2, 1.2).to(torch.float64) + shift * sign_c
        z = pyro.sample("z", dist.Normal(z_mean, 1.0))
        x1 = 1.5 * z  # linear in z (A.1 has the sign of z), so a linear model fits p(y | x)
        x2 = torch.where(u == 1, -2.4, 2.4).to(torch.float64).expand_as(z)
        x3 = 2.0 * shift * sign_c
        mean = torch.stack([x1, x2, x3], dim=-1)
        return pyro.sample("x", dist.Normal(mean, 1.0).to_event(1))


def regression_covariate_model(
    n_samples: int,
    confounded: bool = True,
    b: float = 0.4,
    c0: float = 5.0,
    g_y: float = 0.5,
    g_z: float = 2.0,
    g_x: float = 1.0,
):
    r"""Appendix A.2 with a Gaussian observed covariate ``C`` on the back-door paths.

    .. math::

        U, C \sim \mathcal N(0, 1),\quad Y = 2 + U + g_y C + \varepsilon_Y,\quad
        Z = b Y + g_z C + \varepsilon_Z,\quad X = Z + c_0 U + g_x C + \varepsilon_X,

    all noises standard normal, :math:`g_y = 0.5, g_z = 2, g_x = 1` by default; not confounded,
    :math:`c_0 = 0` and :math:`g_y = 0`. The default ``b = 0.4`` keeps the front-door weights'
    tail moderate (A.2's ``b = 1.5`` does not); ``C → Z`` is strong, so leaving ``C`` out
    biases the weights visibly.
    """
    if not confounded:
        c0, g_y = 0.0, 0.0
    with pyro.plate("samples", n_samples):
        u = pyro.sample("u", dist.Normal(torch.zeros((), **_F64), 1.0))
        c = pyro.sample("c", dist.Normal(torch.zeros((), **_F64), 1.0))
        y = pyro.sample("y", dist.Normal(2.0 + u + g_y * c, 1.0))
        z = pyro.sample("z", dist.Normal(b * y + g_z * c, 1.0))
        mean = (z + c0 * u + g_x * c).unsqueeze(-1)
        return pyro.sample("x", dist.Normal(mean, 1.0).to_event(1))


_MODELS = {
    "classification": (classification_covariate_model, np.int64),
    "regression": (regression_covariate_model, np.float64),
}


def make_frontdoor_covariates(
    task: str = "classification",
    n_samples: int = 5000,
    confounded: bool = True,
    random_state=None,
    **model_kwargs,
) -> FrontDoorData:
    """Draw front-door data with an observed covariate ``c`` on the back-door paths.

    Parameters
    ----------
    task : {"classification", "regression"}
        :func:`classification_covariate_model` (A.1 with a binary ``c``) or
        :func:`regression_covariate_model` (A.2 with a Gaussian ``c``).
    n_samples : int, default=5000
    confounded : bool, default=True
        Confounded training data, or the test distribution where ``y`` depends on neither the
        confounder nor ``c``.
    random_state : None, int or numpy RandomState/Generator
    **model_kwargs
        Passed to the model (e.g. ``b`` or ``shift``).

    Returns
    -------
    FrontDoorData
        With ``c`` (n_samples,): int64 in {0, 1} (classification) or float64.

    Examples
    --------
    >>> from bayes_mech.datasets import make_frontdoor_covariates
    >>> d = make_frontdoor_covariates("classification", n_samples=1000, random_state=0)
    >>> d.X.shape, sorted(set(d.c.tolist())), sorted(set(d.y.tolist()))
    ((1000, 3), [0, 1], [1, 2])
    """
    check_option(task, "task", _MODELS)
    model, y_dtype = _MODELS[task]
    values = run_model(model, n_samples, random_state, confounded=confounded, **model_kwargs)
    return _to_data(values, confounded, f"{task} front door with an observed covariate", y_dtype)


def sample_interventional_covariates(
    task: str, y_value, n_samples: int = 5000, random_state=None, **model_kwargs
) -> FrontDoorData:
    """Rows of ``p(u, c, z, x | do(y = y_value))`` from the covariate SCM (``poutine.do``).

    Examples
    --------
    >>> from bayes_mech.datasets import sample_interventional_covariates
    >>> d = sample_interventional_covariates("classification", 2, 20000, random_state=0)
    >>> bool((d.y == 2).all()), round(float(d.c.mean()), 1)  # c keeps its own law: P(c=1)=0.5
    (True, 0.5)
    """
    check_option(task, "task", _MODELS)
    model, y_dtype = _MODELS[task]
    if task == "classification" and y_value not in (1, 2):
        raise ValueError(
            f"y_value must be a class label in [1, 2] for classification; got {y_value!r}."
        )
    values = run_model(model, n_samples, random_state, intervention=y_value, **model_kwargs)
    data = _to_data(values, True, f"{task} covariate front door under do(y={y_value})", y_dtype)
    return FrontDoorData(**{**data.__dict__, "intervention": float(y_value)})

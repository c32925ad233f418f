"""The paper's synthetic front-door SCMs (Mao & Little, arXiv 2410.20057, Appendix A.1 and A.2).

Each SCM is a Pyro program with named sites ``u``, ``y``, ``z``, ``x`` inside
``pyro.plate("samples", n_samples)``; ``poutine.do(model, {"y": v})`` gives the interventional
distribution ``p(x | do(y = v))`` that mechanism learning estimates from confounded data.
"""

from __future__ import annotations

import numpy as np
import pyro
import pyro.distributions as dist
import torch

from bayes_mech._validation import check_option
from bayes_mech.datasets._base import FrontDoorData, run_model

__all__ = [
    "classification_model",
    "make_frontdoor_classification",
    "make_frontdoor_regression",
    "regression_model",
    "sample_interventional",
]

_F64 = {"dtype": torch.float64}


def _two_point(p_second: torch.Tensor) -> dist.Categorical:
    """A distribution on the labels {1, 2} with ``P(2) = p_second`` (zero mass on 0).

    Keeping the labels themselves as the site's values lets ``poutine.do(model, {"y": 2})`` and
    the returned arrays speak the paper's labels.
    """
    p = torch.as_tensor(p_second, **_F64)
    return dist.Categorical(probs=torch.stack([torch.zeros_like(p), 1 - p, p], dim=-1))


def classification_model(n_samples: int, confounded: bool = True):
    r"""Front-door classification SCM of the paper's Appendix A.1.

    .. math::

        U &\sim \{1, 2\},\ P(U = 2) = 0.25 \\
        Y \mid U &\sim \{1, 2\},\ P(Y = 2 \mid U = u) = q_y(u),\quad q_y(1) = 0.2,\ q_y(2) = 0.8
            \ (q_y \equiv 0.5 \text{ if not confounded}) \\
        Z \mid Y &\sim \mathcal N(\mp 1.2, 1) \quad (- \text{ for } Y = 1) \\
        X_1 \mid Z &\sim \mathcal N(\mp 1.8, 1) \quad (- \text{ for } Z < 0) \\
        X_2 \mid U &\sim \mathcal N(\mp 2.4, 1) \quad (- \text{ for } U = 1)

    The paper says "Bernoulli on {1, 2}" without naming the value that has probability ``q``;
    like the reference generator we take ``P(Y = 2) = q``, so ``P(Y = 2) = 0.35`` when confounded.
    ``X_2`` carries the confounder only: a predictor that uses it has learnt a spurious path.

    Parameters
    ----------
    n_samples : int
        Size of the ``samples`` plate.
    confounded : bool
        Whether ``Y`` depends on ``U``.
    """
    q_y = torch.tensor([0.2, 0.8] if confounded else [0.5, 0.5], **_F64)
    with pyro.plate("samples", n_samples):
        u = pyro.sample("u", _two_point(torch.tensor(0.25, **_F64)))
        y = pyro.sample("y", _two_point(q_y[u.long() - 1]))
        z = pyro.sample("z", dist.Normal(torch.where(y == 1, -1.2, 1.2).to(torch.float64), 1.0))
        mean = torch.stack(
            [torch.where(z < 0, -1.8, 1.8), torch.where(u == 1, -2.4, 2.4).expand_as(z)], dim=-1
        ).to(torch.float64)
        return pyro.sample("x", dist.Normal(mean, 1.0).to_event(1))


def regression_model(
    n_samples: int,
    confounded: bool = True,
    a0: float = 2.0,
    a1: float = 1.0,
    b: float = 1.5,
    c1: float = 1.0,
    c0: float = 5.0,
):
    r"""Front-door regression SCM of the paper's Appendix A.2 (all noises standard normal).

    .. math::

        U \sim \mathcal N(0, 1),\quad Y = a_0 + a_1 U + \varepsilon_Y,\quad Z = b Y + \varepsilon_Z,
        \quad X = c_1 Z + c_0 U + \varepsilon_X,

    with :math:`a_0 = 2, a_1 = 1, b = 1.5, c_1 = 1, c_0 = 5`, and :math:`c_0 = 0` when not
    confounded. The population OLS slope of ``y`` on ``x`` is
    :math:`\operatorname{Cov}(X, Y)/\operatorname{Var}(X) = (c_1 b (a_1^2 + 1) + c_0 a_1)
    / (c_1^2 (b^2 (a_1^2 + 1) + 1) + c_0^2 + 2 c_0 c_1 b a_1 + 1)`, i.e. 8/46.5 = 0.172
    confounded and 3/6.5 = 0.462 not confounded. The paper's Eq. (6) prints 0.15 and 0.67, which
    its own coefficients do not give (0.67 = 1/b is the structural inverse, not an OLS slope).
    """
    c0 = c0 if confounded else 0.0
    with pyro.plate("samples", n_samples):
        u = pyro.sample("u", dist.Normal(torch.zeros((), **_F64), 1.0))
        y = pyro.sample("y", dist.Normal(a0 + a1 * u, 1.0))
        z = pyro.sample("z", dist.Normal(b * y, 1.0))
        return pyro.sample("x", dist.Normal((c1 * z + c0 * u).unsqueeze(-1), 1.0).to_event(1))


def _to_data(values: dict, confounded: bool, description: str, y_dtype) -> FrontDoorData:
    """The trace's sites as numpy arrays; ``u`` (and an observed ``c``) take ``y``'s dtype for
    classification, float64 for regression."""
    as_np = {k: v.detach().cpu().numpy() for k, v in values.items()}
    other = y_dtype if y_dtype == np.int64 else np.float64
    return FrontDoorData(
        X=np.ascontiguousarray(as_np["x"], dtype=np.float64),
        y=as_np["y"].astype(y_dtype),
        z=as_np["z"].astype(np.float64),
        u=as_np["u"].astype(other),
        c=as_np["c"].astype(other) if "c" in as_np else None,
        confounded=confounded,
        description=description,
    )


def make_frontdoor_classification(
    n_samples: int = 5000, confounded: bool = True, random_state=None
) -> FrontDoorData:
    """Draw the paper's front-door classification data (Appendix A.1).

    See :func:`classification_model` for the SCM.

    Parameters
    ----------
    n_samples : int, default=5000
        Number of rows.
    confounded : bool, default=True
        Confounded training data (``True``) or the non-confounded test distribution.
    random_state : None, int or numpy RandomState/Generator
        Seed; the same seed gives identical arrays.

    Returns
    -------
    FrontDoorData
        ``X`` (n_samples, 2) float64, ``y`` (n_samples,) int64 in {1, 2}, ``z`` (n_samples,)
        float64, ``u`` (n_samples,) int64 in {1, 2}.

    Examples
    --------
    >>> from bayes_mech.datasets import make_frontdoor_classification
    >>> d = make_frontdoor_classification(n_samples=1000, random_state=0)
    >>> d.X.shape, d.y.shape, sorted(set(d.y.tolist()))
    ((1000, 2), (1000,), [1, 2])
    """
    values = run_model(classification_model, n_samples, random_state, confounded=confounded)
    return _to_data(values, confounded, "paper Appendix A.1 (front-door classification)", np.int64)


def make_frontdoor_regression(
    n_samples: int = 5000, confounded: bool = True, random_state=None
) -> FrontDoorData:
    """Draw the paper's front-door regression data (Appendix A.2).

    See :func:`regression_model` for the SCM and the OLS slopes it implies.

    Parameters
    ----------
    n_samples : int, default=5000
        Number of rows.
    confounded : bool, default=True
        ``c0 = 5`` (confounded) or ``c0 = 0``.
    random_state : None, int or numpy RandomState/Generator
        Seed; the same seed gives identical arrays.

    Returns
    -------
    FrontDoorData
        ``X`` (n_samples, 1), ``y``, ``z``, ``u`` (n_samples,), all float64.

    Examples
    --------
    >>> from bayes_mech.datasets import make_frontdoor_regression
    >>> d = make_frontdoor_regression(n_samples=500, random_state=0)
    >>> d.X.shape, d.y.dtype
    ((500, 1), dtype('float64'))
    """
    values = run_model(regression_model, n_samples, random_state, confounded=confounded)
    return _to_data(values, confounded, "paper Appendix A.2 (front-door regression)", np.float64)


_MODELS = {
    "classification": (classification_model, np.int64),
    "regression": (regression_model, np.float64),
}


def sample_interventional(
    dataset: str, y_value, n_samples: int = 5000, random_state=None, **model_kwargs
) -> FrontDoorData:
    """Sample ``p(u, z, x | do(y = y_value))`` of a synthetic SCM with ``poutine.do``.

    This is the ground truth that front-door weights and CW-GMMs reconstruct from confounded data.
    For background digits use :func:`bayes_mech.datasets.sample_interventional_digits`.

    Parameters
    ----------
    dataset : {"classification", "regression"}
        Which SCM (Appendix A.1 or A.2).
    y_value : float
        Intervention value (a label in {1, 2} for classification).
    n_samples : int, default=5000
    random_state : None, int or numpy RandomState/Generator
    **model_kwargs
        Passed to the model, e.g. ``confounded=False`` or A.2's coefficients.

    Returns
    -------
    FrontDoorData
        With ``y`` filled with ``y_value`` and ``intervention=y_value``.

    Examples
    --------
    >>> from bayes_mech.datasets import sample_interventional
    >>> d = sample_interventional("classification", 2, n_samples=20000, random_state=0)
    >>> bool((d.y == 2).all()), round(float(d.X[:, 0].mean()), 1)
    (True, 1.4)
    """
    check_option(dataset, "dataset", _MODELS)
    model, y_dtype = _MODELS[dataset]
    if dataset == "classification" and y_value not in (1, 2):
        raise ValueError(
            f"y_value must be a class label in [1, 2] for classification; got {y_value!r}."
        )
    values = run_model(model, n_samples, random_state, intervention=y_value, **model_kwargs)
    data = _to_data(
        values,
        model_kwargs.get("confounded", True),
        f"paper Appendix {'A.1' if dataset == 'classification' else 'A.2'} under do(y={y_value})",
        y_dtype,
    )
    return FrontDoorData(**{**data.__dict__, "intervention": float(y_value)})

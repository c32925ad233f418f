"""What the dataset generators share: the returned container and seeded runs of Pyro programs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
from pyro import poutine

from bayes_mech._validation import check_positive_int, seed_from

__all__ = ["FrontDoorData", "run_model"]


@dataclass(frozen=True)
class FrontDoorData:
    """Samples of a front-door SCM: cause ``y`` -> mechanism ``z`` -> effect ``X``, confounder u.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        Effect (the predictor's input).
    y : ndarray of shape (n_samples,)
        Cause (the predictor's target): int64 class labels or float64 values.
    z : ndarray of shape (n_samples,) or (n_samples, d_z)
        Mechanism (mediator) between ``y`` and ``X``.
    u : ndarray of shape (n_samples,)
        Unobserved confounder of ``y`` and ``X`` (returned for checks; never used for training).
    confounded : bool
        Whether ``y`` and ``X`` share the confounder in this sample.
    intervention : float or None
        The value ``v`` when the rows were drawn from ``p(x | do(y = v))``.
    c : ndarray of shape (n_samples,) or None
        Observed covariate on the back-door paths (the covariate generators only).
    description : str
        What generated the data.
    """

    X: np.ndarray
    y: np.ndarray
    z: np.ndarray
    u: np.ndarray
    confounded: bool = True
    intervention: float | None = None
    description: str = field(default="", repr=False)
    c: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.X.shape[0])


@contextlib.contextmanager
def _seeded(random_state):
    """Run torch's global generator from a seed without disturbing the caller's state."""
    seed = seed_from(random_state)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def run_model(model, n_samples, random_state, *, intervention=None, **model_kwargs):
    """Run ``model(n_samples, **model_kwargs)`` once, seeded, and return its trace's site values.

    With ``intervention`` set, the model runs under ``poutine.do(model, {"y": intervention})``,
    which cuts the arrow ``u -> y`` and gives samples of ``p(u, z, x | do(y = intervention))``.
    """
    n_samples = check_positive_int(n_samples, "n_samples", minimum=1)
    confounded = model_kwargs.get("confounded", True)
    if not isinstance(confounded, (bool, np.bool_)):
        raise TypeError(f"confounded must be True or False; got {confounded!r}.")
    if intervention is not None:
        value = torch.as_tensor(intervention, dtype=torch.float64)
        model = poutine.do(model, data={"y": value})
    with _seeded(random_state):
        trace = poutine.trace(model).get_trace(n_samples, **model_kwargs)
    values = {
        name: node["value"]
        for name, node in trace.nodes.items()
        if node["type"] == "sample" and not name.endswith("__CF")
    }
    if intervention is not None:
        values["y"] = torch.full((n_samples,), float(intervention), dtype=torch.float64)
    return values

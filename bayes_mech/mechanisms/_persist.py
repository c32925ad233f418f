"""A fitted built-in mechanism as JSON and arrays, and back, bit for bit (no pickle).

A fitted mechanism is its instance attributes: the constructor's parameters and what ``fit``
found. For the built-in mechanisms (:data:`REBUILDABLE`) these are tensors, arrays, numbers,
strings and lists, tuples or dicts of them, and for `LogisticCategoricalMechanism` its bound
Pyro model, a ``functools.partial`` of one of the package's models (:data:`MODELS`).
:func:`mechanism_state` writes them as a JSON tree whose leaves are plain values or the names of
arrays; :func:`mechanism_from_state` builds an instance of the same class with the same
attributes. Only classes and functions named in those two registries are ever built, so a file
cannot make ``load`` run anything else.

Not saved: the training rows that some mechanisms keep (:data:`TRAINING_ROWS`). A rebuilt
mechanism evaluates ``log_prob``, draws ``sample_z`` and ``sample_posterior`` exactly as the
saved one, but its own ``to_inference_data`` (whose ``observed_data`` are those rows) is
unavailable. A user's class (a ``PyroMechanism`` with its own model, a subclass), or a built-in
one holding something else (an SVI guide), has no such form: `mechanism_state` returns None.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from bayes_mech.mechanisms.base import Mechanism
from bayes_mech.mechanisms.conjugate import categorical_model, gaussian_model
from bayes_mech.mechanisms.linear_gaussian import linear_gaussian_model
from bayes_mech.mechanisms.logistic import multinomial_logistic_model
from bayes_mech.mechanisms.resolve import COVARIATE_MECHANISMS, MECHANISMS

__all__ = ["MODELS", "REBUILDABLE", "TRAINING_ROWS", "mechanism_from_state", "mechanism_state"]

#: The mechanism classes a saved file may name: every one that ``resolve_mechanism`` builds.
REBUILDABLE: dict[str, type[Mechanism]] = {
    cls.__name__: cls
    for cls in [*(c for c, _ in MECHANISMS.values()), *COVARIATE_MECHANISMS.values()]
}
#: The Pyro models a saved ``functools.partial`` may name.
MODELS = {
    f.__name__: f
    for f in (categorical_model, gaussian_model, linear_gaussian_model, multinomial_logistic_model)
}
#: Attributes holding training rows (``y``, ``z``, the covariates), used by ``fit`` and by
#: ``to_inference_data``'s ``observed_data`` only: not saved.
TRAINING_ROWS = ("_y_obs", "_z_obs", "_kw")
_PREFIX = "mechanism/"
#: How an array node is read back: a tensor, an array, or a numpy scalar of its dtype.
_ARRAY_KINDS = {"tensor": torch.as_tensor, "ndarray": np.asarray, "scalar": lambda a: a[()]}


class _NoPlainForm(Exception):
    """A value that is not a tensor, an array, a plain value or a container of them."""


def mechanism_state(mechanism) -> tuple[dict, dict[str, np.ndarray]] | None:
    """The JSON tree and the arrays that rebuild ``mechanism``, or None if it has none.

    Parameters
    ----------
    mechanism : Mechanism or None
        A fitted mechanism.

    Returns
    -------
    (dict, dict of str to ndarray) or None
        ``{"class": name, "state": {attribute: node}}`` and the arrays its nodes name (keys
        start with ``"mechanism/"``); None when ``mechanism`` is not an instance of a class in
        :data:`REBUILDABLE` (subclasses are not: their overrides would be lost) or holds a
        value without a plain form.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_mech.mechanisms import GaussianMechanism
    >>> mech = GaussianMechanism().fit(np.repeat([0, 1], 20), np.arange(40.0))
    >>> spec, arrays = mechanism_state(mech)
    >>> copy = mechanism_from_state(spec, arrays)
    >>> bool((copy.log_prob([1.0], [0, 1]) == mech.log_prob([1.0], [0, 1])).all())
    True
    """
    cls = type(mechanism)
    if REBUILDABLE.get(cls.__name__) is not cls:
        return None
    arrays: dict[str, np.ndarray] = {}
    try:
        state = {
            name: _encode(value, _PREFIX + name, arrays)
            for name, value in vars(mechanism).items()
            if name not in TRAINING_ROWS
        }
    except _NoPlainForm:
        return None
    return {"class": cls.__name__, "state": state}, arrays


def mechanism_from_state(spec: dict, arrays: dict[str, np.ndarray]) -> Mechanism:
    """The mechanism that :func:`mechanism_state` wrote as ``spec`` and ``arrays``.

    Raises
    ------
    ValueError
        When ``spec`` names a class outside :data:`REBUILDABLE` or a model outside
        :data:`MODELS`, or an array that is missing.
    """
    cls = REBUILDABLE.get(spec.get("class"))
    if cls is None:
        raise ValueError(
            f"the saved mechanism's class {spec.get('class')!r} is not one that bayes-mech "
            f"rebuilds; expected one of {sorted(REBUILDABLE)}."
        )
    out = cls.__new__(cls)
    out.__dict__.update({name: _decode(node, arrays) for name, node in spec["state"].items()})
    return out


def _put(arrays: dict, key: str, value: np.ndarray) -> str:
    if key in arrays or value.dtype == object:
        raise _NoPlainForm(key)
    arrays[key] = value
    return key


def _encode(value, key: str, arrays: dict):
    """One node of the JSON tree; arrays go to ``arrays`` under ``key``."""
    if isinstance(value, torch.Tensor):
        return {"tensor": _put(arrays, key, value.detach().cpu().numpy())}
    if isinstance(value, np.ndarray):
        return {"ndarray": _put(arrays, key, value)}
    if isinstance(value, np.generic):  # before float: np.float64 is one, but keeps its type
        return {"scalar": _put(arrays, key, np.asarray(value))}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if isinstance(value, torch.Size):
        return {"size": list(value)}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, dict):
        if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in value):
            raise _NoPlainForm(key)
        return {"dict": [[k, _encode(v, f"{key}/{k}", arrays)] for k, v in value.items()]}
    if (
        isinstance(value, functools.partial)
        and MODELS.get(getattr(value.func, "__name__", None)) is value.func
        and not value.args
    ):
        return {"partial": value.func.__name__, "keywords": _encode(value.keywords, key, arrays)}
    raise _NoPlainForm(key)


def _decode(node: dict, arrays: dict):
    if "partial" in node:
        func = MODELS.get(node["partial"])
        if func is None:
            raise ValueError(
                f"the saved mechanism names the model {node['partial']!r}, which is not one of "
                f"bayes-mech's {sorted(MODELS)}."
            )
        return functools.partial(func, **_decode(node["keywords"], arrays))
    ((kind, value),) = node.items()
    if kind in _ARRAY_KINDS:
        if value not in arrays:
            raise ValueError(f"the saved mechanism's array {value!r} is missing.")
        return _ARRAY_KINDS[kind](arrays[value])
    if kind == "value":
        return value
    if kind == "size":
        return torch.Size(value)
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays) for v in value]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {k: _decode(v, arrays) for k, v in value}
    raise ValueError(f"the saved mechanism holds a node of unknown kind {kind!r}.")

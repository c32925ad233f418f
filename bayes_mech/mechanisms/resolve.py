"""Choose a mechanism from the data: ``resolve_mechanism(y, z, mechanism="auto")``."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from bayes_mech._validation import as_numpy, check_option
from bayes_mech.mechanisms.base import Mechanism
from bayes_mech.mechanisms.conditional import ConditionalGaussianMechanism
from bayes_mech.mechanisms.conjugate import (
    CategoricalMechanism,
    GaussianMechanism,
    LinearGaussianMechanism,
)
from bayes_mech.mechanisms.logistic import LogisticCategoricalMechanism

__all__ = ["MECHANISMS", "infer_kind", "resolve_mechanism"]

#: Named mechanisms and the (y_kind, z_kind) each needs.
MECHANISMS = {
    "categorical": (CategoricalMechanism, ("discrete", "discrete")),
    "gaussian": (GaussianMechanism, ("discrete", "continuous")),
    "linear-gaussian": (LinearGaussianMechanism, ("continuous", "continuous")),
    "conditional-gaussian": (ConditionalGaussianMechanism, ("discrete", "continuous")),
}

#: A float array is read as discrete when its values are whole numbers and at most this many
#: distinct (labels stored as floats, e.g. read from CSV).
MAX_DISCRETE_VALUES = 10


def infer_kind(values, name: str = "y") -> str:
    """``"discrete"`` or ``"continuous"`` from an array's dtype and values.

    Booleans and integers are discrete. Floats are continuous, except a single column of
    whole numbers with at most ``MAX_DISCRETE_VALUES`` distinct values (class labels stored as
    floats), which is discrete. Anything with more than one column is continuous.

    Examples
    --------
    >>> infer_kind([0, 1, 1]), infer_kind([0.5, 1.0, 2.0]), infer_kind([1.0, 2.0, 2.0])
    ('discrete', 'continuous', 'discrete')
    """
    arr = as_numpy(values, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        return "continuous"
    if arr.dtype.kind in "biu":
        return "discrete"
    if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)):
        return "continuous"  # fit reports non-finite or non-numeric values with a clear error
    if np.all(arr == np.round(arr)) and np.unique(arr).size <= MAX_DISCRETE_VALUES:
        return "discrete"
    return "continuous"


#: With covariates, "auto" needs a mechanism that takes them (the conditional front door).
COVARIATE_MECHANISMS = {
    ("discrete", "discrete"): LogisticCategoricalMechanism,
    ("discrete", "continuous"): ConditionalGaussianMechanism,
    ("continuous", "continuous"): LinearGaussianMechanism,
}


def resolve_mechanism(
    y, z, mechanism="auto", y_kind=None, z_kind=None, covariates=False
) -> Mechanism:
    """An unfitted mechanism suited to ``(y, z)``.

    ``"auto"`` picks by the kinds of ``y`` and ``z`` (from `infer_kind`, or ``y_kind`` /
    ``z_kind`` when given):

    ========== ============ ============================
    y          z            mechanism
    ========== ============ ============================
    discrete   discrete     `CategoricalMechanism`
    discrete   continuous   `GaussianMechanism`
    continuous continuous   `LinearGaussianMechanism`
    continuous discrete     error: use `PyroMechanism`
    ========== ============ ============================

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, d_y)
    z : array-like of shape (n_samples,) or (n_samples, d_z)
    mechanism : "auto", str or Mechanism, default="auto"
        A name (``"categorical"``, ``"gaussian"``, ``"linear-gaussian"``) or a `Mechanism`
        instance. A *fitted* instance is returned as is, so its posterior (e.g. a long NUTS run)
        is reused; an unfitted one is returned as a clone (``sklearn.base.clone``), so fitting
        it never modifies the caller's object. Either way the caller's object is not changed.
    y_kind, z_kind : {"discrete", "continuous"}, optional
        Override the inferred kinds.
    covariates : bool, default=False
        Whether the mechanism must take observed covariates ``p(z | y, c)``: ``"auto"`` then
        picks `LogisticCategoricalMechanism` (discrete ``y`` and ``z``),
        `ConditionalGaussianMechanism` (discrete ``y``, continuous ``z``) or
        `LinearGaussianMechanism` (continuous ``y`` and ``z``).

    Returns
    -------
    Mechanism
        Unfitted, unless a fitted instance was passed.

    Examples
    --------
    >>> import numpy as np
    >>> resolve_mechanism(np.array([0, 1, 1, 0]), np.array([0.1, 2.0, 1.5, -0.3]))
    GaussianMechanism()
    >>> resolve_mechanism([0.2, 1.3, 2.5], [1.0, 2.2, 2.9])
    LinearGaussianMechanism()
    >>> resolve_mechanism([0, 1], [0.5, 0.7], mechanism=GaussianMechanism(prior_kappa=1.0))
    GaussianMechanism(prior_kappa=1.0)
    """
    if isinstance(mechanism, Mechanism):
        return mechanism if hasattr(mechanism, "y_kind_") else clone(mechanism)
    if not isinstance(mechanism, str):
        raise TypeError(
            "mechanism must be 'auto', a name in "
            f"{sorted(MECHANISMS)} or a Mechanism instance; got {type(mechanism).__name__}."
        )
    name = mechanism.lower().replace("_", "-")
    check_option(name, "mechanism", ("auto", *MECHANISMS))
    kinds = ("discrete", "continuous")
    y_kind = infer_kind(y, "y") if y_kind is None else check_option(y_kind, "y_kind", kinds)
    z_kind = infer_kind(z, "z") if z_kind is None else check_option(z_kind, "z_kind", kinds)
    if name == "auto" and covariates:
        if (y_kind, z_kind) in COVARIATE_MECHANISMS:
            return COVARIATE_MECHANISMS[y_kind, z_kind]()
        raise ValueError(
            f"No built-in mechanism takes covariates for {y_kind} y and {z_kind} z. Write "
            "p(z | y, c) as a Pyro model(y, z=None, covariates=None) and pass "
            "PyroMechanism(model, y_kind=..., z_kind=...), or leave the covariates out."
        )
    if name == "auto":
        for cls, needs in MECHANISMS.values():
            if needs == (y_kind, z_kind):
                return cls()
        raise ValueError(
            f"No built-in mechanism for {y_kind} y and {z_kind} z. Write the model of p(z | y) "
            "in Pyro and pass PyroMechanism(model, y_kind='continuous', z_kind='discrete'); "
            "or pass y_kind='discrete' if y holds class labels."
        )
    cls, (need_y, need_z) = MECHANISMS[name]
    for arg, need, got in (("y", need_y, y_kind), ("z", need_z, z_kind)):
        if need != got:
            raise ValueError(
                f"mechanism={mechanism!r} needs {need} {arg}, but {arg} is {got} (inferred from "
                f"its dtype and values); pass {arg}_kind={need!r} to override, or choose "
                "another mechanism."
            )
    return cls()

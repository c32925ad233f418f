r"""Observed covariates: the conditional front door's ``c``, as numbers the mechanism can take.

With covariates ``C`` on the back-door paths (``C → Y``, ``C → Z``, ``C → X``) the front-door
formula holds within each stratum of ``c`` (Pearl 2009, sec. 3.3.2, conditional on ``c``):

.. math::

    p(x \mid do(y)) = \sum_c p(c) \sum_z p(z \mid y, c) \sum_{y'} p(y' \mid c)\, p(x \mid y', z, c),

so the weights become :math:`w_n(y) = p(z_n \mid y, c_n) / p(z_n \mid y_n, c_n)`. Without ``c``
the mechanism's :math:`p(z \mid y)` mixes the back-door path ``Y ← C → Z`` into the weights.

Numeric and boolean columns are used as they are; text, object and pandas categorical columns are
one-hot encoded with their first (sorted) category dropped, since the mechanism's design already
spans a constant.
"""

from __future__ import annotations

import warnings

import numpy as np

from bayes_mech._validation import as_numpy, check_array
from bayes_mech.exceptions import FrontDoorWeightWarning
from bayes_mech.mechanisms.resolve import infer_kind

__all__ = ["CovariatesMixin", "encode_covariates"]


def _columns(covariates, n_rows: int) -> list[tuple[str, np.ndarray]]:
    """``(name, values)`` per column of a DataFrame, Series or array (any dtype)."""
    if hasattr(covariates, "columns"):  # a DataFrame: keep each column's own dtype
        return [(str(name), covariates[name].to_numpy()) for name in covariates.columns]
    if hasattr(covariates, "to_numpy") and hasattr(covariates, "name"):  # a Series
        return [(str(covariates.name or "c0"), covariates.to_numpy())]
    arr = np.asarray(covariates) if isinstance(covariates, (list, tuple)) else covariates
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "OUS":
        arr = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr[:, None]
        return [(f"c{j}", arr[:, j]) for j in range(arr.shape[1])]
    arr = check_array(as_numpy(covariates, "covariates"), "covariates", ndim=2, allow_1d=True)
    return [(f"c{j}", arr[:, j]) for j in range(arr.shape[1])]


def encode_covariates(covariates, n_rows: int):
    """Covariates as a float64 matrix, one-hot for categorical columns; checked.

    Parameters
    ----------
    covariates : DataFrame, Series or array-like of shape (n_rows,) or (n_rows, q)
    n_rows : int
        Rows of ``X``, ``y`` and ``z``.

    Returns
    -------
    matrix : ndarray of shape (n_rows, q')
    names : list of str
        One per column of ``matrix`` (``"hospital=B"`` for a one-hot column).

    Raises
    ------
    ValueError
        A wrong number of rows, missing or infinite values, or a constant column, named.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [30.0, 41.0, 25.0], "site": ["b", "a", "b"]})
    >>> matrix, names = encode_covariates(frame, 3)
    >>> names, matrix[:, 1].tolist()
    (['age', 'site=b'], [1.0, 0.0, 1.0])
    """
    out, names = [], []
    for name, col in _columns(covariates, n_rows):
        if col.shape[0] != n_rows:
            raise ValueError(
                f"covariates must have one row per row of X, y and z ({n_rows}); got "
                f"{col.shape[0]}."
            )
        if col.dtype.kind in "biuf":
            values = col.astype(np.float64)
            bad = ~np.isfinite(values)
            if bad.any():
                raise ValueError(
                    f"covariates column {name!r} must be finite; got {int(bad.sum())} NaN or "
                    "infinite value(s)."
                )
            columns = [(name, values)]
        else:
            missing = np.array([v is None or (isinstance(v, float) and v != v) for v in col])
            if missing.any():
                raise ValueError(
                    f"covariates column {name!r} has {int(missing.sum())} missing value(s); "
                    "drop or fill them first."
                )
            levels = np.unique(col.astype(str))
            columns = [(f"{name}={lv}", (col.astype(str) == lv).astype(np.float64))
                       for lv in levels[1:]]  # fmt: skip
        for col_name, values in columns:
            if values.size == 0 or np.ptp(values) == 0:
                raise ValueError(
                    f"covariates column {col_name!r} is constant ({values[0]:g} in every row); "
                    "a constant covariate carries no information. Drop it."
                )
        if not columns:
            raise ValueError(
                f"covariates column {name!r} is constant (one category in every row); a "
                "constant covariate carries no information. Drop it."
            )
        out += [v for _, v in columns]
        names += [n for n, _ in columns]
    return np.column_stack(out), names


def warn_if_no_overlap(matrix: np.ndarray, names: list[str], y: np.ndarray) -> None:
    """Positivity: a binary covariate level seen with one class of ``y`` only gets a warning.

    The conditional front door needs ``p(y' | c) > 0`` for every class wherever ``p(c) > 0``;
    a category that only one class ever takes leaves the others' ``p(x | y', z, c)``
    unidentified there.
    """
    classes = np.unique(y)
    for j, name in enumerate(names):
        col = matrix[:, j]
        if not np.all(np.isin(col, (0.0, 1.0))):
            continue  # numeric: overlap is a matter of degree, shown by the weights' ESS
        for level in (0.0, 1.0):
            rows = col == level
            seen = np.unique(y[rows])
            absent = np.setdiff1d(classes, seen).tolist()
            if rows.any() and absent:
                warnings.warn(
                    f"covariates column {name!r} = {level:g} ({int(rows.sum())} rows) occurs "
                    f"with class(es) {seen.tolist()} of y only, not {absent}: positivity fails "
                    "there, so the adjustment extrapolates.",
                    FrontDoorWeightWarning,
                    stacklevel=4,
                )


class CovariatesMixin:
    """The learner's covariates: ``covariate_names_`` and the encoded matrix during ``fit``."""

    def _encode_covariates(self, covariates, y: np.ndarray):
        """The float matrix of the covariates (None without), with the checks of this module."""
        if covariates is None:
            self.covariate_names_ = None
            return None
        matrix, names = encode_covariates(covariates, y.shape[0])
        self.covariate_names_ = names
        if infer_kind(y) == "discrete":
            warn_if_no_overlap(matrix, names, y)
        return matrix

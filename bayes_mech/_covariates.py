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

from bayes_mech._labels import missing_labels
from bayes_mech._validation import as_numpy, check_array
from bayes_mech.exceptions import FrontDoorWeightWarning
from bayes_mech.mechanisms.resolve import infer_kind

__all__ = ["CovariatesMixin", "encode_covariates"]


def _columns(covariates) -> list[tuple[str, np.ndarray]]:
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


def encode_covariates(covariates, n_rows: int, spec: list | None = None):
    """Covariates as a float64 matrix, one-hot for categorical columns; checked.

    Parameters
    ----------
    covariates : DataFrame, Series or array-like of shape (n_rows,) or (n_rows, q)
    n_rows : int
        Rows of ``X``, ``y`` and ``z``.
    spec : list of dict, optional
        The encoding of an earlier call (``encoding`` below): new data (e.g. at prediction)
        are encoded the same way, with the same columns in the same order; a category not seen
        then gets a ``ValueError``.

    Returns
    -------
    matrix : ndarray of shape (n_rows, q')
    names : list of str
        One per column of ``matrix`` (``"hospital=B"`` for a one-hot column).
    encoding : list of dict
        Per input column, its name and its kind (``"numeric"``, or ``"categorical"`` with the
        levels kept): pass it back as ``spec``.

    Raises
    ------
    ValueError
        A wrong number of rows, missing or infinite values, or a constant column, named.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [30.0, 41.0, 25.0], "site": ["b", "a", "b"]})
    >>> matrix, names, encoding = encode_covariates(frame, 3)
    >>> names, matrix[:, 1].tolist()
    (['age', 'site=b'], [1.0, 0.0, 1.0])
    >>> encode_covariates(frame.iloc[:1], 1, spec=encoding)[0].tolist()
    [[30.0, 1.0]]
    """
    columns_in = _columns(covariates)
    if spec is not None and [c["name"] for c in spec] != [n for n, _ in columns_in]:
        raise ValueError(
            f"covariates must have the columns seen in fit {[c['name'] for c in spec]}; got "
            f"{[n for n, _ in columns_in]}."
        )
    out, names, encoding = [], [], []
    for j, (name, col) in enumerate(columns_in):
        if col.shape[0] != n_rows:
            raise ValueError(
                f"covariates must have one row per row of X, y and z ({n_rows}); got "
                f"{col.shape[0]}."
            )
        kind = "numeric" if col.dtype.kind in "biuf" else "categorical"
        if spec is not None:
            kind = spec[j]["kind"]
        if kind == "numeric":
            values = _numeric(col, name)
            columns = [(name, values)]
            encoding.append({"name": name, "kind": "numeric"})
        else:
            missing = missing_labels(col)
            if missing.any():
                raise ValueError(
                    f"covariates column {name!r} has {int(missing.sum())} missing value(s); "
                    "drop or fill them first."
                )
            text = col.astype(str)
            if spec is None:
                levels = np.unique(text).tolist()
            else:
                levels = spec[j]["levels"]
                unseen = sorted(set(np.unique(text).tolist()) - set(levels))
                if unseen:
                    raise ValueError(
                        f"covariates column {name!r} holds categories never seen in fit: "
                        f"{unseen[:5]}; seen: {levels}."
                    )
            columns = [(f"{name}={lv}", (text == lv).astype(np.float64)) for lv in levels[1:]]
            encoding.append({"name": name, "kind": "categorical", "levels": levels})
        if spec is None:
            _check_not_constant(name, columns)
        out += [v for _, v in columns]
        names += [n for n, _ in columns]
    return np.column_stack(out), names, encoding


def _numeric(col: np.ndarray, name: str) -> np.ndarray:
    try:
        values = col.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"covariates column {name!r} was numeric in fit; got {col.dtype}."
        ) from None
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"covariates column {name!r} must be finite; got {int(bad.sum())} NaN or "
            "infinite value(s)."
        )
    return values


def _check_not_constant(name: str, columns: list) -> None:
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
            if self.covariates_as_features:
                raise ValueError(
                    "covariates_as_features=True needs covariates: pass fit(X, y, z, "
                    "covariates=...)."
                )
            self.covariate_names_ = self.covariate_encoding_ = None
            return None
        matrix, names, self.covariate_encoding_ = encode_covariates(covariates, y.shape[0])
        self.covariate_names_ = names
        if infer_kind(y) == "discrete":
            warn_if_no_overlap(matrix, names, y)
        return matrix

    def _with_covariates(self, X: np.ndarray, covariates) -> np.ndarray:
        """``X`` for the members: ``[X, c]`` when they read the covariates, else ``X``."""
        if not getattr(self, "covariates_as_features", False):
            if covariates is not None:
                raise ValueError(
                    "covariates were given, but the members read X only "
                    "(covariates_as_features=False)."
                )
            return X
        if covariates is None:
            raise ValueError(
                "the members read the covariates too (covariates_as_features=True): pass "
                f"covariates= with the columns seen in fit {self.covariate_names_}."
            )
        matrix = encode_covariates(covariates, X.shape[0], spec=self.covariate_encoding_)[0]
        return np.concatenate([X, matrix], axis=1)

"""Labels of any type: the user's labels outside the learner, integer codes inside.

Class labels are often words ("epidural", "normal") or pandas categoricals. The mechanisms, the
front-door weights and the resamplers work on numbers, so the learner encodes labels that are
not numbers as their indices into the sorted distinct labels (scikit-learn's ``LabelEncoder``
convention) and speaks the user's labels again in ``classes_``, ``interventions_`` and every
prediction. Numeric labels (integers, floats, booleans) pass through unchanged: their values
mean something to the mechanisms (a continuous ``y``, ordinal classes).
"""

from __future__ import annotations

import numpy as np

from bayes_mech._validation import as_numpy, check_labels, flatten_column
from bayes_mech.weights import check_interventions, default_interventions

__all__ = ["check_any_labels", "decode", "encode", "fit_encoding", "is_numeric", "missing_labels"]


def is_numeric(arr: np.ndarray) -> bool:
    """Whether labels are numbers (bool, integer or float dtype)."""
    return arr.dtype.kind in "biuf"


def check_any_labels(values, name: str = "y", *, min_rows: int = 1, warn_column: bool = False):
    """A 1-D vector of numbers or labels of any type (str, object, pandas categorical).

    Numbers get :func:`~bayes_mech._validation.check_labels`' checks; other labels must be
    present in every row (no ``None`` or NaN) and of one comparable type.

    Returns
    -------
    ndarray of shape (n_samples,)
        Numeric dtype, or unicode strings when every label is a string, else object.
    """
    raw = flatten_column(_raw(values, name), name, warn=warn_column)
    if is_numeric(raw):
        return check_labels(raw, name, min_rows=min_rows)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (n_samples,); got shape {raw.shape}.")
    if raw.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s); got {raw.shape[0]}.")
    missing = missing_labels(raw)
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        raise ValueError(
            f"{name} must have a label in every row; got {int(missing.sum())} missing "
            f"value(s) (None or NaN), first at row(s) {rows}."
        )
    if raw.dtype.kind == "O" and all(isinstance(v, str) for v in raw.tolist()):
        raw = raw.astype(str)
    return raw


def missing_labels(values: np.ndarray) -> np.ndarray:
    """Which entries of an array of labels are missing (``None`` or a float NaN), shape (n,)."""
    return np.array([v is None or (isinstance(v, float) and v != v) for v in values.tolist()],
                    dtype=bool)  # fmt: skip


def _raw(values, name: str) -> np.ndarray:
    """The array behind ``values``, keeping labels that are not numbers as they are."""
    if hasattr(values, "dtype") and str(values.dtype) == "category":
        values = np.asarray(values)  # a pandas categorical: its labels, not its codes
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    if isinstance(values, (list, tuple)) or (
        isinstance(values, np.ndarray) and values.dtype.kind in "OUS"
    ):
        arr = np.asarray(values)
        if arr.dtype.kind == "O":
            try:  # numbers stored as objects (e.g. a pandas object column of ints) stay numbers
                return arr.astype(np.float64)
            except (TypeError, ValueError):
                return arr
        if arr.dtype.kind == "S":
            return arr.astype(str)
        return arr
    return as_numpy(values, name)


def fit_encoding(labels: np.ndarray, name: str = "y"):
    """The sorted distinct labels and each row's index into them, or ``(None, labels)`` for
    numbers.

    Returns
    -------
    classes : ndarray of shape (C,) or None
    codes : ndarray of shape (n_samples,)
        int64 indices into ``classes``, or ``labels`` unchanged when they are numbers.
    """
    if is_numeric(labels):
        return None, labels
    try:
        classes, codes = np.unique(labels, return_inverse=True)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in labels.tolist()})
        raise TypeError(
            f"{name} must hold labels of one type that can be sorted; got a mix of {kinds}. "
            f"Convert them first, e.g. {name}.astype(str)."
        ) from None
    return classes, codes.astype(np.int64).reshape(-1)


def encode(values, classes, name: str) -> np.ndarray:
    """Indices into ``classes`` of the labels ``values`` (any shape); ``classes`` None: as is."""
    if classes is None:
        return values
    arr = np.asarray(values, dtype=object)
    index = {label: i for i, label in enumerate(classes.tolist())}
    flat = arr.reshape(-1).tolist()
    unknown = [v for v in flat if v not in index]
    if unknown:
        raise ValueError(
            f"{name} must name labels seen in fit {classes.tolist()}; got {unknown[:5]}."
        )
    return np.array([index[v] for v in flat], dtype=np.int64).reshape(arr.shape)


def decode(codes, classes) -> np.ndarray:
    """The labels behind integer ``codes``; ``classes`` None: ``codes`` as they are."""
    if classes is None:
        return np.asarray(codes)
    return classes[np.asarray(codes, dtype=np.int64)]


class LabelsMixin:
    """The learner's side of label encoding: ``y_encoding_`` and ``z_encoding_`` hold the user's
    labels (None for numbers); the stages inside ``fit`` see their indices."""

    def _encode_labels(self, y: np.ndarray, z_raw) -> tuple[np.ndarray, object]:
        """``y`` and ``z`` as numbers; ``z`` comes back unvalidated when it is numeric."""
        self.y_encoding_, y = fit_encoding(y, "y")
        self.z_encoding_ = None
        z_arr = _raw(z_raw, "z")
        if not is_numeric(z_arr) and (z_arr.ndim == 1 or z_arr.shape[1:] == (1,)):
            z_arr = check_any_labels(z_arr.reshape(-1), "z", min_rows=2)
            self.z_encoding_, z_raw = fit_encoding(z_arr, "z")
        return y, z_raw

    def _set_interventions(self, y: np.ndarray) -> None:
        """``interventions_`` (user's labels) from the parameter, or the default values."""
        values = self.interventions
        if values is not None:
            values = encode(values, self.y_encoding_, "interventions")
            values = check_interventions(y, values, self.y_kind_)
        else:
            values = default_interventions(y, y_kind=self.y_kind_)
        self.interventions_ = decode(values, self.y_encoding_)
        if not self._is_regressor and len(values) < 2:
            raise ValueError(
                "interventions must hold at least 2 classes for a classifier (each member learns "
                f"to tell them apart); got {self.interventions_.tolist()}."
            )

    def _intervention_codes(self) -> np.ndarray:
        """``interventions_`` as the numbers the mechanism, weights and samplers use."""
        return encode(self.interventions_, getattr(self, "y_encoding_", None), "interventions")

    def _check_label_task(self) -> None:
        if self.y_encoding_ is not None and self._is_regressor:
            raise ValueError(
                f"estimator is a regressor but y holds labels that are not numbers "
                f"({self.y_encoding_[:5].tolist()}); pass a classifier."
            )

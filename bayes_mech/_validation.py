"""Shared input checks.

Every public entry point validates its arguments here, so that bad input fails early with a message
that names the argument, what was expected and what was got. Arrays come back as float64 numpy
arrays (or int64 for labels); torch tensors are accepted wherever numpy arrays are.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable

import numpy as np
import scipy.sparse
import torch
from sklearn.exceptions import DataConversionWarning

__all__ = [
    "as_numpy",
    "check_array",
    "check_consistent_length",
    "check_labels",
    "check_option",
    "check_positive_int",
    "check_random_state",
    "check_sample_weight",
    "flatten_column",
    "resolve_device",
    "seed_from",
    "torch_generator",
]


def as_numpy(value, name: str) -> np.ndarray:
    """Convert array-likes (lists, numpy, pandas, torch) to numpy, rejecting ragged input."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if scipy.sparse.issparse(value):
        raise TypeError(
            f"{name} is a sparse matrix, but sparse input is not supported; pass {name}.toarray()."
        )
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
        value = value.to_numpy()
    if value is None:
        raise TypeError(f"{name} must be an array-like, got None.")
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # numpy refuses ragged nested lists
        raise ValueError(
            f"{name} must be a rectangular array-like; got a ragged sequence ({exc})."
        ) from None
    if arr.dtype == object:
        # Object arrays arise from ragged lists or mixed types; try a numeric conversion once.
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            if any(isinstance(v, (list, tuple, np.ndarray)) for v in arr.flat):
                raise ValueError(
                    f"{name} must be a rectangular array-like; got an object array of shape "
                    f"{arr.shape} whose entries are sequences (ragged rows)."
                ) from None
            raise TypeError(
                f"{name} must hold real numbers; got an object array of shape {arr.shape} with "
                f"non-numeric entries: {exc}."
            ) from None
    return arr


def _check_numeric_dtype(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind == "c":  # scikit-learn's wording, which its check_estimator looks for
        raise ValueError(
            f"Complex data not supported: {name} must hold real numbers; got dtype {arr.dtype}."
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers; got dtype {arr.dtype}.")


def check_array(
    X,
    name: str = "X",
    *,
    ndim: int = 2,
    allow_1d: bool = False,
    min_rows: int = 1,
    min_features: int = 1,
    dtype=np.float64,
) -> np.ndarray:
    """Validate a numeric array and return it as a contiguous numpy array of ``dtype``.

    Parameters
    ----------
    X : array-like
        Input to check.
    name : str
        Argument name used in error messages.
    ndim : {1, 2}
        Required number of dimensions.
    allow_1d : bool
        With ``ndim=2``, reshape a 1-D input to a single column instead of raising.
    min_rows, min_features : int
        Minimum number of rows (and columns for 2-D input).
    dtype : numpy dtype
        Output dtype.

    Returns
    -------
    numpy.ndarray
    """
    arr = as_numpy(X, name)
    _check_numeric_dtype(arr, name)
    if ndim == 2 and arr.ndim == 1 and allow_1d:
        arr = arr.reshape(-1, 1)
    if arr.ndim != ndim:
        hint = ""
        if ndim == 2 and arr.ndim == 1:
            hint = (
                " Reshape your data with X.reshape(-1, 1) if it has a single feature, "
                "or X.reshape(1, -1) if it is a single sample."
            )
        raise ValueError(
            f"{name} must be a {ndim}-D array; got {arr.ndim}-D with shape {arr.shape}.{hint}"
        )
    if arr.shape[0] < min_rows:
        raise ValueError(
            f"{name} must have at least {min_rows} row(s); got n_samples = {arr.shape[0]} "
            f"(shape {arr.shape})."
        )
    if ndim == 2 and arr.shape[1] < min_features:
        raise ValueError(  # scikit-learn's wording, which its check_estimator looks for
            f"{name} has {arr.shape[1]} feature(s) (shape={arr.shape}) while a minimum of "
            f"{min_features} is required."
        )
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise ValueError(f"{name} must be finite; got {n_nan} NaN and {n_inf} infinite value(s).")
    return _writable(arr)


def _writable(arr: np.ndarray) -> np.ndarray:
    """A writable array: torch warns on read-only input (pandas copy-on-write, np.load mmap)."""
    return arr if arr.flags.writeable else arr.copy()


def flatten_column(arr: np.ndarray, name: str, *, warn: bool) -> np.ndarray:
    """A column vector (n, 1) flattened to (n,), with scikit-learn's ``DataConversionWarning``
    if ``warn`` (as its ``column_or_1d(warn=True)``); other shapes as they are."""
    if arr.ndim == 2 and arr.shape[1] == 1:
        if warn:
            warnings.warn(
                f"A column-vector {name} was passed when a 1d array was expected; it is "
                f"flattened. Pass {name} of shape (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=5,
            )
        arr = arr[:, 0]
    return arr


def check_labels(y, name: str = "y", *, min_rows: int = 1, warn_column: bool = False) -> np.ndarray:
    """Validate a 1-D vector of labels or values (a column vector is flattened, with scikit-learn's
    ``DataConversionWarning`` if ``warn_column``, as its ``column_or_1d(warn=True)``)."""
    arr = flatten_column(as_numpy(y, name), name, warn=warn_column)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (n_samples,); got shape {arr.shape}.")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s); got {arr.shape[0]}.")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} must be finite; got {int((~np.isfinite(arr)).sum())} NaN or infinite value(s)."
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers; got dtype {arr.dtype}.")
    return _writable(arr)


def check_consistent_length(**arrays) -> int:
    """Check that every array has the same number of rows; return that number."""
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"Inputs must have the same number of rows; got {desc}.")
    return next(iter(lengths.values()))


def check_sample_weight(sample_weight, n_samples: int, name: str = "sample_weight") -> np.ndarray:
    """Validate weights of shape ``(n_samples,)`` or ``(B, n_samples)``.

    Weights must be finite, non-negative and have positive mass in every row. ``None`` gives unit
    weights of shape ``(n_samples,)``. Returns float64.
    """
    if sample_weight is None:
        return np.ones(n_samples)
    raw = as_numpy(sample_weight, name)
    if raw.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape ({n_samples},) or (n_batch, {n_samples}); got {raw.shape}."
        )
    w = check_array(raw, name, ndim=raw.ndim)
    if w.shape[-1] != n_samples:
        raise ValueError(
            f"{name} must have shape ({n_samples},) or (n_batch, {n_samples}); got {w.shape}."
        )
    if np.any(w < 0):
        n_neg = int((w < 0).sum())
        raise ValueError(f"{name} must be non-negative; got {n_neg} negative value(s).")
    totals = w.reshape(-1, n_samples).sum(axis=1)
    if np.any(totals <= 0):
        bad = np.flatnonzero(totals <= 0).tolist()
        where = "" if w.ndim == 1 else f" in batch row(s) {bad[:10]}"
        raise ValueError(f"{name} must have positive total mass; got all-zero weights{where}.")
    return w


def check_option(value, name: str, options: Iterable) -> object:
    """Check that ``value`` is one of ``options``."""
    options = tuple(options)
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}; got {value!r}.")
    return value


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Check that ``value`` is an integer >= ``minimum`` (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return int(value)


def check_random_state(random_state) -> np.random.RandomState:
    """Turn None, an int, a ``RandomState`` or a ``Generator`` into a ``numpy.random.RandomState``.

    ``None`` draws fresh entropy. A ``numpy.random.Generator`` seeds a new ``RandomState`` from
    itself, so passing the same generator state gives the same result.
    """
    if random_state is None:
        return np.random.RandomState(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(random_state.integers(0, 2**32 - 1, dtype=np.uint64))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if not 0 <= int(random_state) < 2**32:
            raise ValueError(f"random_state must be in [0, 2**32); got {random_state}.")
        return np.random.RandomState(int(random_state))
    raise TypeError(
        "random_state must be None, an int, a numpy RandomState or a numpy Generator; "
        f"got {type(random_state).__name__}."
    )


def seed_from(random_state) -> int:
    """Draw one 31-bit integer seed from ``random_state`` (for torch and sub-estimators)."""
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def torch_generator(random_state, device=None) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded from ``random_state``."""
    gen = torch.Generator(device=resolve_device(device))
    gen.manual_seed(seed_from(random_state))
    return gen


def resolve_device(device) -> torch.device:
    """``None`` means CPU; strings and ``torch.device`` are checked to be usable."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must name a torch device such as 'cpu' or 'cuda'; got {device!r}."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available here.")
    return dev

"""Background digits (paper Appendix A.3) and a reader for MNIST IDX files.

A confounder ``u`` sets both the label ``y`` and the background brightness of the image ``x``;
the digit drawn in the image (``z``) is the mechanism. A classifier trained on confounded data can
read the label off the brightness instead of the digit.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pyro
import pyro.distributions as dist
import torch

from bayes_mech._validation import check_array, check_consistent_length, check_labels
from bayes_mech.datasets._base import FrontDoorData, run_model
from bayes_mech.datasets.synthetic import _two_point

__all__ = [
    "background_digits_model",
    "load_mnist_idx",
    "make_background_digits",
    "sample_interventional_digits",
]

_F64 = {"dtype": torch.float64}


def background_digits_model(
    n_samples: int,
    images: torch.Tensor,
    pools: torch.Tensor,
    confounded: bool = True,
    q: float = 0.8,
    agreement: float = 0.95,
    brightness: float = 8.0,
    pixel_max: float = 16.0,
):
    r"""Background-digits SCM of the paper's Appendix A.3.

    .. math::

        U &\sim \mathcal N(0, 5^2) \\
        P(Y = 2 \mid U = u) &= \frac{q^u}{q^u + (1 - q)^u}
            = \sigma\!\left(u \log\tfrac{q}{1 - q}\right),\quad q = 0.8
            \ (0.5 \text{ if not confounded}) \\
        P(Z = Y \mid Y) &= 0.95 \\
        X &= \operatorname{clip}\bigl(I_Z + v(U),\ 0,\ \text{pixel\_max}\bigr),\quad
            v(u) = \text{brightness}\cdot\bigl(0.5 \tanh(u / 5) + 0.5\bigr)

    where :math:`I_Z` is an image drawn uniformly from the pool of digit ``digits[Z - 1]``. The
    paper prints :math:`\arctan` in :math:`v`, which does not stay in :math:`[0, 1]`; the reference
    generator uses :math:`\tanh`, and so do we.

    Parameters
    ----------
    n_samples : int
    images : Tensor of shape (n_images, n_pixels)
    pools : Tensor of shape (2, n_images)
        ``pools[k]`` is uniform over the images of the ``k``-th digit and 0 elsewhere.
    """
    logit = torch.log(torch.tensor(q / (1 - q), **_F64)) if confounded else torch.zeros((), **_F64)
    with pyro.plate("samples", n_samples):
        u = pyro.sample("u", dist.Normal(torch.zeros((), **_F64), 5.0))
        y = pyro.sample("y", _two_point(torch.sigmoid(u * logit)))
        p_z2 = torch.where(y == 2, agreement, 1 - agreement).to(torch.float64)
        z = pyro.sample("z", _two_point(p_z2))
        image = pyro.sample("image", dist.Categorical(probs=pools[z.long() - 1]))
        v = brightness * (0.5 * torch.tanh(u / 5.0) + 0.5)
        x = torch.clamp(images[image] + v.unsqueeze(-1), 0.0, pixel_max)
        return pyro.deterministic("x", x, event_dim=1)


def _prepare_images(images, labels, digits):
    if images is None and labels is None:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images, labels = bunch.data, bunch.target
    elif images is None or labels is None:
        raise ValueError("images and labels must be given together (or both left as None).")
    raw = np.asarray(images)
    if raw.ndim == 3:
        raw = raw.reshape(raw.shape[0], -1)
    images = check_array(raw, "images", ndim=2)
    labels = check_labels(labels, "labels")
    check_consistent_length(images=images, labels=labels)
    digits = tuple(int(d) for d in digits)
    if len(digits) != 2 or digits[0] == digits[1]:
        raise ValueError(f"digits must be two different digit labels; got {digits}.")
    present = set(np.unique(labels).tolist())
    missing = [d for d in digits if d not in present]
    if missing:
        raise ValueError(
            f"digits {missing} have no images in labels; available labels are {sorted(present)}."
        )
    pools = np.stack([labels == d for d in digits]).astype(np.float64)
    pools /= pools.sum(axis=1, keepdims=True)  # uniform over each digit's images
    return images, pools, digits


def _digits_data(values, confounded, digits, intervention=None) -> FrontDoorData:
    return FrontDoorData(
        X=values["x"].numpy().astype(np.float64),
        y=values["y"].numpy().astype(np.int64),
        z=values["z"].numpy().astype(np.int64),
        u=values["u"].numpy().astype(np.float64),
        confounded=confounded,
        intervention=None if intervention is None else float(intervention),
        description=f"paper Appendix A.3 background digits {digits} (y=1: {digits[0]}, "
        f"y=2: {digits[1]})",
    )


def _model_inputs(images, labels, digits, brightness):
    images, pools, digits = _prepare_images(images, labels, digits)
    pixel_max = float(images.max())
    brightness = 0.5 * pixel_max if brightness is None else float(brightness)
    if brightness < 0:
        raise ValueError(f"brightness must be >= 0; got {brightness}.")
    kwargs = {
        "images": torch.as_tensor(images, **_F64),
        "pools": torch.as_tensor(pools, **_F64),
        "brightness": brightness,
        "pixel_max": pixel_max,
    }
    return kwargs, digits


def make_background_digits(
    n_samples: int = 5000,
    images=None,
    labels=None,
    digits=(2, 6),
    confounded: bool = True,
    brightness: float | None = None,
    random_state=None,
) -> FrontDoorData:
    """Draw background-digits data (paper Appendix A.3).

    Parameters
    ----------
    n_samples : int, default=5000
    images : array-like of shape (n_images, h, w) or (n_images, n_pixels), optional
        Source images; default scikit-learn's embedded 8x8 digits (no download). Pass MNIST
        read with :func:`load_mnist_idx` for the paper's setting.
    labels : array-like of shape (n_images,), optional
        Digit label of each image.
    digits : pair of int, default=(2, 6)
        The digits named by ``y = 1`` and ``y = 2``.
    confounded : bool, default=True
    brightness : float, optional
        Largest background shift; default half the brightest pixel (8 for the 8x8 digits).
    random_state : None, int or numpy RandomState/Generator

    Returns
    -------
    FrontDoorData
        ``X`` (n_samples, n_pixels) float64 images, ``y`` and ``z`` int64 in {1, 2},
        ``u`` float64.

    Examples
    --------
    >>> from bayes_mech.datasets import make_background_digits
    >>> d = make_background_digits(n_samples=300, random_state=0)
    >>> d.X.shape, float(d.X.max()) <= 16.0
    ((300, 64), True)
    """
    kwargs, digits = _model_inputs(images, labels, digits, brightness)
    values = run_model(
        background_digits_model, n_samples, random_state, confounded=confounded, **kwargs
    )
    return _digits_data(values, confounded, digits)


def sample_interventional_digits(
    y_value,
    n_samples: int = 5000,
    images=None,
    labels=None,
    digits=(2, 6),
    brightness: float | None = None,
    random_state=None,
) -> FrontDoorData:
    """Sample background digits under ``poutine.do(model, {"y": y_value})``.

    Examples
    --------
    >>> from bayes_mech.datasets import sample_interventional_digits
    >>> d = sample_interventional_digits(2, n_samples=200, random_state=0)
    >>> bool((d.y == 2).all()), round(float((d.z == 2).mean()), 1)
    (True, 0.9)
    """
    if y_value not in (1, 2):
        raise ValueError(f"y_value must be a class label in [1, 2]; got {y_value!r}.")
    kwargs, digits = _model_inputs(images, labels, digits, brightness)
    values = run_model(
        background_digits_model, n_samples, random_state, intervention=y_value, **kwargs
    )
    return _digits_data(values, True, digits, intervention=y_value)


# --------------------------------------------------------------------------- MNIST IDX files
_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_idx(path, name: str) -> np.ndarray:
    path = Path(os.fspath(path))
    if not path.is_file():
        raise ValueError(f"{name} must be an existing IDX file; {str(path)!r} does not exist.")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{name}: {str(path)!r} is a damaged gzip file ({exc}).") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{name}: {str(path)!r} is not an IDX file (expected magic 0x0000 + type byte)."
        )
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{name}: {str(path)!r} has a truncated IDX header.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{name}: {str(path)!r} declares shape {shape} ({expected} bytes of data) but holds "
            f"{len(raw) - header} bytes; the file is truncated or corrupt."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def load_mnist_idx(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Read MNIST-style IDX image and label files (raw or gzip-compressed).

    Parameters
    ----------
    images_path, labels_path : str or path-like
        E.g. ``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz``.

    Returns
    -------
    images : ndarray of shape (n, rows, cols), uint8
    labels : ndarray of shape (n,), int64

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from bayes_mech.datasets import load_mnist_idx
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    >>> _ = (d / "img").write_bytes(bytes([0, 0, 8, 3]) + b"".join(
    ...     n.to_bytes(4, "big") for n in img.shape) + img.tobytes())
    >>> _ = (d / "lab").write_bytes(bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes([7, 1]))
    >>> images, labels = load_mnist_idx(d / "img", d / "lab")
    >>> images.shape, labels.tolist()
    ((2, 3, 3), [7, 1])
    """
    images = _read_idx(images_path, "images_path")
    labels = _read_idx(labels_path, "labels_path")
    if images.ndim != 3:
        raise ValueError(
            f"images_path must hold a 3-D array (n, rows, cols); got shape {images.shape}."
        )
    if labels.ndim != 1:
        raise ValueError(f"labels_path must hold a 1-D array (n,); got shape {labels.shape}.")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"images_path holds {images.shape[0]} images but labels_path holds "
            f"{labels.shape[0]} labels."
        )
    return np.ascontiguousarray(images, dtype=np.uint8), labels.astype(np.int64)

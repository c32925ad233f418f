"""Save and load fitted learners without pickle.

A saved learner is a directory of three files:

- ``manifest.json``: format name and version, package versions, the learner's parameters and
  small fitted attributes, and the SHA-256 of every other file and of the manifest itself;
- ``arrays.npz``: every numeric array (posterior draws, mixtures, weight diagnostics, the
  mechanism's fitted state), read back with ``allow_pickle=False``;
- ``estimators.skops``: the trained ensemble members and the feature map, in skops' format,
  loaded only if every type in it is on the trusted list.

A built-in mechanism is saved as JSON and arrays (:mod:`bayes_mech.mechanisms._persist`) and
rebuilt on load, so a loaded g-formula learner samples ``p(x | do(y))`` exactly as the saved one;
its file then also holds the observed ``y`` (and covariates) and the Bayesian-bootstrap row
weights, the empirical law its ``y'`` is drawn from. A user's mechanism class is not saved: such a
learner loads and predicts, and a g-formula one cannot ``sample_interventional``.

The checksums detect truncated, corrupted or edited files; they are not a signature (whoever can
write the files can recompute them), so only load models from sources you trust.
"""

from __future__ import annotations

import datetime
import hashlib
import io as _io
import json
import os
from pathlib import Path

import numpy as np
import torch

from bayes_mech._version import __version__
from bayes_mech.mechanisms._persist import mechanism_from_state, mechanism_state

__all__ = ["FORMAT", "FORMAT_VERSION", "TRUSTED_MODULES", "load", "save_learner"]

FORMAT = "bayes-mech/learner"
#: 2: the resampler's name, reason and state (``resampler/...`` arrays).
#: 3: the mechanism (manifest ``mechanism``, ``mechanism/...`` arrays) and the g-formula's
#: sampling state. Files of versions 1 and 2 load (their g-formula learners cannot sample).
FORMAT_VERSION = 3
#: Top-level modules whose types ``load`` trusts inside ``estimators.skops`` (beyond skops' own
#: defaults). Anything else must be named in ``load(..., trusted=[...])``.
TRUSTED_MODULES = ("sklearn", "numpy", "scipy", "bayes_mech")

_MANIFEST, _ARRAYS, _MODELS = "manifest.json", "arrays.npz", "estimators.skops"
_FITTED_JSON = (
    "y_kind_",
    "n_features_in_",
    "n_samples_fit_",
    "fit_times_",
    "resampler_reason_",
    "selection_",
    "frontdoor_strength_",
    "covariate_names_",
    "covariate_encoding_",
)
#: ``y_encoding_`` / ``z_encoding_``: the user's labels when they are not numbers (None, and
#: absent from the file, otherwise or in files written before labels of any type).
_FITTED_ARRAYS = (
    "interventions_",
    "classes_",
    "residual_std_",
    "residuals_",
    "y_encoding_",
    "z_encoding_",
)
_DIAG_VARS = ("ess", "ess_fraction", "khat", "max_weight_ratio")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return _sha256(json.dumps(body, sort_keys=True).encode())


def _json_params(learner) -> dict:
    params = {}
    for key, value in learner.get_params(deep=False).items():
        if key in ("estimator", "feature_map"):
            continue  # stored with skops
        if key == "mechanism" and not isinstance(value, str):
            value = "auto"  # the instance's fit is saved as mechanism_ (a built-in one)
        if key == "interventions" and value is not None:
            value = np.asarray(value).tolist()
        if key == "device":
            value = None if value is None else str(value)
        params[key] = value
    return params


def save_learner(learner, path) -> Path:
    """Write a fitted :class:`~bayes_mech.MechanismLearner` to the directory ``path``."""
    import skops.io as sio

    if not hasattr(learner, "estimators_"):
        from bayes_mech.exceptions import NotFittedError

        raise NotFittedError("Only a fitted MechanismLearner can be saved; call fit first.")
    path = Path(os.fspath(path))
    path.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name in _FITTED_ARRAYS:
        value = getattr(learner, name, None)
        if value is not None:
            value = np.asarray(value)
            # npz is read without pickle, so labels stored as Python objects go as strings
            arrays[name] = value.astype(str) if value.dtype == object else value
    for name, value in learner.draws_.items():
        arrays[f"draws/{name}"] = value.detach().cpu().numpy()
    for name in _DIAG_VARS:
        arrays[f"diagnostics/{name}"] = learner.weight_diagnostics_[name].values
    for name, value in learner.resampler_.state_arrays().items():
        arrays[f"resampler/{name}"] = value
    mechanism = mechanism_state(learner.mechanism_)  # None for a user's mechanism class
    if mechanism is not None:
        arrays.update(mechanism[1])
    buffer = _io.BytesIO()
    np.savez(buffer, **arrays)
    array_bytes = buffer.getvalue()
    model_bytes = sio.dumps(
        {
            "estimator": learner.estimator,
            "estimators": learner.estimators_,
            "feature_map": learner.feature_map,
            "feature_map_": learner.feature_map_,
        }
    )
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bayes_mech_version": __version__,
        "torch_version": torch.__version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "class": type(learner).__name__,
        "mechanism_class": type(learner.mechanism_).__name__,
        "mechanism": None if mechanism is None else mechanism[0],
        "params": _json_params(learner),
        # selection_ is absent from a model loaded from a file written before it existed
        "fitted": {name: getattr(learner, name, None) for name in _FITTED_JSON},
        "feature_names_in": (
            np.asarray(learner.feature_names_in_).tolist()
            if hasattr(learner, "feature_names_in_")
            else None
        ),
        "resampler": learner.resampler_.name,
        "files": {_ARRAYS: _sha256(array_bytes), _MODELS: _sha256(model_bytes)},
    }
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (path / _ARRAYS).write_bytes(array_bytes)
    (path / _MODELS).write_bytes(model_bytes)
    (path / _MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return path


def _read_manifest(path: Path) -> dict:
    file = path / _MANIFEST
    if not file.is_file():
        raise ValueError(
            f"path {str(path)!r} is not a saved bayes-mech model: it has no {_MANIFEST}."
        )
    try:
        manifest = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"path {str(path)!r}: {_MANIFEST} is not valid JSON ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(
            f"path {str(path)!r} is not a saved bayes-mech model: its manifest format is "
            f"{manifest.get('format') if isinstance(manifest, dict) else None!r}, "
            f"expected {FORMAT!r}."
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"path {str(path)!r} was written in format version {version} by bayes-mech "
            f"{manifest.get('bayes_mech_version')}; this bayes-mech ({__version__}) reads "
            f"versions up to {FORMAT_VERSION}. Upgrade bayes-mech to load it."
        )
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise ValueError(
            f"path {str(path)!r}: {_MANIFEST} does not match its checksum; it was edited or "
            "corrupted."
        )
    return manifest


def _read_checked(path: Path, name: str, manifest: dict) -> bytes:
    file = path / name
    if not file.is_file():
        raise ValueError(f"path {str(path)!r} is missing {name}.")
    data = file.read_bytes()
    if _sha256(data) != manifest["files"].get(name):
        raise ValueError(
            f"path {str(path)!r}: {name} does not match the checksum in {_MANIFEST}; the file "
            "is truncated, corrupted or was modified after saving."
        )
    return data


def _load_models(data: bytes, trusted) -> dict:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    allowed = set(trusted or ())
    refused = [t for t in untrusted if t.split(".")[0] not in TRUSTED_MODULES and t not in allowed]
    if refused:
        raise ValueError(
            f"estimators.skops holds types outside the trusted modules {list(TRUSTED_MODULES)}: "
            f"{refused}. If you trust this file, pass load(path, trusted={refused!r})."
        )
    return sio.loads(data, trusted=untrusted)


def load(path, trusted=None):
    """Load a learner written by ``MechanismLearner.save``.

    Parameters
    ----------
    path : str or path-like
        The directory given to ``save``.
    trusted : list of str, optional
        Fully qualified type names to trust in the stored estimators beyond the modules in
        ``TRUSTED_MODULES`` (e.g. a third-party estimator's class).

    Returns
    -------
    MechanismLearner
        Predicts exactly as the saved one, and ``sample_interventional`` draws the same rows for
        the same ``random_state``. Posterior draws, diagnostics and a built-in mechanism are
        stored; ``log_weights_`` and the training data are not. ``mechanism_`` is ``None`` when
        the mechanism was a user's class (e.g. a ``PyroMechanism``) or the file predates
        format version 3: a g-formula learner then cannot ``sample_interventional``.

    Raises
    ------
    ValueError
        When the directory is not a bayes-mech model, was written by a newer format version,
        fails a checksum, or holds untrusted types.

    Examples
    --------
    >>> import tempfile, warnings
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> import bayes_mech as bm
    >>> d = bm.datasets.make_frontdoor_classification(n_samples=400, random_state=0)
    >>> learner = bm.MechanismLearner(LogisticRegression(), n_draws=2, n_components=2,
    ...                               progress=False, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", bm.FrontDoorWeightWarning)
    ...     learner = learner.fit(d.X, d.y, d.z)
    >>> path = learner.save(tempfile.mkdtemp() + "/a1")
    >>> loaded = bm.load(path)
    >>> bool(np.array_equal(loaded.predict_proba(d.X), learner.predict_proba(d.X)))
    True
    """
    import xarray as xr

    from bayes_mech.learner import MechanismLearner
    from bayes_mech.resamplers import RESAMPLERS

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or path-like naming a saved model directory; got "
            f"{type(path).__name__}."
        )
    path = Path(os.fspath(path))
    manifest = _read_manifest(path)
    array_bytes = _read_checked(path, _ARRAYS, manifest)
    models = _load_models(_read_checked(path, _MODELS, manifest), trusted)
    with np.load(_io.BytesIO(array_bytes), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}

    learner = MechanismLearner(
        estimator=models["estimator"], feature_map=models["feature_map"], **manifest["params"]
    )
    learner.estimators_ = models["estimators"]
    learner.feature_map_ = models["feature_map_"]
    spec = manifest.get("mechanism")  # absent before format version 3
    learner.mechanism_ = None if spec is None else mechanism_from_state(spec, arrays)
    for name, value in manifest["fitted"].items():
        setattr(learner, name, value)
    if manifest.get("feature_names_in") is not None:
        learner.feature_names_in_ = np.asarray(manifest["feature_names_in"], dtype=object)
    for name in _FITTED_ARRAYS:
        setattr(learner, name, arrays.get(name))
    learner.draws_ = {
        key.split("/", 1)[1]: torch.as_tensor(value)
        for key, value in arrays.items()
        if key.startswith("draws/")
    }
    coords = {"draw": np.arange(arrays["diagnostics/ess"].shape[0])}
    values = learner.interventions_
    coords["intervention"] = values if values.ndim == 1 else np.arange(values.shape[0])
    learner.weight_diagnostics_ = xr.Dataset(
        {name: (("draw", "intervention"), arrays[f"diagnostics/{name}"]) for name in _DIAG_VARS},
        coords=coords,
        attrs={"n_samples": learner.n_samples_fit_},
    )
    name, state = _resampler_state(manifest, arrays)
    resampler = RESAMPLERS[name].from_state(state)
    learner.resampler_ = resampler
    learner.resampler_reason_ = manifest["fitted"].get("resampler_reason_", "chosen by the user")
    if name == "cwgmm" and not hasattr(resampler, "covariance_type_draws_"):
        # saved before covariance_type="auto": every mixture had the learner's structure
        shape = resampler.n_components_draws_.shape
        resampler.covariance_type_draws_ = np.full(shape, learner.covariance_type)
        resampler.covariance_type_ = np.full(shape[1], learner.covariance_type)
    learner.n_components_ = resampler.n_components_
    learner.covariance_type_ = getattr(resampler, "covariance_type_", None)
    learner.mixtures_ = getattr(resampler, "mixtures_", None)
    learner.mixture_fit_ = getattr(resampler, "fit_", None)
    learner.interventional_model_ = learner._interventional_model()
    return learner


def _resampler_state(manifest: dict, arrays: dict) -> tuple[str, dict]:
    """The resampler's name and state arrays; version 1 files kept CW-GMMs under other keys."""
    if "resampler" in manifest:
        prefix = "resampler/"
        state = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        return manifest["resampler"], state
    if "mixtures/weights" not in arrays:
        return "bootstrap", {"n_components": None}
    state = {k: v for k, v in arrays.items() if k.startswith("mixtures/")}
    state.update({"fit/" + k[12:]: v for k, v in arrays.items() if k.startswith("mixture_fit/")})
    state["n_components"] = arrays["n_components_"]
    return "cwgmm", state

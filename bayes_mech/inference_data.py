"""ArviZ conversion of a fitted learner.

Dimensions are named: ``chain`` and ``draw`` (ArviZ's), then ``intervention``, ``sample`` and
``class``. The learner's S draws form one chain: they are the posterior draws θ_s each member was
trained on, so every other group indexes the same ``draw``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["learner_to_inference_data"]


def _posterior(draws: dict) -> tuple[dict, dict]:
    posterior, dims = {}, {}
    for name, value in draws.items():
        arr = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        posterior[name] = arr[None]  # add the chain axis
        dims[name] = [f"{name}_dim_{i}" for i in range(arr.ndim - 1)]
    return posterior, dims


def learner_to_inference_data(learner, X=None):
    """Build an ``arviz.InferenceData`` from a fitted :class:`~bayes_mech.MechanismLearner`.

    Groups:

    - ``posterior``: the mechanism parameters θ_s of the S draws used;
    - ``sample_stats``: per (draw, intervention) the Kish ESS, ESS/N, PSIS k-hat and largest
      weight ratio of the mechanism's front-door weights, and the EM lower bound, iterations
      and convergence flag of the resampler's mixtures (per intervention for the CW-GMM, per
      ``cell`` for the g-formula), with ``partial_pooling`` the CW-GMM's ``pooled_share`` (0:
      a member kept its own means, 1: fully pooled; NaN: not pooled); attributes ``resampler``
      and ``resampler_reason`` say which sampler ran and why;
    - ``constant_data``: the intervention values and the chosen K (per intervention or cell);
    - ``predictions`` (when ``X`` is given): each member's prediction on ``X``.

    Parameters
    ----------
    learner : MechanismLearner
        Fitted.
    X : array-like of shape (n_samples, n_features), optional

    Returns
    -------
    arviz.InferenceData

    Examples
    --------
    >>> import warnings
    >>> from sklearn.linear_model import LogisticRegression
    >>> import bayes_mech as bm
    >>> d = bm.datasets.make_frontdoor_classification(n_samples=600, random_state=0)
    >>> learner = bm.MechanismLearner(LogisticRegression(), n_draws=3, n_components=2,
    ...                               progress=False, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", bm.FrontDoorWeightWarning)
    ...     idata = learner.fit(d.X, d.y, d.z).to_inference_data(d.X[:5])
    >>> idata.sample_stats["ess_fraction"].dims
    ('chain', 'draw', 'intervention')
    >>> idata.predictions["probability"].shape
    (1, 3, 5, 2)
    """
    import arviz as az

    if not hasattr(learner, "estimators_"):
        from bayes_mech.exceptions import NotFittedError

        raise NotFittedError("to_inference_data needs a fitted learner; call fit first.")
    posterior, dims = _posterior(learner.draws_)
    diag = learner.weight_diagnostics_
    stats = {name: diag[name].values[None] for name in diag.data_vars}
    stat_dims = {name: ["intervention"] for name in stats}
    resampler = learner.resampler_
    coords = {"intervention": diag["intervention"].values}
    for name, (value, stat_dim) in resampler.fit_stats().items():
        stats[name] = np.asarray(value)[None]
        stat_dims[name] = stat_dim
    values = np.asarray(learner.interventions_)
    constant = {"intervention_value": values}
    const_dims = {"intervention_value": ["intervention"] + (["y_dim"] if values.ndim > 1 else [])}
    if learner.n_components_ is not None:
        constant["n_components"] = np.asarray(learner.n_components_)
        if resampler.name == "gformula":
            const_dims["n_components"] = ["cell"]
            coords["cell"] = list(resampler.cell_labels_)
        else:
            const_dims["n_components"] = ["intervention"]
    groups = {
        "posterior": posterior,
        "sample_stats": stats,
        "constant_data": constant,
        "dims": {**dims, **stat_dims, **const_dims},
        "coords": coords,
    }
    if X is not None:
        pred = learner.predict_dist(X)
        groups["predictions"] = {pred.name: pred.values[None]}
        groups["dims"][pred.name] = list(pred.dims[1:])
        if "class" in pred.coords:
            groups["coords"]["class"] = pred["class"].values
    idata = az.from_dict(**groups)
    # Which sampler drew the deconfounded rows, and why (resampler="auto" decides from the fit).
    for group in ("sample_stats", "constant_data"):
        idata[group].attrs["resampler"] = resampler.name
        idata[group].attrs["resampler_reason"] = learner.resampler_reason_
        strength = getattr(learner, "frontdoor_strength_", None)
        if strength is not None:  # models saved before format 2 did not record it
            idata[group].attrs["frontdoor_strength"] = strength["verdict"]
        selection = getattr(learner, "selection_", None)  # absent from older saved models
        if selection:
            idata[group].attrs["selection"] = selection["reason"] or "chosen by the user"
    return idata

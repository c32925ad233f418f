"""The learner's ``"auto"`` model-selection options, resolved per fit from the data's shape.

``n_components="auto"``, ``covariance_type="auto"`` and ``partial_pooling="auto"`` (the
defaults) turn into concrete settings once the front-door weights and the feature map are known,
by one test: whether a two-component full-covariance mixture in the modelled dimension ``d``
has fewer free parameters than the weights' effective rows ``N_eff`` (smallest over the
intervention values, median over draws), i.e. whether the weighted BIC can identify ``K > 1``,
while in two dimensions it could (the test of the learner's high-dimension warning).

* It can, or the weights are too thin for ``K > 1`` even in two dimensions: K by the weighted
  BIC with full covariances, no pooling. On the paper's A.1 the structure scan and
  ``"bic_eff"`` did not train a better classifier (``benchmarks/results/selection_pooling.md``)
  and took about twice the fit time (``benchmarks/results/time_ratio.md``).
* It cannot (many dimensions next to ``N_eff``): the BIC would keep ``K = 1``; K by ``"bic_eff"``
  with the structure chosen per draw among full, tied, diag and spherical, and, for a discrete
  ``y``, the component means partially pooled across classes (``benchmarks/bench_selection.py``
  measures this default, ``auto/auto``, on every data set it has; results/selection.md).

Options the user sets keep their values; only ``"auto"`` ones are resolved.
"""

from __future__ import annotations

import numbers

import numpy as np

from bayes_mech.mixture._covariances import n_parameters

__all__ = ["dimension_pins_k", "is_auto", "resolve_selection"]


def is_auto(value) -> bool:
    """Whether an option is the string ``"auto"`` (options may also be lists, dicts, ints)."""
    return isinstance(value, str) and value == "auto"


def dimension_pins_k(covariance_type: str, n_features: int, n_eff: float) -> bool:
    """Whether the weighted BIC's identified-K rule keeps K = 1 because of the dimension: a
    2-component mixture of ``covariance_type`` has at least ``n_eff`` free parameters in
    ``n_features`` dimensions but not in two (weights too thin for K > 1 even in 2-D are the
    ``FrontDoorWeightWarning``'s matter)."""
    return (
        n_parameters(covariance_type, 2, n_features) >= n_eff > n_parameters(covariance_type, 2, 2)
    )


def _plain(value):
    """``value`` in JSON's types (``selection_`` is saved in the model's manifest)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return value


def resolve_selection(
    n_components, covariance_type, partial_pooling, n_features: int, n_eff: float, discrete: bool
) -> dict:
    """The concrete ``n_components``, ``covariance_type`` and ``partial_pooling`` of one fit.

    Parameters
    ----------
    n_components, covariance_type, partial_pooling
        The learner's options; ``"auto"`` ones are resolved, others returned as given.
    n_features : int
        Dimension the mixtures model (after ``feature_map``).
    n_eff : float
        Effective rows of the front-door weights (smallest over values, median over draws).
    discrete : bool
        Whether ``y`` is discrete (pooling treats the values as exchangeable classes).

    Returns
    -------
    dict
        ``n_components``, ``covariance_type``, ``partial_pooling`` and ``reason`` (why, with the
        numbers; empty when no option was ``"auto"``), in JSON's types (a dict's keys as
        strings).

    Examples
    --------
    >>> from bayes_mech._auto_selection import resolve_selection
    >>> low = resolve_selection("auto", "auto", "auto", n_features=2, n_eff=900.0, discrete=True)
    >>> low["n_components"], low["covariance_type"], low["partial_pooling"]
    ('bic', 'full', False)
    >>> high = resolve_selection("auto", "auto", "auto", 64, 400.0, discrete=True)
    >>> high["n_components"], high["covariance_type"], high["partial_pooling"]
    ('bic_eff', 'auto', True)
    """
    k2 = n_parameters("full", 2, n_features)
    many = dimension_pins_k("full", n_features, n_eff)  # weights too thin: the BIC is kept
    out = {
        "n_components": ("bic_eff" if many else "bic") if is_auto(n_components) else n_components,
        "covariance_type": ("auto" if many else "full")
        if is_auto(covariance_type)
        else covariance_type,
        "partial_pooling": (discrete and many) if is_auto(partial_pooling) else partial_pooling,
    }
    out = {name: _plain(value) for name, value in out.items()}
    resolved = [
        f"{name}={out[name]!r}"
        for name, given in (
            ("n_components", n_components),
            ("covariance_type", covariance_type),
            ("partial_pooling", partial_pooling),
        )
        if is_auto(given)
    ]
    out["reason"] = ""
    if resolved:
        if many:
            why = "the weighted BIC cannot identify K > 1 in this many dimensions"
        elif k2 < n_eff:
            why = "the weighted BIC can identify K > 1"
        else:
            why = "too few effective rows for K > 1 even in 2 dimensions"
        out["reason"] = (
            f"{', '.join(resolved)} ({k2} free parameters in a 2-component full mixture in "
            f"{n_features} dimensions {'<' if k2 < n_eff else '>='} N_eff = {n_eff:.0f}: {why})"
        )
    return out

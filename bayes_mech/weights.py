r"""Front-door weights, their diagnostics and Pareto smoothing (paper eq. 2).

For a posterior draw :math:`\theta_s` of the mechanism and an intervention value :math:`y_m`, the
front-door weight of row :math:`n` (Little & Badawy 2019; Mao & Little 2024, eq. 2) is

.. math::

    \tilde w_{smn} = \frac{p(z_n \mid y_m, \theta_s)}{p(z_n \mid y_n, \theta_s)}, \qquad
    w_{smn} = \frac{\tilde w_{smn}}{\sum_{n'} \tilde w_{smn'}},

so that :math:`\sum_n w_{smn}\, \delta(x - x_n)` estimates :math:`p(x \mid do(y = y_m))`: the
numerator re-weights the mechanism to its interventional law and the denominator undoes the
observational one, while the rows keep the confounder's marginal distribution. Everything here is
computed in log space and kept in float64, because the ratio of two densities under a mechanism
that separates the classes well spans hundreds of orders of magnitude.

Self-normalised weights can be degenerate; :func:`weight_diagnostics` reports Kish's effective
sample size and the PSIS Pareto shape :math:`\hat k` (Vehtari et al. 2024) for every
(draw, intervention), and :func:`warn_if_degenerate` raises a
:class:`~bayes_mech.exceptions.FrontDoorWeightWarning` with the numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import xarray as xr
from sklearn.utils.multiclass import type_of_target

from bayes_mech._validation import (
    as_numpy,
    check_array,
    check_consistent_length,
    check_labels,
    check_option,
    check_positive_int,
    torch_generator,
)
from bayes_mech.exceptions import FrontDoorWeightWarning

__all__ = [
    # weights
    "frontdoor_log_weights",
    "normalize_log_weights",
    "bayesian_bootstrap_log_weights",
    # intervention values
    "default_interventions",
    "check_interventions",
    # diagnostics and smoothing
    "weight_diagnostics",
    "warn_if_degenerate",
    "frontdoor_strength",
    "smooth_weights",
]

#: Thresholds of :func:`frontdoor_strength`: weights this close to uniform (ESS/N) mean z says
#: (almost) nothing about y; this little weight on rows of another class means z (almost)
#: determines y. Either way the adjustment returns the data as they are: the naive predictor.
MAX_UNINFORMATIVE_ESS = 0.99
MIN_OTHER_CLASS_MASS = 0.01
MAX_RESIDUAL_SHARE = 0.01
#: Thresholds of :func:`warn_if_degenerate`: ESS/N below 1 % or a Pareto tail with k-hat above 0.7
#: (Vehtari et al. 2024: beyond 0.7 the PSIS estimate's error no longer shrinks usefully with N).
MIN_ESS_FRACTION = 0.01
MAX_KHAT = 0.7


# ---------------------------------------------------------------------------- intervention values
def _infer_y_kind(y_arr: np.ndarray) -> str:
    """'discrete' for integer, boolean or integer-valued labels; 'continuous' otherwise."""
    if y_arr.ndim == 2 and y_arr.shape[1] > 1:
        return "continuous"
    target = type_of_target(y_arr.ravel())
    return "discrete" if target in ("binary", "multiclass") else "continuous"


def _check_y(y, y_kind: str) -> np.ndarray:
    if y_kind == "discrete":
        return check_labels(y, "y")
    return check_array(y, "y", ndim=2, allow_1d=True)


def default_interventions(y, n_grid: int = 20, coverage: float = 0.95, y_kind: str | None = None):
    """Intervention values ``y_m`` at which to reconstruct ``p(x | do(y = y_m))``.

    Discrete ``y``: every observed class. Continuous ``y``: ``n_grid`` evenly spaced values between
    the ``(1 - coverage) / 2`` and ``(1 + coverage) / 2`` quantiles of the observed ``y``, so the
    grid never leaves the observed support, where the front-door weights collapse onto the few
    rows near the edge.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Observed cause.
    n_grid : int, default=20
        Number of grid values for continuous ``y`` (ignored for discrete ``y``). With ``n_grid=1``
        the grid is the median.
    coverage : float in (0, 1], default=0.95
        Central fraction of the observed ``y`` that the grid spans.
    y_kind : {"discrete", "continuous"}, optional
        Default: inferred, discrete for integer or integer-valued labels
        (:func:`sklearn.utils.multiclass.type_of_target`).

    Returns
    -------
    ndarray of shape (n_values,)
        The classes (dtype of ``y``) or the float64 grid.

    Examples
    --------
    >>> import numpy as np
    >>> default_interventions(np.array([2, 1, 2, 2]))
    array([1, 2])
    >>> default_interventions(np.linspace(0.0, 10.0, 1001), n_grid=3, coverage=0.9)
    array([0.5, 5. , 9.5])
    """
    n_grid = check_positive_int(n_grid, "n_grid", minimum=1)
    if not isinstance(coverage, (int, float)) or not 0.0 < float(coverage) <= 1.0:
        raise ValueError(f"coverage must be a number in (0, 1]; got {coverage!r}.")
    y_arr = as_numpy(y, "y")
    y_kind = _infer_y_kind(y_arr) if y_kind is None else y_kind
    check_option(y_kind, "y_kind", ("discrete", "continuous"))
    y_arr = _check_y(y_arr, y_kind)
    if y_kind == "discrete":
        return np.unique(y_arr)
    if y_arr.shape[1] != 1:
        raise ValueError(
            f"default_interventions builds a grid for 1-D y only; y has {y_arr.shape[1]} columns. "
            "Pass the intervention values explicitly, shape (n_values, d_y)."
        )
    values = y_arr[:, 0]
    if n_grid == 1:
        return np.array([np.median(values)])
    tail = (1.0 - float(coverage)) / 2.0
    lo, hi = np.quantile(values, [tail, 1.0 - tail])
    return np.linspace(lo, hi, n_grid)


def check_interventions(y, interventions, y_kind: str) -> np.ndarray:
    """Validate user-supplied intervention values against the observed ``y``.

    A discrete intervention must be an observed class; a continuous one must lie within the
    observed range of ``y`` (per column), since front-door weights only move probability mass
    between observed rows and cannot represent ``do(y)`` outside the data's support.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, d_y)
        Observed cause.
    interventions : array-like of shape (n_values,) or (n_values, d_y)
        Requested values ``y_m``.
    y_kind : {"discrete", "continuous"}

    Returns
    -------
    ndarray of shape (n_values,) or (n_values, d_y)
        Discrete: 1-D with the dtype of the classes; continuous: float64, 1-D when ``d_y == 1``.

    Raises
    ------
    ValueError
        Naming every unknown class or out-of-range value.

    Examples
    --------
    >>> import numpy as np
    >>> check_interventions(np.array([1, 2, 2]), [2], "discrete")
    array([2])
    >>> check_interventions(np.array([1, 2, 2]), [3], "discrete")
    Traceback (most recent call last):
    ...
    ValueError: interventions holds value(s) [3] that were never observed as a class of y; ...
    """
    check_option(y_kind, "y_kind", ("discrete", "continuous"))
    y_arr = _check_y(y, y_kind)
    if y_kind == "discrete":
        values = check_labels(interventions, "interventions")
        classes = np.unique(y_arr)
        unknown = np.unique(values[~np.isin(values, classes)])
        if unknown.size:
            raise ValueError(
                f"interventions holds value(s) {unknown.tolist()} that were never observed as a "
                f"class of y; observed classes are {classes.tolist()}."
            )
        return values.astype(y_arr.dtype, copy=False)
    values = check_array(interventions, "interventions", ndim=2, allow_1d=True)
    if values.shape[1] != y_arr.shape[1]:
        raise ValueError(
            f"interventions must have {y_arr.shape[1]} column(s) like y; got shape {values.shape}."
        )
    lo, hi = y_arr.min(axis=0), y_arr.max(axis=0)
    outside = np.any((values < lo) | (values > hi), axis=1)
    if outside.any():
        bad = values[outside]
        bad_list = bad[:, 0].tolist() if bad.shape[1] == 1 else bad.tolist()
        rng = ", ".join(f"[{a:.6g}, {b:.6g}]" for a, b in zip(lo, hi, strict=True))
        raise ValueError(
            f"interventions holds value(s) {bad_list} outside the observed range of y {rng}; "
            "front-door weights cannot reach values the data never took."
        )
    return values[:, 0] if values.shape[1] == 1 else values


# --------------------------------------------------------------------------------------- weights
def _describe(interventions, m: int) -> str:
    if interventions is None:
        return f"intervention index {m}"
    value = np.asarray(interventions)[m]
    value = value.tolist() if np.ndim(value) else value.item()
    return f"intervention y={value}"


def normalize_log_weights(log_weights, interventions=None) -> torch.Tensor:
    r"""Self-normalise log-weights over rows: ``log w - logsumexp_n(log w)``.

    Parameters
    ----------
    log_weights : array-like or Tensor of shape (n_draws, n_values, n_samples)
        Unnormalised log-weights; ``-inf`` marks a zero weight.
    interventions : array-like of shape (n_values,), optional
        Used only to name the intervention in error messages.

    Returns
    -------
    torch.Tensor of shape (n_draws, n_values, n_samples), float64
        Each row ``[s, m, :]`` has ``logsumexp`` 0.

    Raises
    ------
    ValueError
        On NaN or ``+inf`` entries, or a row whose weights are all zero (``-inf``), naming the
        intervention and the draws, instead of returning NaN weights.

    Examples
    --------
    >>> import torch
    >>> lw = normalize_log_weights(torch.tensor([[[0.0, 0.0, float("-inf"), 0.0]]]))
    >>> lw.exp()
    tensor([[[0.3333, 0.3333, 0.0000, 0.3333]]], dtype=torch.float64)
    """
    lw = torch.as_tensor(log_weights, dtype=torch.float64)
    if lw.ndim != 3:
        raise ValueError(
            "log_weights must have shape (n_draws, n_values, n_samples); "
            f"got {lw.ndim}-D with shape {tuple(lw.shape)}."
        )
    if lw.shape[-1] == 0:
        raise ValueError("log_weights must have at least one row (n_samples >= 1).")
    n_nan = int(torch.isnan(lw).sum())
    n_pinf = int(torch.isposinf(lw).sum())
    if n_nan or n_pinf:
        raise ValueError(
            f"log_weights must not contain NaN or +inf; got {n_nan} NaN and {n_pinf} +inf."
        )
    total = torch.logsumexp(lw, dim=-1, keepdim=True)
    dead = torch.isneginf(total[..., 0])  # (S, M): every weight of the row is zero
    if dead.any():
        lines = []
        for m in torch.nonzero(dead.any(dim=0)).flatten().tolist():
            draws = torch.nonzero(dead[:, m]).flatten().tolist()
            lines.append(f"{_describe(interventions, m)} (draw(s) {draws[:10]})")
        raise ValueError(
            "front-door weights are all zero (log-weight -inf for every row) for "
            + "; ".join(lines)
            + ". No observed z has positive density under this intervention value; choose values "
            "inside the observed support of y or a mechanism with wider tails."
        )
    return lw - total


def frontdoor_log_weights(
    mechanism, y, z, interventions=None, draws=None, *, row_log_weights=None, covariates=None
) -> torch.Tensor:
    r"""Normalised front-door log-weights ``log w[s, m, n]`` (paper eq. 2).

    .. math::

        \log \tilde w_{smn} = \log p(z_n \mid y_m, \theta_s) - \log p(z_n \mid y_n, \theta_s)
            \;[+ \log b_{sn}], \qquad
        \log w_{smn} = \log \tilde w_{smn} - \operatorname{logsumexp}_{n'} \log \tilde w_{smn'}.

    Parameters
    ----------
    mechanism : Mechanism
        A fitted mechanism ``p(z | y, θ)``; discrete or continuous ``y``, any ``z``.
    y : array-like of shape (n_samples,) or (n_samples, d_y)
        Observed cause.
    z : array-like of shape (n_samples,) or (n_samples, d_z)
        Observed mechanism.
    interventions : array-like of shape (n_values,) or (n_values, d_y), optional
        Intervention values ``y_m``, checked by :func:`check_interventions`; default
        :func:`default_interventions` (the classes, or a 20-value grid over the central 95 %).
    draws : dict of str to Tensor, optional
        Posterior draws from ``mechanism.sample_posterior``; default the posterior mean (S = 1),
        which is the paper's point method.
    row_log_weights : array-like of shape (n_samples,) or (n_draws, n_samples), optional
        Extra log row weights :math:`\log b_{sn}` multiplied in before normalising, e.g.
        :func:`bayesian_bootstrap_log_weights` for the data's finite-sample uncertainty.
    covariates : array-like of shape (n_samples, q), optional
        Observed covariates ``c_n`` of a mechanism fitted with them: the conditional front
        door's weights ``p(z_n | y_m, c_n) / p(z_n | y_n, c_n)``.

    Returns
    -------
    torch.Tensor of shape (n_draws, n_values, n_samples), float64
        Each row ``[s, m, :]`` has ``logsumexp`` 0.

    Raises
    ------
    NotFittedError
        If the mechanism was never fitted.
    ValueError
        On NaN in ``y``/``z``, mismatched lengths, unknown intervention values, a row whose own
        ``z_n`` has zero density under ``y_n``, or an intervention whose weights are all zero.

    Examples
    --------
    >>> from bayes_mech.datasets import make_frontdoor_classification
    >>> from bayes_mech.mechanisms import GaussianMechanism
    >>> d = make_frontdoor_classification(n_samples=1000, random_state=0)
    >>> mech = GaussianMechanism().fit(d.y, d.z)
    >>> lw = frontdoor_log_weights(mech, d.y, d.z)  # interventions: the classes [1, 2]
    >>> lw.shape, lw.logsumexp(-1).abs().max().item() < 1e-12
    (torch.Size([1, 2, 1000]), True)
    >>> draws = mech.sample_posterior(8, random_state=0)
    >>> frontdoor_log_weights(mech, d.y, d.z, [2], draws=draws).shape
    torch.Size([8, 1, 1000])
    """
    mechanism._check_is_fitted()
    y_kind = mechanism.y_kind_
    y_arr = _check_y(y, y_kind)
    if getattr(mechanism, "z_kind", "continuous") == "discrete":
        z_arr = check_labels(z, "z")
    else:
        z_arr = check_array(z, "z", ndim=2, allow_1d=True)
    n = check_consistent_length(y=y_arr, z=z_arr)
    if interventions is None:
        interventions = default_interventions(y_arr, y_kind=y_kind)
    interventions = check_interventions(y_arr, interventions, y_kind)
    if draws is None:
        draws = mechanism.posterior_mean()

    c_kw = {} if covariates is None else {"covariates": covariates}
    log_num = mechanism.log_prob(z_arr, interventions, draws, **c_kw)  # (S, N, M)
    log_den = mechanism.log_prob_observed(z_arr, y_arr, draws, **c_kw)  # (S, N)
    log_num = torch.as_tensor(log_num, dtype=torch.float64)
    log_den = torch.as_tensor(log_den, dtype=torch.float64)
    bad_num = torch.isnan(log_num) | torch.isposinf(log_num)
    if bad_num.any():
        raise ValueError(
            f"mechanism.log_prob returned {int(bad_num.sum())} NaN or +inf value(s); "
            "the mechanism's densities must be finite or -inf."
        )
    # A row whose own z_n is impossible under its own y_n would get weight +inf (or NaN when the
    # numerator is also zero): the mechanism contradicts the data it is meant to describe.
    bad_den = ~torch.isfinite(log_den)
    if bad_den.any():
        s_idx, n_idx = torch.nonzero(bad_den, as_tuple=True)
        raise ValueError(
            f"log p(z_n | y_n) is not finite for {int(bad_den.sum())} (draw, row) pair(s), e.g. "
            f"draw {int(s_idx[0])}, row {int(n_idx[0])}: the mechanism gives the observed z zero "
            "density under the observed y, so the front-door weight is undefined."
        )
    log_w = log_num.transpose(1, 2) - log_den.unsqueeze(1)  # (S, M, N)
    if row_log_weights is not None:
        log_b = torch.as_tensor(as_numpy(row_log_weights, "row_log_weights"), dtype=torch.float64)
        if log_b.ndim == 1:
            log_b = log_b.unsqueeze(0)
        if log_b.ndim != 2 or log_b.shape[-1] != n or log_b.shape[0] not in (1, log_w.shape[0]):
            raise ValueError(
                f"row_log_weights must have shape ({n},) or ({log_w.shape[0]}, {n}); "
                f"got {tuple(log_b.shape)}."
            )
        if torch.isnan(log_b).any() or torch.isposinf(log_b).any():
            raise ValueError("row_log_weights must not contain NaN or +inf.")
        log_w = log_w + log_b.unsqueeze(1)
    return normalize_log_weights(log_w, interventions)


def bayesian_bootstrap_log_weights(n_draws: int, n_rows: int, random_state=None) -> torch.Tensor:
    r"""Log row weights of the Bayesian bootstrap (Rubin 1981): ``Dirichlet(1, ..., 1)`` per draw.

    Each draw's weights :math:`b_s \sim \mathrm{Dirichlet}(1_N)` are sampled as normalised
    standard exponentials, :math:`b_{sn} = e_{sn} / \sum_{n'} e_{sn'}`. Added to the front-door
    log-weights (``frontdoor_log_weights(..., row_log_weights=...)``) they carry the uncertainty of
    a finite sample into each posterior draw.

    Parameters
    ----------
    n_draws : int
        Number of draws S.
    n_rows : int
        Number of rows N.
    random_state : None, int or numpy RandomState/Generator

    Returns
    -------
    torch.Tensor of shape (n_draws, n_rows), float64
        Each row has ``logsumexp`` 0 (the weights sum to one).

    Examples
    --------
    >>> lb = bayesian_bootstrap_log_weights(2, 5, random_state=0)
    >>> lb.shape, torch.allclose(lb.exp().sum(dim=1), torch.ones(2, dtype=torch.float64))
    (torch.Size([2, 5]), True)
    """
    n_draws = check_positive_int(n_draws, "n_draws", minimum=1)
    n_rows = check_positive_int(n_rows, "n_rows", minimum=1)
    gen = torch_generator(random_state)
    e = torch.empty((n_draws, n_rows), dtype=torch.float64).exponential_(generator=gen)
    # exponential_ can return exactly 0 in float64 only with probability ~1e-308; clamp anyway so
    # a row never gets log-weight -inf by accident.
    log_e = torch.log(e.clamp_min(torch.finfo(torch.float64).tiny))
    return log_e - torch.logsumexp(log_e, dim=1, keepdim=True)


# ------------------------------------------------------------------------------------ diagnostics
def _psis(log_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``arviz.psislw`` over the last axis, imported lazily (arviz is slow to import)."""
    import arviz

    flat = log_weights.reshape(-1, log_weights.shape[-1])
    if flat.shape[-1] < 2:  # arviz indexes past the end of a single row: no tail to fit
        return log_weights.copy(), np.full(log_weights.shape[:-1], np.inf)
    # arviz's GPD fit averages a profile likelihood over a grid with 1 / Σ exp(Δ); for very heavy
    # tails some Δ overflow to inf, which correctly gives that grid point zero weight. numpy's
    # overflow RuntimeWarning there is noise, not a failure, so it is silenced here only.
    with np.errstate(over="ignore"):
        smoothed, khat = arviz.psislw(flat.copy())
    khat = np.where(_tail_is_tied(flat), np.inf, np.asarray(khat, dtype=np.float64))
    return smoothed.reshape(log_weights.shape), khat.reshape(log_weights.shape[:-1])


def _tail_is_tied(flat: np.ndarray) -> np.ndarray:
    """Rows whose PSIS tail (the largest ``min(N/5, 3 sqrt N)`` weights, arviz's choice) has
    fewer distinct values than half its length.

    The generalised Pareto fit assumes continuous weights. Ties come from repeated rows, or from
    a discrete or unaffected mechanism: for ``do(y = 1)`` every row with ``y_n = 1`` has weight
    exactly 1. On such a tail the fitted k-hat is an artefact (2.4 on a tail of one value
    repeated, beside an ESS/N of 0.96), so it is reported as not estimable.
    """
    n = flat.shape[-1]
    m = int(np.ceil(min(0.2 * n, 3.0 * np.sqrt(n))))
    tail = -np.sort(-flat, axis=-1)[:, :m]
    distinct = 1 + (np.diff(tail, axis=-1) != 0).sum(axis=-1)
    return distinct < 0.5 * m


def _kish_ess(log_weights: torch.Tensor) -> np.ndarray:
    """Kish's ESS of normalised log-weights over the last axis, in log space:
    1 / sum w^2 = exp(-logsumexp(2 log w))."""
    return torch.exp(-torch.logsumexp(2.0 * log_weights, dim=-1)).numpy()


def weight_diagnostics(log_weights, interventions=None, *, warn: bool = False) -> xr.Dataset:
    r"""Effective sample size and Pareto tail shape of every (draw, intervention) weight vector.

    For normalised weights :math:`w_{smn}` over :math:`N` rows:

    - ``ess``: Kish's effective sample size :math:`1 / \sum_n w_{smn}^2` (between 1 and N);
    - ``ess_fraction``: ``ess / N``;
    - ``khat``: the PSIS Pareto shape :math:`\hat k` of the weights' right tail
      (``arviz.psislw``; Vehtari et al. 2024). Above 0.7 the weighted estimates are unreliable.
      Where the tail cannot be fitted because at most 4 rows lie strictly above arviz's cutoff,
      or because it is mostly ties (fewer distinct values than half its length: repeated rows,
      a discrete ``z``, or the rows that keep weight 1 under their own ``y``), we report NaN
      ("not estimable") and leave the verdict to the ESS;
    - ``max_weight_ratio``: largest weight over the mean weight, :math:`N \max_n w_{smn}`.

    Parameters
    ----------
    log_weights : array-like or Tensor of shape (n_draws, n_values, n_samples)
        Front-door log-weights (normalised here if they are not).
    interventions : array-like of shape (n_values,) or (n_values, d_y), optional
        Coordinates of the ``intervention`` dimension; default ``0 .. n_values - 1``.
    warn : bool, default=False
        Call :func:`warn_if_degenerate` on the result.

    Returns
    -------
    xarray.Dataset
        Variables ``ess``, ``ess_fraction``, ``khat``, ``max_weight_ratio`` with dims
        ``("draw", "intervention")``; attribute ``n_samples``.

    Examples
    --------
    >>> import torch
    >>> lw = torch.zeros(1, 2, 100, dtype=torch.float64)
    >>> lw[0, 1, 0] = 10.0  # one row dominates the second intervention
    >>> diag = weight_diagnostics(lw, interventions=[1, 2])
    >>> diag["ess"].values.round(2)
    array([[100.  ,   1.01]])
    >>> diag["max_weight_ratio"].sel(intervention=2).values.round(1)
    array([99.6])
    """
    # Diagnostics are summaries: work on a detached CPU copy (arviz needs numpy).
    lw = normalize_log_weights(log_weights, interventions).detach().cpu()
    n_draws, n_values, n = lw.shape
    w = lw.exp()
    ess = _kish_ess(lw)
    max_ratio = (n * w.max(dim=-1).values).numpy()
    _, khat = _psis(lw.numpy())
    khat = np.where(np.isinf(khat), np.nan, khat)

    coords = {"draw": np.arange(n_draws)}
    if interventions is None:
        coords["intervention"] = np.arange(n_values)
    else:
        values = np.asarray(as_numpy(interventions, "interventions"))
        if values.shape[0] != n_values:
            raise ValueError(
                f"interventions must have {n_values} value(s), one per row of log_weights' "
                f"second axis; got {values.shape[0]}."
            )
        if values.ndim == 1:
            coords["intervention"] = values
        else:  # multi-dimensional y: index the dimension, keep the values as a coordinate
            coords["intervention"] = np.arange(n_values)
            coords["intervention_value"] = (("intervention", "y_dim"), values)
    dims = ("draw", "intervention")
    diag = xr.Dataset(
        {
            "ess": (dims, ess),
            "ess_fraction": (dims, ess / n),
            "khat": (dims, khat),
            "max_weight_ratio": (dims, max_ratio),
        },
        coords=coords,
        attrs={"n_samples": n},
    )
    if warn:
        warn_if_degenerate(diag, stacklevel=3)
    return diag


def warn_if_degenerate(
    diag: xr.Dataset,
    min_ess_fraction: float = MIN_ESS_FRACTION,
    max_khat: float = MAX_KHAT,
    stacklevel: int = 2,
) -> xr.DataArray:
    """Warn when some front-door weights are degenerate.

    A (draw, intervention) is flagged when ``ess_fraction < min_ess_fraction`` or
    ``khat > max_khat``. One :class:`~bayes_mech.exceptions.FrontDoorWeightWarning` lists every
    flagged intervention value with its worst ESS/N and k-hat over the draws and suggests remedies.

    Parameters
    ----------
    diag : xarray.Dataset
        Output of :func:`weight_diagnostics`.
    min_ess_fraction : float, default=0.01
    max_khat : float, default=0.7
    stacklevel : int, default=2
        Passed to :func:`warnings.warn`.

    Returns
    -------
    xarray.DataArray of bool with dims ("draw", "intervention")
        Which weight vectors were flagged.

    Examples
    --------
    >>> import torch
    >>> lw = torch.zeros(1, 1, 1000, dtype=torch.float64)
    >>> lw[0, 0, :3] = 20.0
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     flagged = warn_if_degenerate(weight_diagnostics(lw, interventions=[2.0]))
    >>> print(str(caught[0].message).splitlines()[1])
      y=2.0: ESS/N = 0.003 (ESS 3.0 of 1000 rows) in the worst draw, 1 of 1 draw(s) flagged
    """
    n = int(diag.attrs.get("n_samples", 0))
    khat = diag["khat"].fillna(-np.inf)  # NaN: not estimable, judged by the ESS alone
    flagged = (diag["ess_fraction"] < min_ess_fraction) | (khat > max_khat)
    if not bool(flagged.any()):
        return flagged
    lines = []
    n_draws = diag.sizes["draw"]
    for m in np.flatnonzero(flagged.any("draw").values):
        sub = diag.isel(intervention=m)
        label = diag["intervention"].values[m]
        if "intervention_value" in diag.coords:
            label = diag["intervention_value"].values[m].tolist()
        ess_frac = float(sub["ess_fraction"].min())
        ess = float(sub["ess"].min())
        line = f"  y={label}: ESS/N = {ess_frac:.3g} (ESS {ess:.1f} of {n} rows) in the worst draw"
        k = sub["khat"].values
        if np.any(np.isfinite(k)):
            k_max = float(np.nanmax(k))
            if k_max > max_khat:
                line += f", k-hat up to {k_max:.2f} (> {max_khat})"
        line += f", {int(flagged.isel(intervention=m).sum())} of {n_draws} draw(s) flagged"
        lines.append(line)
    message = (
        f"Front-door weights are degenerate (ESS/N < {min_ess_fraction} or k-hat > {max_khat}) "
        "for:\n" + "\n".join(lines) + "\nEstimates for these interventions rest on a few rows. "
        "Consider weight_smoothing='psis', more data, a coarser mechanism (fewer or coarser z), "
        "or intervention values nearer the centre of the observed y."
    )
    warnings.warn(message, FrontDoorWeightWarning, stacklevel=stacklevel)
    return flagged


def _unexplained_share(mechanism, y, z, covariates=None) -> float | None:
    """Largest share of a continuous ``z``'s variance that the mechanism leaves unexplained.

    Two independent draws ``z1, z2 ~ p(z | y_n)`` (posterior mean) per row estimate the
    residual variance as ``mean((z1 - z2)^2) / 2``, for any mechanism that can sample.
    """
    if mechanism is None or mechanism.z_kind == "discrete":
        return None
    z_arr = np.asarray(as_numpy(z, "z"), dtype=np.float64).reshape(len(z), -1)
    c_kw = {} if covariates is None else {"covariates": covariates}
    first, second = (
        np.asarray(mechanism.sample_z(y, random_state=seed, **c_kw)[0]).reshape(z_arr.shape)
        for seed in (0, 1)
    )
    total = z_arr.var(axis=0)
    resid = 0.5 * np.mean((first - second) ** 2, axis=0)
    return float(np.max(resid / np.where(total > 0, total, np.inf)))


def frontdoor_strength(
    log_weights, y, interventions, *, mechanism=None, z=None, warn: bool = True, covariates=None
) -> dict:
    r"""Does the mechanism carry information the front-door adjustment can use?

    Two inputs make the adjustment collapse to the naive predictor, and both pass every other
    check in silence:

    - ``z`` independent of ``y``: :math:`p(z \mid y_m) = p(z \mid y_n)`, every weight is 1/N
      and ``do(y_m)`` keeps all rows as they are; detected when the weights' Kish ESS/N is at
      least 0.99 for every intervention value (mean over draws);
    - ``z`` a copy of ``y`` (discrete ``y``): :math:`p(z_n \mid y_m) = 0` unless
      :math:`y_n = y_m`, so ``do(y_m)`` keeps exactly the rows observed with ``y_m``;
      detected when less than 1 % of the weight of every value lies on rows of other classes.
      For a continuous ``z`` (any ``y``), given the fitted ``mechanism`` and ``z``: the
      mechanism leaves less than 1 % of the variance of ``z`` unexplained (then the pairs
      ``(y', z)`` that ``do(y)`` needs never occur: positivity fails for every sampler).

    Parameters
    ----------
    log_weights : array-like or Tensor of shape (n_draws, n_values, n_samples)
        The mechanism's front-door log-weights (no bootstrap factor).
    y : array-like of shape (n_samples,)
    interventions : array-like of shape (n_values,)
    mechanism : Mechanism, optional
        The fitted mechanism, for the continuous-``z`` check (with ``z``).
    z : array-like of shape (n_samples,) or (n_samples, d_z), optional
    warn : bool, default=True
        Raise a :class:`~bayes_mech.FrontDoorWeightWarning` with the numbers when either holds.
    covariates : array-like of shape (n_samples, q), optional
        The covariates the mechanism was fitted with (then "determined" means by ``(y, c)``).

    Returns
    -------
    dict
        ``ess_fraction`` and ``other_class_mass`` per intervention value (lists; the latter
        None for a continuous ``y``), and ``verdict``: "informative", "z independent of y" or
        "z determined by y".

    Examples
    --------
    >>> import numpy as np, torch
    >>> y = np.repeat([1, 2], 50)
    >>> uniform = torch.zeros(1, 2, 100, dtype=torch.float64)
    >>> frontdoor_strength(uniform, y, [1, 2], warn=False)["verdict"]
    'z independent of y'
    >>> copy = torch.log(torch.tensor(np.stack([y == 1, y == 2])[None], dtype=torch.float64))
    >>> frontdoor_strength(copy, y, [1, 2], warn=False)["verdict"]
    'z determined by y'
    """
    lw = normalize_log_weights(log_weights).detach().cpu()
    w = lw.exp().numpy()  # (S, M, N)
    ess = _kish_ess(lw).mean(0) / w.shape[-1]  # ESS/N per intervention value, mean over draws
    y_arr = np.asarray(as_numpy(y, "y"))
    values = np.asarray(as_numpy(interventions, "interventions"))
    other = None
    if y_arr.ndim == 1 and values.ndim == 1 and _infer_y_kind(y_arr) == "discrete":
        other = np.array(
            [w[:, m, y_arr != values[m]].sum(-1).mean() for m in range(values.shape[0])]
        )
    verdict = "informative"
    if np.all(ess >= MAX_UNINFORMATIVE_ESS):
        verdict = "z independent of y"
        detail = (
            f"the weights are nearly uniform (ESS/N {ess.min():.3f}-{ess.max():.3f} >= "
            f"{MAX_UNINFORMATIVE_ESS} for every intervention value)"
        )
    elif other is not None and np.all(other < MIN_OTHER_CLASS_MASS):
        verdict = "z determined by y"
        detail = (
            f"each intervention value puts at most {other.max():.2g} of its weight on rows of "
            f"other classes (< {MIN_OTHER_CLASS_MASS}): there is no overlap"
        )
    elif (
        share := _unexplained_share(mechanism, y, z, covariates)
    ) is not None and share < MAX_RESIDUAL_SHARE:
        verdict = "z determined by y"
        detail = (
            f"the mechanism leaves {share:.2g} of the variance of z unexplained "
            f"(< {MAX_RESIDUAL_SHARE}): there is no overlap"
        )
    if warn and verdict != "informative":
        warnings.warn(
            f"The front-door adjustment collapses to the naive predictor: {verdict}; "
            f"{detail}. The deconfounded rows are the observed ones, so the learner cannot "
            "remove the confounding. Check that z is the mechanism between y and x.",
            FrontDoorWeightWarning,
            stacklevel=3,
        )
    return {
        "verdict": verdict,
        "ess_fraction": ess.tolist(),
        "other_class_mass": None if other is None else other.tolist(),
    }


def smooth_weights(log_weights, method: str = "psis") -> torch.Tensor:
    r"""Pareto-smoothed front-door log-weights (PSIS; Vehtari et al. 2024, via ``arviz.psislw``).

    In every (draw, intervention) row the largest :math:`M = \min(N/5, 3\sqrt N)` weights are
    replaced by the expected order statistics of a generalised Pareto distribution fitted to them,
    then truncated at the largest raw weight and renormalised. This trades a little bias for a
    large cut in variance when a few rows dominate. Rows whose tail cannot be fitted (at most 4
    rows above the cutoff) are returned unchanged, as arviz does.

    Parameters
    ----------
    log_weights : array-like or Tensor of shape (n_draws, n_values, n_samples)
    method : {"psis"}, default="psis"
        Smoothing method (only PSIS for now).

    Returns
    -------
    torch.Tensor of shape (n_draws, n_values, n_samples), float64
        Normalised smoothed log-weights.

    Examples
    --------
    >>> import torch
    >>> gen = torch.Generator().manual_seed(0)
    >>> lw = 3.0 * torch.randn(1, 1, 1000, generator=gen, dtype=torch.float64)
    >>> smoothed = smooth_weights(lw)
    >>> smoothed.shape, round(smoothed.exp().sum().item(), 12)
    (torch.Size([1, 1, 1000]), 1.0)
    """
    check_option(method, "method", ("psis",))
    lw = normalize_log_weights(log_weights)
    smoothed, _ = _psis(lw.detach().cpu().numpy())  # arviz works in numpy
    return normalize_log_weights(torch.from_numpy(smoothed)).to(lw.device)

"""Matplotlib figures for the front-door pipeline.

Every function returns the :class:`matplotlib.figure.Figure` it drew on and never calls
``plt.show``, so figures can be saved, embedded in notebooks or tested.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayes_mech.weights import MAX_KHAT, MIN_ESS_FRACTION

__all__ = ["plot_weight_diagnostics"]


def _intervention_labels(diag: xr.Dataset) -> list[str]:
    if "intervention_value" in diag.coords:
        labels = [str(np.round(v, 3).tolist()) for v in diag["intervention_value"].values]
    elif np.issubdtype(diag["intervention"].dtype, np.floating):
        values = diag["intervention"].values
        labels = [f"{v:.3g}" for v in values]
    else:
        labels = [str(v) for v in diag["intervention"].values]
    # A continuous grid has 20 values by default: label about ten of them so they stay legible.
    step = int(np.ceil(len(labels) / 10))
    return [lab if i % step == 0 else "" for i, lab in enumerate(labels)]


def plot_weight_diagnostics(diag: xr.Dataset, *, axes=None, figsize=(8.0, 3.2)):
    """ESS/N and PSIS k-hat of the front-door weights, per intervention, spread over draws.

    Left panel: Kish ESS/N on a log axis with the 1 % warning threshold; right panel: the Pareto
    shape k-hat with the 0.7 threshold. Each draw is a dot (jittered horizontally); a bar marks
    the median over draws. Intervention values whose k-hat could not be estimated (NaN) are left
    out of the right panel.

    Parameters
    ----------
    diag : xarray.Dataset
        Output of :func:`bayes_mech.weights.weight_diagnostics`.
    axes : sequence of two matplotlib Axes, optional
        Where to draw; default a new figure with two panels.
    figsize : tuple of float, default=(8.0, 3.2)
        Size of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import torch
    >>> from bayes_mech.weights import weight_diagnostics
    >>> lw = torch.randn(4, 3, 500, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> fig = plot_weight_diagnostics(weight_diagnostics(lw, interventions=[0.5, 1.0, 1.5]))
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['ESS / N', 'PSIS k-hat']
    """
    import matplotlib.pyplot as plt

    for name in ("ess_fraction", "khat"):
        if name not in diag:
            raise ValueError(
                f"diag must be the Dataset from weight_diagnostics with variable {name!r}; "
                f"got variables {list(diag.data_vars)}."
            )
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=figsize, layout="constrained")
    else:
        if len(axes) != 2:
            raise ValueError(f"axes must hold 2 matplotlib Axes; got {len(axes)}.")
        fig = axes[0].figure
    labels = _intervention_labels(diag)
    positions = np.arange(len(labels))
    n_draws = diag.sizes["draw"]
    # Deterministic jitter: the same diagnostics always give the same picture.
    jitter = np.linspace(-0.2, 0.2, n_draws) if n_draws > 1 else np.zeros(1)

    panels = [
        ("ess_fraction", "ESS / N", MIN_ESS_FRACTION, "1 % (warning)"),
        ("khat", "PSIS k-hat", MAX_KHAT, "0.7 (warning)"),
    ]
    for ax, (name, ylabel, threshold, threshold_label) in zip(axes, panels, strict=True):
        values = diag[name].transpose("draw", "intervention").values  # (S, M)
        for m in positions:
            col = values[:, m]
            ok = np.isfinite(col)
            ax.plot(m + jitter[ok], col[ok], "o", ms=3, alpha=0.6, color="C0")
            if ok.any():
                med = np.median(col[ok])
                ax.plot([m - 0.3, m + 0.3], [med, med], "-", color="C1", lw=2)
        ax.axhline(threshold, color="C3", ls="--", lw=1, label=threshold_label)
        ax.set_xticks(positions, labels, rotation=45 if len(labels) > 4 else 0)
        ax.set_xlabel("intervention value y")
        ax.set_ylabel(ylabel)
        ax.legend(loc="best", fontsize="small")
    axes[0].set_yscale("log")
    axes[0].set_title(f"Kish ESS / N (N = {diag.attrs.get('n_samples', '?')})")
    axes[1].set_title("Pareto tail shape")
    return fig

"""``resampler="auto"``: the weighted sampler or the g-formula, chosen from the fit's evidence.

The front-door weights are an importance sampler: where their Pareto tail is light (PSIS
:math:`\\hat k \\le 0.7`, Vehtari et al. 2024) and enough rows carry them (Kish ESS/N at least
1 %), the CW-GMM is consistent and needs no model of ``x`` given ``(y', z)``. Where the tail is
heavy, the weighted estimate's error no longer shrinks usefully with N and its bootstrap spread
understates it (the paper's A.2 with ``b = 1.5``: k-hat 1.0-1.3, the CW-GMM learns the naive
slope and its members agree); the g-formula forms no weights and does not collapse there.

The rule reads the diagnostics of the mechanism's own weights (no bootstrap factor), per
intervention value, taking the median over posterior draws so one unlucky draw does not decide.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayes_mech.weights import MAX_KHAT, MIN_ESS_FRACTION

__all__ = ["WEIGHTED", "choose_resampler"]

#: Resamplers that draw on the front-door weights (their degeneracy warning applies).
WEIGHTED = ("cwgmm", "bootstrap")


def weights_are_reliable(diag: xr.Dataset) -> tuple[bool, str]:
    """Whether every intervention's weights pass both PSIS checks; the reason in words."""
    khat = diag["khat"].median("draw").values
    ess = diag["ess_fraction"].median("draw").values
    worst_k = float(np.nanmax(khat)) if np.isfinite(khat).any() else float("nan")
    worst_ess = float(np.min(ess))
    heavy = np.isfinite(worst_k) and worst_k > MAX_KHAT
    thin = worst_ess < MIN_ESS_FRACTION
    numbers = f"max k-hat {worst_k:.2f}, min ESS/N {worst_ess:.3f} (medians over draws)"
    if heavy or thin:
        why = " and ".join(
            w
            for w, bad in ((f"k-hat > {MAX_KHAT}", heavy), (f"ESS/N < {MIN_ESS_FRACTION}", thin))
            if bad
        )
        return False, f"front-door weights unreliable ({why}): {numbers}"
    return True, f"front-door weights reliable: {numbers}"


def choose_resampler(option: str, diag: xr.Dataset, mechanism) -> tuple[str, str]:
    """The resampler to run for ``MechanismLearner(resampler=option)`` and why.

    Parameters
    ----------
    option : {"auto", "cwgmm", "bootstrap", "gformula"}
    diag : xarray.Dataset
        :func:`~bayes_mech.weight_diagnostics` of the mechanism's weights.
    mechanism : Mechanism
        Fitted (unused by the current rule; part of the signature for rules that need it).

    Returns
    -------
    name : str
    reason : str

    Examples
    --------
    >>> import torch
    >>> from bayes_mech import weight_diagnostics
    >>> flat = weight_diagnostics(torch.zeros(4, 2, 500, dtype=torch.float64))
    >>> choose_resampler("auto", flat, None)[0]
    'cwgmm'
    >>> lw = torch.zeros(4, 2, 500, dtype=torch.float64)
    >>> lw[:, 1, :3] = 12.0  # three rows carry the weights of the second value
    >>> name, reason = choose_resampler("auto", weight_diagnostics(lw), None)
    >>> name, reason.split(":")[0]
    ('gformula', 'front-door weights unreliable (ESS/N < 0.01)')
    """
    if option != "auto":
        return option, "chosen by the user"
    reliable, reason = weights_are_reliable(diag)
    return ("cwgmm" if reliable else "gformula"), reason

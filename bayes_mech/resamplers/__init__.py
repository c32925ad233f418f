"""Deconfounded-sample generators, one module each, behind one interface.

``MechanismLearner(resampler=NAME)`` looks ``NAME`` up in :data:`RESAMPLERS`; a new resampler is a
new module and one line here.

- ``"cwgmm"``: causally weighted Gaussian mixtures (paper Alg. 1-2), :mod:`.cwgmm`;
- ``"bootstrap"``: the causal bootstrap (the paper's CB), :mod:`.bootstrap`;
- ``"gformula"``: the front-door formula sampled ancestrally, no weights, :mod:`.gformula`;
- ``"auto"``: one of the weighted sampler or the g-formula, chosen from the fit, :mod:`.auto`.
"""

from bayes_mech.resamplers._base import FrontDoorProblem, Resampler, standardize_columns
from bayes_mech.resamplers._program import CWGMMProgram, MixtureBank
from bayes_mech.resamplers.bootstrap import BootstrapResampler, causal_bootstrap
from bayes_mech.resamplers.cwgmm import CWGMMFit, CWGMMResampler, cwgmm_resample
from bayes_mech.resamplers.gformula import GFormulaProgram, GFormulaResampler

from bayes_mech.resamplers.auto import AutoResampler  # isort: skip (imports the two above)

__all__ = [
    # the interface
    "FrontDoorProblem",
    "Resampler",
    "RESAMPLERS",
    # resamplers
    "AutoResampler",
    "BootstrapResampler",
    "CWGMMResampler",
    "GFormulaResampler",
    # functions and fitted pieces
    "causal_bootstrap",
    "cwgmm_resample",
    "CWGMMFit",
    "MixtureBank",
    "CWGMMProgram",
    "GFormulaProgram",
    "standardize_columns",
]

#: Option string of ``MechanismLearner(resampler=...)`` -> resampler class.
RESAMPLERS: dict[str, type[Resampler]] = {
    "auto": AutoResampler,
    "cwgmm": CWGMMResampler,
    "bootstrap": BootstrapResampler,
    "gformula": GFormulaResampler,
}

r"""``resampler="auto"``: the weighted sampler or the g-formula, chosen from the fit's evidence.

Each sampler rests on an assumption the data can speak to, at least in part:

- the CW-GMM (and the causal bootstrap) on the front-door **weights**: where their Pareto tail is
  light (PSIS :math:`\hat k \le 0.7`, Vehtari et al. 2024) and enough rows carry them (Kish
  ESS/N at least 1 %), the weighted estimate is consistent and needs no model of ``x`` given
  ``(y', z)``. With a heavier tail its error shrinks slowly or not at all, and its bootstrap
  spread understates it (the paper's A.2 at ``b = 1.5``: k-hat near or above 1, the CW-GMM
  learns the naive slope and its members agree);
- the g-formula on its **model** :math:`q(x \mid y', z)`, and above all on how ``q`` extrapolates:
  the pairs ``(y', z)`` that ``do(y)`` needs are, in the weights' heavy tail, exactly those the
  data hold few of. The data cannot check an extrapolation. A single Gaussian per cell
  (the weighted BIC's K = 1) is a linear-Gaussian regression of ``x`` on the continuous
  conditioning variables, whose extrapolation is its form; a mixture of several components
  extrapolates by the tails of its components, which nothing in the data fixes (on the paper's
  A.1 the mixture needs several components per class and the g-formula's band misses the
  estimand where the CW-GMM's is near nominal; ``benchmarks/results/calibration.md``).

The rule, with the diagnostics of the mechanism's own weights (no bootstrap factor; per
intervention value the median over draws, so one unlucky draw does not decide):

1. weights with finite variance (every value: k-hat <= 0.5 and ESS/N >= 0.01) -> ``"cwgmm"``:
   only then is the members' bootstrap over rows a consistent estimate of the weighted
   estimate's spread (the bootstrap of a mean with infinite variance is not: Athreya 1987,
   *Ann. Statist.* 15(2)); PSIS's 0.7 is where the estimate itself stops being usable;
2. otherwise, if the g-formula's K is 1 in every cell and ``q`` passes its calibration check
   (:meth:`GFormulaResampler._check_fit`, Bonferroni p >= 0.01) -> ``"gformula"``;
3. otherwise, if the weights are still usable (k-hat <= 0.7, ESS/N >= 0.01) -> ``"cwgmm"``;
4. otherwise ``"cwgmm"``, with a :class:`~bayes_mech.FrontDoorWeightWarning` saying that neither
   sampler's assumption holds and the members' spread may understate the error.

On the paper's A.2 with ``b = 0.4`` (k-hat 0.43-0.92 over the calibration runs) the CW-GMM's
spread-skill was 1.03-1.15 at N >= 2000 (spread too narrow) where the g-formula's was 0.83-0.98.
``benchmarks/results/calibration.md`` has the measurements behind it.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from bayes_mech.exceptions import FrontDoorWeightWarning
from bayes_mech.resamplers._base import FrontDoorProblem, MixtureResampler
from bayes_mech.resamplers.cwgmm import PATIENCE, CWGMMResampler
from bayes_mech.resamplers.gformula import GFormulaResampler
from bayes_mech.weights import MAX_KHAT, MIN_ESS_FRACTION, weight_diagnostics

__all__ = ["WEIGHTED", "AutoResampler", "weights_are_reliable"]

#: Resamplers that draw on the front-door weights (their degeneracy warning applies).
WEIGHTED = ("cwgmm", "bootstrap")
#: Bonferroni p-value below which the g-formula's q fails its calibration check.
MIN_CHECK_P = 0.01
#: PSIS k-hat up to which the weights have finite variance (Vehtari et al. 2024): the
#: members' bootstrap spread is then a consistent estimate of the weighted estimate's.
FINITE_VARIANCE_KHAT = 0.5


def weights_are_reliable(diag: xr.Dataset, max_khat: float = MAX_KHAT) -> tuple[bool, str]:
    """Whether every intervention's weights pass both PSIS checks (k-hat at most ``max_khat``,
    ESS/N at least 1 %), and the numbers in words.

    Examples
    --------
    >>> import torch
    >>> from bayes_mech import weight_diagnostics
    >>> weights_are_reliable(weight_diagnostics(torch.zeros(4, 2, 500, dtype=torch.float64)))[0]
    True
    >>> lw = torch.zeros(4, 2, 500, dtype=torch.float64)
    >>> lw[:, 1, :3] = 12.0  # three rows carry the weights of the second value
    >>> ok, why = weights_are_reliable(weight_diagnostics(lw))
    >>> ok, why.split(":")[0]
    (False, 'front-door weights unreliable (ESS/N < 0.01)')
    """
    worst_k, worst_ess, numbers = _worst_diagnostics(diag)
    heavy = bool(np.isfinite(worst_k) and worst_k > max_khat)
    thin = worst_ess < MIN_ESS_FRACTION
    if heavy or thin:
        failed = [f"k-hat > {max_khat}"] * heavy + [f"ESS/N < {MIN_ESS_FRACTION}"] * thin
        return False, f"front-door weights unreliable ({' and '.join(failed)}): {numbers}"
    return True, f"front-door weights reliable: {numbers}"


def _worst_diagnostics(diag: xr.Dataset) -> tuple[float, float, str]:
    """The largest k-hat and smallest ESS/N over intervention values (each the median over
    draws), and the two in words."""
    khat = diag["khat"].median("draw").values
    ess = diag["ess_fraction"].median("draw").values
    worst_k = float(np.nanmax(khat)) if np.isfinite(khat).any() else float("nan")
    worst_ess = float(np.min(ess))
    if np.isfinite(worst_k):
        tail = f"max k-hat {worst_k:.2f}"
    else:  # arviz fits no Pareto tail to tied largest weights (a discrete z): none is heavy
        tail = "k-hat undefined (the largest weights are tied, as with a discrete z: no tail)"
    numbers = f"{tail}, min ESS/N {worst_ess:.3f} (medians over draws)"
    return worst_k, worst_ess, numbers


class AutoResampler(MixtureResampler):
    """``resampler="auto"``: run the CW-GMM or the g-formula by the rule of this module.

    After :meth:`resample`, ``chosen_`` is the resampler that ran and ``reason_`` says why.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.linear_model import LinearRegression
    >>> import bayes_mech as bm
    >>> d = bm.datasets.make_frontdoor_regression(n_samples=1000, random_state=0)
    >>> learner = bm.MechanismLearner(LinearRegression(), n_draws=4, progress=False,
    ...                               random_state=0).fit(d.X, d.y, d.z)
    >>> learner.resampler_.name
    'gformula'
    >>> print(learner.resampler_reason_.split(":")[0])
    front-door weights unreliable (k-hat > 0.7)
    >>> print(learner.resampler_reason_.split("; ")[1][:44])
    the g-formula's q is one Gaussian per cell (
    """

    name = "auto"

    def resample(self, problem: FrontDoorProblem, n_samples: int, random_state=None) -> np.ndarray:
        if isinstance(random_state, np.random.RandomState):
            random_state = int(random_state.randint(0, 2**31 - 1))
        diag = problem.weight_diagnostics
        if diag is None:
            diag = weight_diagnostics(problem.log_weights)
        finite, _ = weights_are_reliable(diag, FINITE_VARIANCE_KHAT)
        reliable, reason = weights_are_reliable(diag)
        numbers = _worst_diagnostics(diag)[2]
        if finite:
            reason = (
                f"front-door weights reliable, with finite variance "
                f"(k-hat <= {FINITE_VARIANCE_KHAT}): {numbers}"
            )
            return self._run(
                CWGMMResampler(**self.mixture_params()), reason, problem, n_samples, random_state
            )
        if reliable:
            reason = (
                f"front-door weights usable but of infinite variance (k-hat > "
                f"{FINITE_VARIANCE_KHAT}), where the members' bootstrap spread understates "
                f"their error: {numbers}"
            )
        gformula = GFormulaResampler(**self.mixture_params())
        try:
            ks = (
                None
                if isinstance(self.n_components, dict)
                else gformula.select(problem, random_state, max_candidate=1 + PATIENCE)
            )
        except ValueError as exc:  # e.g. a (y', z) cell without rows: no g-formula at all
            ks, cannot = None, f"the g-formula cannot run: {exc}"
        else:
            cannot = (
                "n_components is a dict of K per intervention value, which only the CW-GMM uses"
            )
        if ks is not None and np.all(ks == 1):
            samples = gformula.resample(problem, n_samples, random_state)
            check = gformula.fit_check_
            if check["p_value"] >= MIN_CHECK_P:
                why = (
                    f"{reason}; the g-formula's q is one Gaussian per cell (linear-Gaussian "
                    f"x | y', z) and passes its calibration check (p = {check['p_value']:.2g})"
                )
                self.chosen_, self.reason_ = gformula, why
                return samples
            doubt = (
                f"the g-formula's q fails its calibration check (max |z| = "
                f"{check['max_abs_z']:.1f} at {check['worst']}, p = {check['p_value']:.2g})"
            )
        elif ks is None:
            doubt = cannot
        else:
            n_many = int(np.sum(ks > 1))
            where = "every cell" if n_many == ks.size else f"{n_many} of {ks.size} cells"
            doubt = (
                f"the g-formula's q needs more than one component in {where}, whose "
                "extrapolation to the (y', z) pairs that do(y) needs is not identified"
            )
        why = f"{reason}; {doubt}"
        if reliable:  # PSIS's own limit holds: the weighted estimate is usable, without warning
            return self._run(
                CWGMMResampler(**self.mixture_params()), why, problem, n_samples, random_state
            )
        warnings.warn(
            f"Neither sampler's assumption holds: {why}. Running the CW-GMM; the members' spread "
            "may understate the error (see the concepts page 'The g-formula sampler'). More data, "
            "a coarser mechanism, or an explicit resampler='gformula' with a model of x given "
            "(y', z) you trust are the remedies.",
            FrontDoorWeightWarning,
            stacklevel=4,
        )
        return self._run(
            CWGMMResampler(**self.mixture_params()), why, problem, n_samples, random_state
        )

    def _run(self, resampler, reason, problem, n_samples, random_state):
        self.chosen_, self.reason_ = resampler, reason
        return resampler.resample(problem, n_samples, random_state)

"""What a fitted learner says about itself: summary, ArviZ data, saving, interventional samples.

:class:`ReportingMixin` gives :class:`~bayes_mech.MechanismLearner` the methods that read a fit
without changing it.
"""

from __future__ import annotations

import numpy as np

from bayes_mech._labels import encode
from bayes_mech.exceptions import NotFittedError
from bayes_mech.resamplers._program import sample_do

__all__ = ["ReportingMixin"]


class ReportingMixin:
    """``summary``, ``to_inference_data``, ``save`` and ``sample_interventional`` of a fit."""

    def sample_interventional(self, value, n_samples: int = 1000, random_state=None) -> np.ndarray:
        """Rows of ``x ~ p(x | do(y = value))`` from the fitted sampler, shape (n_samples, d).

        Runs ``poutine.do(self.interventional_model_, {"y": value})``; draws are mixed uniformly
        over the posterior, so the spread includes the mechanism's uncertainty. ``value`` is in
        the user's labels; the Pyro program itself, like the mechanism, takes a label's index
        into ``y_encoding_`` when ``y`` held labels that are not numbers.
        """
        if getattr(self, "interventional_model_", None) is None:
            name = getattr(getattr(self, "resampler_", None), "name", None)
            if name == "gformula":  # only after a load: a fit always has its mechanism
                raise NotFittedError(
                    "this g-formula learner was loaded without its mechanism, which draws "
                    "z ~ p(z | y, theta_s): save stores a mechanism only when arrays rebuild it "
                    "(the built-in ones, unless fitted by SVI, from format version 3 on), not a "
                    "user's Mechanism class such as a PyroMechanism with its own model. It "
                    "predicts as saved; to sample p(x | do(y)), refit it on the data, or keep "
                    "the fitted object with pickle or joblib (from trusted sources only)."
                )
            raise NotFittedError(
                "sample_interventional needs a generative resampler ('cwgmm' or 'gformula'); "
                f"this learner ran {name!r}."
            )
        value = encode(value, getattr(self, "y_encoding_", None), "value")  # a label's index
        x = sample_do(self.interventional_model_, value, n_samples, random_state)
        return x[:, : self.n_features_in_]  # without the covariates some programs sample too

    def save(self, path):
        """Save the fitted learner to the directory ``path`` (no pickle); see :mod:`bayes_mech.io`.

        Returns
        -------
        pathlib.Path
        """
        from bayes_mech.io import save_learner

        return save_learner(self, path)

    def to_inference_data(self, X=None):
        """ArviZ ``InferenceData`` of the fit; see :func:`bayes_mech.learner_to_inference_data`."""
        from bayes_mech.inference_data import learner_to_inference_data

        return learner_to_inference_data(self, X)

    def summary(self) -> str:
        """What was fitted: N, M, S, the resampler and why, K, weight diagnostics, stage times."""
        if not hasattr(self, "estimators_"):
            return f"{type(self).__name__} (not fitted)"
        diag = self.weight_diagnostics_
        times = ", ".join(f"{k} {v:.2f}s" for k, v in self.fit_times_.items())
        khat = np.nanmax(diag["khat"].values) if np.isfinite(diag["khat"].values).any() else np.nan
        res = self.resampler_
        names = getattr(self, "covariate_names_", None)
        covariates = f"  covariates: {', '.join(names)} (conditional front door)\n" if names else ""
        reason = (getattr(self, "selection_", None) or {}).get("reason", "")  # older files: none
        selection = f"  selection: {reason}\n" if reason else ""
        return (
            f"{type(self).__name__}: N = {self.n_samples_fit_}, "
            f"M = {len(self.interventions_)} intervention values, "
            f"S = {len(self.estimators_)} draws\n"
            f"{covariates}"
            f"  resampler = {res.name} ({self.resampler_reason_})\n"
            f"{selection}"
            f"  {res.describe(self._value_labels())}\n"
            f"  min ESS/N = {float(diag['ess_fraction'].min()):.4f}, max k-hat = {khat:.2f}, "
            f"front door: {getattr(self, 'frontdoor_strength_', {}).get('verdict', '-')}\n"
            f"  fit time: {times}"
        )

    def _value_labels(self):
        return [np.array2string(np.asarray(v), precision=3) for v in self.interventions_]

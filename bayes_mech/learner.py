r"""``MechanismLearner``: Bayesian mechanism learning as a scikit-learn meta-estimator.

The pipeline (DESIGN.md, steps 1-5; Mao & Little 2024, Alg. 1-2):

1. fit a mechanism :math:`p(z \mid y, \theta)` and take S posterior draws :math:`\theta_s`
   (S = 1: the posterior mean, the paper's point method);
2. front-door log-weights :math:`\log w_{smn}` (paper eq. 2) for every draw and intervention value,
   times Bayesian-bootstrap row weights for the finite sample (Rubin 1981), with diagnostics;
3. a causally weighted Gaussian mixture (CW-GMM) per (s, m), all in one batched EM fit per K;
4. deconfounded samples: ``n_samples / M`` rows from each mixture, labelled ``y_m``;
5. one clone of the estimator per draw; predictions average the members.
"""

from __future__ import annotations

import numbers
import time
import warnings
from contextlib import contextmanager

import numpy as np
import torch
import xarray as xr
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names
from tqdm.auto import tqdm

from bayes_mech._ensemble import (
    empirical_mixture_interval,
    member_probabilities,
    normal_mixture_interval,
)
from bayes_mech._validation import (
    check_array,
    check_consistent_length,
    check_labels,
    check_option,
    check_positive_int,
    check_random_state,
)
from bayes_mech.exceptions import NotFittedError
from bayes_mech.mechanisms.resolve import resolve_mechanism
from bayes_mech.mixture import WeightedGaussianMixture
from bayes_mech.mixture._base import MixtureWarning
from bayes_mech.resamplers import RESAMPLERS, FrontDoorProblem
from bayes_mech.resamplers.auto import WEIGHTED
from bayes_mech.weights import (
    bayesian_bootstrap_log_weights,
    check_interventions,
    default_interventions,
    frontdoor_log_weights,
    frontdoor_strength,
    normalize_log_weights,
    smooth_weights,
    warn_if_degenerate,
    weight_diagnostics,
)

__all__ = ["MechanismLearner"]

#: The mixtures' diagonal regularisation: read from the mixture's own default, which the
#: resamplers use, so the warning below cannot drift from what is fitted.
REG_COVAR = WeightedGaussianMixture().reg_covar
#: Share of each member's deconfounded samples held out to estimate its residual variance.
HOLDOUT_FRACTION = 0.2


def _fit_member(estimator, X: np.ndarray, y: np.ndarray, seed: int):
    """Train one ensemble member (module level so that joblib can ship it to workers)."""
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=seed)
    return estimator.fit(X, y)


def _warn_if_constant_columns(Xf: np.ndarray, where: str) -> None:
    """Warn about constant columns: the mixtures' covariance floor gives them noise.

    The CW-GMMs are fitted in standardised coordinates, so any column that varies at all is
    represented whatever its units; a constant one cannot be standardised and gets the floor
    ``reg_covar = 1e-6``, i.e. noise of standard deviation ~1e-3 in the deconfounded samples.
    """
    low = np.flatnonzero(np.ptp(Xf, axis=0) == 0)
    if low.size:
        shown = ", ".join(f"column {j} (value {Xf[0, j]:.6g})" for j in low[:10].tolist())
        warnings.warn(
            f"{low.size} constant column(s) of {where}: {shown}. The mixtures' covariance floor "
            f"(reg_covar = {REG_COVAR:g}) gives the deconfounded samples noise of standard "
            f"deviation ~{REG_COVAR**0.5:.0e} there; drop constant columns.",
            MixtureWarning,
            stacklevel=4,
        )


def _wraps_classifier(learner) -> bool:
    """``available_if`` check; its AttributeError says why (``hasattr`` is still False)."""
    if not is_classifier(learner.estimator):
        raise AttributeError(
            "predict_proba is only available when estimator is a classifier; got "
            f"{type(learner.estimator).__name__}."
        )
    return True


def _wraps_regressor(learner) -> bool:
    if is_classifier(learner.estimator):
        raise AttributeError(
            "predict_interval is only available for regressors; estimator is the classifier "
            f"{type(learner.estimator).__name__}."
        )
    return True


class MechanismLearner(MetaEstimatorMixin, BaseEstimator):
    """Train any estimator on deconfounded front-door data, once per mechanism posterior draw.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Classifier (discrete ``y``) or regressor (continuous ``y``). Never modified; clones are
        trained.
    mechanism : "auto", str or Mechanism, default="auto"
        Model of ``p(z | y)``; see :func:`bayes_mech.mechanisms.resolve_mechanism`.
    n_draws : int, default=32
        Posterior draws S, one ensemble member each. ``1`` uses the posterior mean and no
        Bayesian bootstrap: the paper's point CW-GMM method.
    n_components : int, "bic", "aic", "dp" or dict, default="bic"
        Components K of every CW-GMM; chosen per intervention value by weighted BIC/AIC or a
        weighted DP mixture; a dict maps each intervention value to its K.
    interventions : array-like, optional
        Intervention values y_m; default the classes, or 20 values over the central 95 % of y.
    n_samples : int, optional
        Deconfounded rows per member, split equally over the intervention values (a randomised
        design); default N.
    covariance_type : {"full", "diag", "spherical", "tied"}, default="full"
    resampler : {"auto", "cwgmm", "gformula", "bootstrap"}, default="auto"
        How deconfounded rows are drawn: ``"cwgmm"`` from causally weighted mixtures (paper
        Alg. 1-2); ``"bootstrap"`` resamples rows with probabilities w (the paper's causal
        bootstrap, CB); ``"gformula"`` samples the front-door formula ancestrally without
        weights (:class:`~bayes_mech.resamplers.GFormulaResampler`); ``"auto"`` runs the
        CW-GMM where the weights pass PSIS's checks, the g-formula where they do not and its
        model of ``x | y', z`` is linear-Gaussian and calibrated, and otherwise the CW-GMM with
        a warning (:class:`~bayes_mech.resamplers.AutoResampler`). ``resampler_`` and
        ``resampler_reason_`` say which ran and why.
    weight_smoothing : None or "psis", default=None
        Pareto-smooth the log-weights before use.
    data_uncertainty : "bayesian_bootstrap" or None, default="bayesian_bootstrap"
        Multiply each draw's weights by Dirichlet(1, ..., 1) row weights (ignored when S = 1).
    feature_map : transformer with inverse_transform, optional
        Fit the mixtures in its space (e.g. ``PCA(32)`` for images); samples are mapped back.
    n_jobs : int, optional
        Members trained in parallel through joblib (any joblib backend).
    random_state : None, int or numpy RandomState/Generator
    progress : bool, default=True
        Show a tqdm progress bar.
    device : str or torch.device, optional
        Where the mixtures are fitted ("cuda" for a GPU).

    Attributes
    ----------
    mechanism_ : Mechanism
    draws_ : dict of str to Tensor
        Posterior draws, leading axis S.
    interventions_ : ndarray of shape (M,) or (M, d_y)
    log_weights_ : Tensor of shape (S, M, N)
    weight_diagnostics_ : xarray.Dataset
    n_components_ : ndarray of shape (M,)
    estimators_ : list of S fitted estimators
    classes_ : ndarray (classifiers)
    residuals_ : ndarray of shape (S, n_holdout) (regressors)
        Each member's residuals on held-out deconfounded rows of its own draw.
    residual_std_ : ndarray of shape (S,) (regressors)
        Their root mean square.
    interventional_model_ : callable Pyro program
    fit_times_ : dict of stage to seconds
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names of ``X`` when ``fit`` got a DataFrame with string column names; predicting
        on other names then raises, and on an array after a DataFrame warns (scikit-learn's
        rules).

    Examples
    --------
    >>> import warnings
    >>> from sklearn.linear_model import LogisticRegression
    >>> import bayes_mech as bm
    >>> train = bm.datasets.make_frontdoor_classification(n_samples=1000, random_state=0)
    >>> test = bm.datasets.make_frontdoor_classification(1000, confounded=False, random_state=1)
    >>> learner = bm.MechanismLearner(LogisticRegression(), n_draws=4, n_components=2,
    ...                               progress=False, random_state=0)
    >>> with warnings.catch_warnings():  # A.1's weights are thin; the diagnostics say how thin
    ...     warnings.simplefilter("ignore", bm.FrontDoorWeightWarning)
    ...     learner = learner.fit(train.X, train.y, train.z)
    >>> learner.predict_proba(test.X[:3]).shape, learner.predict_dist(test.X[:3]).dims
    ((3, 2), ('draw', 'sample', 'class'))
    >>> naive = LogisticRegression().fit(train.X, train.y).score(test.X, test.y)
    >>> bool(learner.score(test.X, test.y) > naive)
    True
    """

    def __init__(
        self,
        estimator,
        mechanism="auto",
        n_draws=32,
        n_components="bic",
        interventions=None,
        n_samples=None,
        covariance_type="full",
        resampler="auto",
        weight_smoothing=None,
        data_uncertainty="bayesian_bootstrap",
        feature_map=None,
        n_jobs=None,
        random_state=None,
        progress=True,
        device=None,
    ):
        self.estimator = estimator
        self.mechanism = mechanism
        self.n_draws = n_draws
        self.n_components = n_components
        self.interventions = interventions
        self.n_samples = n_samples
        self.covariance_type = covariance_type
        self.resampler = resampler
        self.weight_smoothing = weight_smoothing
        self.data_uncertainty = data_uncertainty
        self.feature_map = feature_map
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.progress = progress
        self.device = device

    def __sklearn_tags__(self):
        """The wrapped estimator's type: a learner of a classifier is a classifier."""
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        return tags

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        if not (hasattr(self.estimator, "fit") and hasattr(self.estimator, "predict")):
            raise TypeError(
                "estimator must be a scikit-learn estimator with fit and predict; got "
                f"{type(self.estimator).__name__}."
            )
        if not isinstance(self.progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True or False; got {self.progress!r}.")
        check_positive_int(self.n_draws, "n_draws", minimum=1)
        check_option(self.resampler, "resampler", tuple(RESAMPLERS))
        check_option(self.weight_smoothing, "weight_smoothing", (None, "psis"))
        check_option(self.data_uncertainty, "data_uncertainty", ("bayesian_bootstrap", None))
        check_option(self.covariance_type, "covariance_type", ("full", "diag", "spherical", "tied"))
        k = self.n_components
        if isinstance(k, str):
            check_option(k, "n_components", ("bic", "aic", "dp"))
        elif not isinstance(k, dict):
            check_positive_int(k, "n_components", minimum=1)
        if self.n_samples is not None:
            check_positive_int(self.n_samples, "n_samples", minimum=1)
        n_jobs = self.n_jobs
        if n_jobs is not None and (
            isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)
        ):
            raise TypeError(
                f"n_jobs must be None or a non-zero integer (joblib's); got {n_jobs!r}."
            )
        if n_jobs == 0:
            raise ValueError("n_jobs must be None or a non-zero integer (joblib's); got 0.")
        fm = self.feature_map
        if fm is not None and not all(
            hasattr(fm, a) for a in ("fit", "transform", "inverse_transform")
        ):
            raise TypeError(
                "feature_map must be a transformer with fit, transform and inverse_transform; "
                f"got {type(fm).__name__}."
            )

    def _check_data(self, X, y, z):
        X = check_array(X, "X", ndim=2, min_rows=2)
        y = check_labels(y, "y", min_rows=2)
        z = check_array(z, "z", ndim=2, allow_1d=True, min_rows=2, dtype=None)
        check_consistent_length(X=X, y=y, z=z)
        if np.unique(y).size < 2:
            raise ValueError(
                f"y must take at least 2 distinct values to learn from; got the single value "
                f"{y[0]!r} in all {y.size} rows."
            )
        if z.shape[1] == 1:
            z = z[:, 0]
        return X, y, z

    # ---------------------------------------------------------------------- fit
    @contextmanager
    def _stage(self, name: str, bar):
        bar.set_postfix_str(name)
        start = time.perf_counter()
        yield
        self.fit_times_[name] = time.perf_counter() - start
        bar.update(1)

    def fit(self, X, y, z):
        """Fit the mechanism, the front-door weights, the CW-GMMs and the ensemble.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Effect (the predictor's input).
        y : array-like of shape (n_samples,)
            Cause (the target).
        z : array-like of shape (n_samples,) or (n_samples, d_z)
            Mechanism.

        Returns
        -------
        self
        """
        self._check_params()
        _check_feature_names(self, X, reset=True)  # feature_names_in_ from a DataFrame
        X, y, z = self._check_data(X, y, z)
        rs = check_random_state(self.random_state)
        # Draw every seed up front, in a fixed order, so each stage is reproducible on its own.
        seeds = dict(
            zip(
                ("mechanism", "draws", "bootstrap", "k", "gmm", "sample"),
                rs.randint(0, 2**31 - 1, size=6).tolist(),
                strict=True,
            )
        )
        member_seeds = rs.randint(0, 2**31 - 1, size=self.n_draws).tolist()
        self.fit_times_ = {}
        S, N = self.n_draws, X.shape[0]
        bar = tqdm(total=5, desc="MechanismLearner", disable=not self.progress, leave=False)
        try:
            with self._stage("mechanism", bar):
                self._fit_mechanism(y, z, seeds)
            with self._stage("weights", bar):
                row_lw = self._row_log_weights(S, N, seeds["bootstrap"])
                problem = self._front_door_problem(X, y, z, row_lw)
            name = self.resampler
            with self._stage("feature_map", bar):
                if name in WEIGHTED:  # "auto" says itself what it found
                    warn_if_degenerate(self.weight_diagnostics_, stacklevel=4)
                resampler = RESAMPLERS[name](**self._resampler_params(name))
                problem.X = self._map_features(X, name)
            M = self.interventions_.shape[0]
            per_value = max(1, (self.n_samples or N) // M)
            n_holdout = (
                max(2, int(np.ceil(per_value * HOLDOUT_FRACTION))) if self._is_regressor else 0
            )
            with self._stage(name, bar):
                samples = resampler.resample(
                    problem, per_value + n_holdout, random_state=seeds["gmm"]
                )
            self._store_resampler(resampler, problem)
            if self.feature_map_ is not None:
                flat = self.feature_map_.inverse_transform(samples.reshape(-1, samples.shape[-1]))
                samples = np.asarray(flat, dtype=np.float64).reshape(*samples.shape[:3], -1)
            with self._stage("ensemble", bar):
                self._fit_ensemble(samples, per_value, member_seeds)
        finally:
            bar.close()
        self.n_features_in_ = X.shape[1]
        self.n_samples_fit_ = N
        return self

    def _fit_mechanism(self, y, z, seeds) -> None:
        self.mechanism_ = resolve_mechanism(y, z, self.mechanism)
        if not hasattr(self.mechanism_, "y_kind_"):
            self.mechanism_.fit(y, z, random_state=seeds["mechanism"])
        self.y_kind_ = self.mechanism_.y_kind_
        self._check_task()
        if self.interventions is None:
            self.interventions_ = default_interventions(y, y_kind=self.y_kind_)
        else:
            self.interventions_ = check_interventions(y, self.interventions, self.y_kind_)
        if self.n_draws == 1:
            self.draws_ = self.mechanism_.posterior_mean()
        else:
            self.draws_ = self.mechanism_.sample_posterior(
                self.n_draws, random_state=seeds["draws"]
            )

    def _row_log_weights(self, S: int, N: int, seed: int) -> torch.Tensor:
        """Each draw's log row weights: Bayesian bootstrap (S > 1), else uniform."""
        if S > 1 and self.data_uncertainty == "bayesian_bootstrap":
            return bayesian_bootstrap_log_weights(S, N, random_state=seed)
        return torch.full((S, N), -float(np.log(N)), dtype=torch.float64)

    def _front_door_problem(self, X, y, z, row_lw) -> FrontDoorProblem:
        """Front-door weights with their diagnostics, and the problem every resampler sees.

        The diagnostics describe the mechanism's weights alone, without the bootstrap factor,
        so the 1 % ESS threshold means the same for S = 1 and S > 1.
        """
        mech_lw = frontdoor_log_weights(self.mechanism_, y, z, self.interventions_, self.draws_)
        self.weight_diagnostics_ = weight_diagnostics(mech_lw, self._intervention_coords())
        self.frontdoor_strength_ = frontdoor_strength(mech_lw, y, self.interventions_)
        lw = normalize_log_weights(mech_lw + row_lw.unsqueeze(1))
        if self.weight_smoothing == "psis":
            lw = smooth_weights(lw, method="psis")
        self.log_weights_ = lw
        return FrontDoorProblem(
            X, y, z, self.mechanism_, self.draws_, self.interventions_, lw, row_lw,
            self.weight_diagnostics_,
        )  # fmt: skip

    def _resampler_params(self, name: str) -> dict:
        if name == "bootstrap":
            return {}
        return {
            "n_components": self.n_components,
            "covariance_type": self.covariance_type,
            "device": self.device,
        }

    def _map_features(self, X: np.ndarray, name: str) -> np.ndarray:
        """The coordinates the resampler models: ``feature_map``'s, or X (the bootstrap's rows)."""
        self.feature_map_ = None
        if name == "bootstrap":
            return X
        if self.feature_map is None:
            _warn_if_constant_columns(X, "X")
            return X
        self.feature_map_ = clone(self.feature_map).fit(X)
        Xf = np.asarray(self.feature_map_.transform(X), dtype=np.float64)
        _warn_if_constant_columns(Xf, "feature_map space")
        return Xf

    def _store_resampler(self, resampler, problem: FrontDoorProblem) -> None:
        self.resampler_reason_ = getattr(resampler, "reason_", "chosen by the user")
        resampler = getattr(resampler, "chosen_", resampler)
        self.resampler_ = resampler
        self.n_components_ = resampler.n_components_
        self.mixtures_ = getattr(resampler, "mixtures_", None)
        self.mixture_fit_ = getattr(resampler, "fit_", None)
        kwargs = {}
        if resampler.name == "gformula":
            kwargs = {"mechanism": self.mechanism_, "draws": self.draws_}
        self.interventional_model_ = resampler.interventional_model(
            self.interventions_, self.feature_map_, **kwargs
        )

    @property
    def _is_regressor(self) -> bool:
        return not is_classifier(self.estimator)

    def _check_task(self) -> None:
        if self.y_kind_ == "discrete" and self._is_regressor:
            return  # a regressor on class labels is legal (e.g. ordinal y); nothing to check
        if self.y_kind_ == "continuous" and is_classifier(self.estimator):
            raise ValueError(
                "estimator is a classifier but y is continuous; pass a regressor, or integer "
                "class labels as y."
            )

    def _intervention_coords(self):
        values = self.interventions_
        return values if values.ndim == 1 else None

    def _fit_ensemble(self, samples: np.ndarray, per_value: int, member_seeds) -> None:
        """Train one clone per draw on its deconfounded rows (joblib, any backend)."""
        S, M = samples.shape[:2]
        labels = np.asarray(self.interventions_)
        train_X = samples[:, :, :per_value].reshape(S, M * per_value, -1)
        train_y = np.repeat(labels, per_value, axis=0)
        jobs = (
            delayed(_fit_member)(clone(self.estimator), train_X[s], train_y, member_seeds[s])
            for s in range(S)
        )
        self.estimators_ = list(Parallel(n_jobs=self.n_jobs)(jobs))
        if self._is_regressor:
            hold_X = samples[:, :, per_value:].reshape(S, -1, samples.shape[-1])
            hold_y = np.repeat(labels, samples.shape[2] - per_value, axis=0)
            resid = [
                hold_y - np.asarray(est.predict(hold_X[s]), dtype=np.float64).reshape(hold_y.shape)
                for s, est in enumerate(self.estimators_)
            ]
            self.residuals_ = np.stack(resid)
            self.residual_std_ = np.sqrt((self.residuals_**2).mean(axis=1))
        else:
            self.classes_ = np.unique(train_y)

    # ------------------------------------------------------------------ predict
    def _check_fitted_X(self, X) -> np.ndarray:
        if not hasattr(self, "estimators_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X, y, z) first."
            )
        _check_feature_names(self, X, reset=False)  # scikit-learn's warning or error on names
        X = check_array(X, "X", ndim=2)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} was fitted with "
                f"{self.n_features_in_} features."
            )
        return X

    def predict_dist(self, X) -> xr.DataArray:
        """Every member's prediction.

        Returns
        -------
        xarray.DataArray
            Dims ``(draw, sample, class)`` with class probabilities for classifiers, or
            ``(draw, sample)`` with predicted values for regressors.
        """
        X = self._check_fitted_X(X)
        S = len(self.estimators_)
        if self._is_regressor:
            values = np.stack(
                [np.asarray(e.predict(X), dtype=np.float64).reshape(-1) for e in self.estimators_]
            )
            return xr.DataArray(
                values, dims=("draw", "sample"), coords={"draw": np.arange(S)}, name="prediction"
            )
        probs = np.stack([member_probabilities(e, X, self.classes_) for e in self.estimators_])
        return xr.DataArray(
            probs,
            dims=("draw", "sample", "class"),
            coords={"draw": np.arange(S), "class": self.classes_},
            name="probability",
        )

    @available_if(_wraps_classifier)
    def predict_proba(self, X) -> np.ndarray:
        """Ensemble-mean class probabilities, shape (n_samples, n_classes).

        Present only when ``estimator`` is a classifier (``hasattr`` says so, as scikit-learn's
        meta-estimators do).
        """
        return self.predict_dist(X).mean("draw").values

    def predict(self, X) -> np.ndarray:
        """The most probable class (classifiers) or the ensemble-mean prediction (regressors)."""
        dist_ = self.predict_dist(X)
        if self._is_regressor:
            return dist_.mean("draw").values
        return self.classes_[dist_.mean("draw").values.argmax(axis=1)]

    def score(self, X, y) -> float:
        """Accuracy (classifiers) or R² (regressors) of :meth:`predict` on ``(X, y)``."""
        from sklearn.metrics import accuracy_score, r2_score

        y = check_labels(y, "y")
        metric = r2_score if self._is_regressor else accuracy_score
        return float(metric(y, self.predict(X)))

    @available_if(_wraps_regressor)
    def predict_interval(self, X, alpha: float = 0.1) -> np.ndarray:
        r"""Central ``1 - alpha`` predictive interval of a regressor ensemble, shape (n, 2).

        The predictive distribution is the equal mixture over members of :math:`f_s(x) + r`,
        :math:`r` drawn from member s's residuals on held-out deconfounded rows of its own draw
        (``residuals_``; empirical, no Gaussian assumed); its quantiles are found by bisection.
        Models saved by bayes-mech before format 2 kept only ``residual_std_`` and use
        :math:`\mathcal N(f_s(x), \sigma_s^2)` instead.
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1); got {alpha}.")
        means = self.predict_dist(X).values.T  # (n, S)
        if getattr(self, "residuals_", None) is None:
            return normal_mixture_interval(means, self.residual_std_, alpha)
        return empirical_mixture_interval(means, self.residuals_, alpha)

    def sample_interventional(self, value, n_samples: int = 1000, random_state=None) -> np.ndarray:
        """Rows of ``x ~ p(x | do(y = value))`` from the fitted sampler, shape (n_samples, d).

        Runs ``poutine.do(self.interventional_model_, {"y": value})``; draws are mixed uniformly
        over the posterior, so the spread includes the mechanism's uncertainty.
        """
        from pyro import poutine

        if getattr(self, "interventional_model_", None) is None:
            raise NotFittedError(
                "sample_interventional needs a generative resampler ('cwgmm' or 'gformula'); "
                f"this learner ran {getattr(self, 'resampler_', None) and self.resampler_.name!r}"
                " (a loaded g-formula learner cannot sample: its mechanism is not saved)."
            )
        n_samples = check_positive_int(n_samples, "n_samples")
        value = torch.as_tensor(value, dtype=torch.float64)
        model = poutine.do(self.interventional_model_, data={"y": value})
        trace = _seeded_trace(model, n_samples, random_state)
        return trace.nodes["x"]["value"].detach().cpu().numpy()

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
        return (
            f"{type(self).__name__}: N = {self.n_samples_fit_}, "
            f"M = {len(self.interventions_)} intervention values, "
            f"S = {len(self.estimators_)} draws\n"
            f"  resampler = {res.name} ({self.resampler_reason_})\n"
            f"  {res.describe(self._value_labels())}\n"
            f"  min ESS/N = {float(diag['ess_fraction'].min()):.4f}, max k-hat = {khat:.2f}, "
            f"front door: {getattr(self, 'frontdoor_strength_', {}).get('verdict', '-')}\n"
            f"  fit time: {times}"
        )

    def _value_labels(self):
        return [np.array2string(np.asarray(v), precision=3) for v in self.interventions_]


def _seeded_trace(model, n_samples, random_state):
    from pyro import poutine

    from bayes_mech.datasets._base import _seeded

    with _seeded(random_state):
        return poutine.trace(model).get_trace(n_samples)

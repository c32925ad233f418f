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

import time
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.utils.validation import _check_feature_names
from tqdm.auto import tqdm

from bayes_mech._auto_selection import is_auto, resolve_selection
from bayes_mech._covariates import CovariatesMixin
from bayes_mech._ensemble import EnsemblePredictorMixin
from bayes_mech._features import FeatureSpaceMixin
from bayes_mech._labels import LabelsMixin
from bayes_mech._learner_checks import LearnerChecksMixin
from bayes_mech._reporting import ReportingMixin
from bayes_mech._threads import one_thread
from bayes_mech._validation import (
    check_random_state,
)
from bayes_mech.mechanisms.resolve import resolve_mechanism
from bayes_mech.resamplers import RESAMPLERS, FrontDoorProblem
from bayes_mech.resamplers._base import MixtureResampler
from bayes_mech.resamplers.auto import WEIGHTED
from bayes_mech.weights import (
    bayesian_bootstrap_log_weights,
    frontdoor_log_weights,
    frontdoor_strength,
    normalize_log_weights,
    smooth_weights,
    warn_if_degenerate,
    weight_diagnostics,
)

__all__ = ["MechanismLearner"]

#: Below this many elements in S x N x d the weights and resampling stages run on one thread per
#: pool (bayes_mech._threads). On the project's 2-core AMD EPYC with the other core busy, A.1's
#: weights stage (N = 2000, S = 32) took 0.5-1.5 s on two threads and 0.1 s on one.
SMALL_STAGE_WORK = 2**22


class MechanismLearner(
    LearnerChecksMixin,
    CovariatesMixin,
    LabelsMixin,
    FeatureSpaceMixin,
    EnsemblePredictorMixin,
    ReportingMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
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
    n_components : int, "auto", "bic", "aic", "bic_eff", "cv", "dp" or dict, default="auto"
        Components K of every CW-GMM; chosen per posterior draw and intervention value (each on
        its own weights). ``"auto"``: ``"bic"`` where the weighted BIC can identify K > 1 (a
        two-component full-covariance mixture has fewer free parameters than the weights'
        effective rows), ``"bic_eff"`` where it cannot (many dimensions next to N_eff;
        ``selection_`` says which and why, see ``bayes_mech._auto_selection``). Otherwise by
        weighted BIC/AIC, by the weighted BIC with parameters counted by
        their rows' weights (``"bic_eff"``: a component on a few heavy rows pays for them), by
        the weighted held-out likelihood (``"cv"``:
        5 folds, one-standard-error rule; six fits per candidate K, and no parameter count, so
        it can find K > 1 with few effective rows in many dimensions) or a weighted DP mixture; a
        dict maps each intervention value to its K.
    interventions : array-like, optional
        Intervention values y_m; default the classes, or 20 values over the central 95 % of y.
    n_samples : int, optional
        Deconfounded rows per member, split equally over the intervention values (a randomised
        design); default N.
    covariance_type : {"full", "diag", "spherical", "tied", "auto"} or list, default="auto"
        Covariance structure of the mixtures. ``"auto"``: full where the weighted BIC can
        identify K > 1 with full covariances (the test of ``n_components="auto"``; a scan of the
        structures gained nothing there on the benchmarks and took about twice the fit time),
        otherwise as the list of all four. A list (``["diag", "spherical"]``, or all four to
        choose in any dimension): chosen among those with K, per posterior draw and
        intervention value, by the weighted criterion (``"bic"``/``"aic"``/``"bic_eff"``/
        ``"cv"``): the first four draws of each value scan all the listed structures, its other
        draws only the ones those chose, at K within one of theirs. At a fixed or DP-chosen K
        the structure is chosen by the weighted BIC at that K. In many dimensions with few effective
        rows a diagonal or spherical mixture identifies K > 1 where a full one cannot. The
        g-formula's ``q`` stays full.
    resampler : {"auto", "cwgmm", "gformula", "bootstrap"}, default="auto"
        How deconfounded rows are drawn: ``"cwgmm"`` from causally weighted mixtures (paper
        Alg. 1-2); ``"bootstrap"`` resamples rows with probabilities w (the paper's causal
        bootstrap, CB); ``"gformula"`` samples the front-door formula ancestrally without
        weights (:class:`~bayes_mech.resamplers.GFormulaResampler`); ``"auto"`` runs the
        CW-GMM where the weights pass PSIS's checks, the g-formula where they do not and its
        model of ``x | y', z`` is linear-Gaussian and calibrated, and otherwise the CW-GMM with
        a warning (:class:`~bayes_mech.resamplers.AutoResampler`). ``resampler_`` and
        ``resampler_reason_`` say which ran and why.
    partial_pooling : bool or "auto", default="auto"
        CW-GMM and discrete ``y`` only (``True`` with a continuous ``y`` is refused; ``"auto"``
        pools a discrete ``y`` where the weighted BIC cannot identify K > 1 with full
        covariances, the test of ``n_components="auto"``, and nothing else): shrink every component
        mean towards the same component's mean under the draw's other intervention values by
        empirical Bayes, per feature, so that features the intervention does not move share
        one mean estimated from all values' rows instead of each value's own noisy one, which
        members would learn as a causal difference (:mod:`bayes_mech.resamplers._pooling`;
        values with the same K in a draw). ``resampler_.pooled_share_draws_``
        says how much was pooled.
    weight_smoothing : None or "psis", default=None
        Pareto-smooth the log-weights before use.
    data_uncertainty : "bayesian_bootstrap" or None, default="bayesian_bootstrap"
        Multiply each draw's weights by Dirichlet(1, ..., 1) row weights (ignored when S = 1).
    feature_map : transformer with inverse_transform or "pca", optional
        Fit the mixtures in its space (e.g. ``PCA(32)`` for images); samples are mapped back.
        ``"pca"``: principal components explaining 95 % of the variance, at most as many as
        the front-door weights' effective rows identify (see ``bayes_mech._features``).
    covariates_as_features : bool, default=False
        With ``fit(..., covariates=c)``: whether the members read ``c`` too. False: they read
        ``x`` and estimate ``p(y | x)`` under ``do(y)`` with ``c`` at its observed law. True:
        the samplers draw ``(x, c)`` jointly under ``do(y)`` and the members estimate
        ``p(y | x, c)`` there (sharper when ``c`` shifts ``x``); ``predict*`` and ``score`` then
        take ``covariates=`` (encoded as in fit), and the CW-GMM's Pyro program samples ``c``
        after ``x`` (``sample_interventional`` returns ``x`` only).
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
        In the user's labels (as ``classes_``).
    y_encoding_, z_encoding_ : ndarray or None
        The distinct labels of ``y`` (``z``) when they are not numbers (words, pandas
        categoricals); the mechanism, the weights and the samplers see their indices, so
        ``mechanism_`` and ``interventional_model_`` take a label's index. None for numbers.
    log_weights_ : Tensor of shape (S, M, N)
        Front-door log-weights with the Bayesian-bootstrap factor.
    weight_diagnostics_ : xarray.Dataset
        ESS, k-hat, ... of the mechanism's weights alone (no bootstrap factor).
    frontdoor_strength_ : dict
        :func:`~bayes_mech.weights.frontdoor_strength` of the mechanism's weights.
    resampler_ : Resampler
        The sampler that drew the rows (``"auto"`` resolved); ``resampler_reason_``: why.
    n_components_ : ndarray of shape (M,) or (C,)
        K per intervention value (CW-GMM: the most frequent over draws, each draw's in
        ``resampler_.n_components_draws_``) or per g-formula cell; None for the bootstrap.
    covariance_type_ : ndarray of str of shape (M,) or None
        The CW-GMMs' covariance structure per intervention value (most frequent over draws;
        each draw's in ``resampler_.covariance_type_draws_``); None for the other samplers.
    selection_ : dict
        The ``n_components``, ``covariance_type`` and ``partial_pooling`` the fit ran with
        (``"auto"`` options resolved) and ``reason``: why, with the numbers.
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
        n_components="auto",
        interventions=None,
        n_samples=None,
        covariance_type="auto",
        resampler="auto",
        partial_pooling="auto",
        weight_smoothing=None,
        data_uncertainty="bayesian_bootstrap",
        feature_map=None,
        covariates_as_features=False,
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
        self.partial_pooling = partial_pooling
        self.weight_smoothing = weight_smoothing
        self.data_uncertainty = data_uncertainty
        self.feature_map = feature_map
        self.covariates_as_features = covariates_as_features
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.progress = progress
        self.device = device

    # ---------------------------------------------------------------------- fit
    @contextmanager
    def _stage(self, name: str, bar):
        bar.set_postfix_str(name)
        start = time.perf_counter()
        yield
        self.fit_times_[name] = time.perf_counter() - start
        bar.update(1)

    def fit(self, X, y, z, covariates=None):
        """Fit the mechanism, the front-door weights, the CW-GMMs and the ensemble.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Effect (the predictor's input).
        y : array-like of shape (n_samples,)
            Cause (the target): numbers, or class labels of any type (str, bool, pandas
            categorical), which predictions, ``classes_`` and ``interventions_`` keep.
        z : array-like of shape (n_samples,) or (n_samples, d_z)
            Mechanism; a single column of labels (words) is categorical.
        covariates : DataFrame or array-like of shape (n_samples, q), optional
            Observed covariates ``c`` on the back-door paths (they may affect ``y``, ``z`` and
            ``x``): the conditional front door, with weights ``p(z | y, c) / p(z | y_n, c)``
            (``bayes_mech._covariates``). Text and categorical columns are one-hot encoded.
            The members still read ``x`` only: they estimate ``p(y | x)`` under
            ``do(y)`` with ``c`` at its observed distribution.

        Returns
        -------
        self
        """
        self._check_params()
        _check_feature_names(self, X, reset=True)  # feature_names_in_ from a DataFrame
        X, y, z = self._check_data(X, y, z)
        C = self._encode_covariates(covariates, y)
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
                self._fit_mechanism(y, z, seeds, C)
            # Small problems: the stages' short ops on one thread per pool (bayes_mech._threads);
            # the mixtures decide for themselves inside larger ones.
            small = S * N * max(1, X.shape[1]) < SMALL_STAGE_WORK
            with self._stage("weights", bar), one_thread(small, user_api="blas"):
                row_lw = self._row_log_weights(S, N, seeds["bootstrap"])
                problem = self._front_door_problem(X, y, z, row_lw, C)
            name = self.resampler
            with self._stage("feature_map", bar):
                if name in WEIGHTED:  # "auto" says itself what it found
                    warn_if_degenerate(self.weight_diagnostics_, stacklevel=4)
                problem.X = self._map_features(X, name)  # also resolves selection_
                resampler = RESAMPLERS[name](**self._resampler_params(name))
            per_value, n_holdout = self._sample_sizes(N)
            with self._stage(name, bar), one_thread(small, user_api="blas"):
                samples = resampler.resample(
                    problem, per_value + n_holdout, random_state=seeds["gmm"]
                )
            self._store_resampler(resampler, problem)
            samples = self._unmap_features(samples)
            with self._stage("ensemble", bar):
                self._fit_ensemble(samples, per_value, member_seeds)
        finally:
            bar.close()
        self.n_features_in_ = X.shape[1]
        self.n_samples_fit_ = N
        return self

    def _fit_mechanism(self, y, z, seeds, C=None) -> None:
        self.mechanism_ = resolve_mechanism(y, z, self.mechanism, covariates=C is not None)
        if C is not None and not self.mechanism_.supports_covariates:
            raise TypeError(
                f"mechanism {type(self.mechanism_).__name__} models p(z | y) without covariates;"
                " with covariates use mechanism='auto', 'conditional-gaussian' (discrete y) or "
                "'linear-gaussian' (continuous y), or a Mechanism with supports_covariates."
            )
        if not hasattr(self.mechanism_, "y_kind_"):
            c_kw = {} if C is None else {"covariates": C}  # user mechanisms may predate c
            self.mechanism_.fit(y, z, random_state=seeds["mechanism"], **c_kw)
        self.y_kind_ = self.mechanism_.y_kind_
        self._check_task()
        self._set_interventions(y)
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

    def _front_door_problem(self, X, y, z, row_lw, C=None) -> FrontDoorProblem:
        """Front-door weights with their diagnostics, and the problem every resampler sees.

        The diagnostics describe the mechanism's weights alone, without the bootstrap factor,
        so the 1 % ESS threshold means the same for S = 1 and S > 1.
        """
        mech, values = self.mechanism_, self._intervention_codes()
        mech_lw = frontdoor_log_weights(mech, y, z, values, self.draws_, covariates=C)
        self.weight_diagnostics_ = weight_diagnostics(mech_lw, self._intervention_coords())
        self.frontdoor_strength_ = frontdoor_strength(
            mech_lw, y, values, mechanism=mech, z=z, covariates=C
        )
        lw = normalize_log_weights(mech_lw + row_lw.unsqueeze(1))
        if self.weight_smoothing == "psis":
            lw = smooth_weights(lw, method="psis")
        self.log_weights_ = lw
        return FrontDoorProblem(
            X, y, z, self.mechanism_, self.draws_, values, lw, row_lw,
            self.weight_diagnostics_, covariates=C,
            covariates_as_features=self.covariates_as_features,
        )  # fmt: skip

    def _resampler_params(self, name: str) -> dict:
        if not issubclass(RESAMPLERS[name], MixtureResampler):
            return {}  # the causal bootstrap resamples rows: there are no mixtures to shape
        params = {"device": self.device}
        for key in ("n_components", "covariance_type", "partial_pooling"):
            given = getattr(self, key)  # selection_ holds it in JSON's types: only "auto" from it
            params[key] = self.selection_[key] if is_auto(given) else given
        return params

    def _resolve_selection(self, n_features: int, n_eff: float) -> dict:
        """``selection_``: the ``"auto"`` options made concrete for the modelled dimension and
        the weights' effective rows (:func:`~bayes_mech._auto_selection.resolve_selection`)."""
        self.selection_ = resolve_selection(
            self.n_components, self.covariance_type, self.partial_pooling, n_features, n_eff,
            discrete=self.y_kind_ == "discrete",
        )  # fmt: skip
        return self.selection_

    def _store_resampler(self, resampler, problem: FrontDoorProblem) -> None:
        self.resampler_reason_ = getattr(resampler, "reason_", "chosen by the user")
        resampler = getattr(resampler, "chosen_", resampler)
        self.resampler_ = resampler
        self.n_components_ = resampler.n_components_
        self.covariance_type_ = getattr(resampler, "covariance_type_", None)
        self.mixtures_ = getattr(resampler, "mixtures_", None)
        self.mixture_fit_ = getattr(resampler, "fit_", None)
        self.interventional_model_ = self._interventional_model()

    def _interventional_model(self):
        """``resampler_``'s Pyro program (None for the bootstrap, and for a g-formula without
        ``mechanism_``, which draws its ``z``); also built by :func:`bayes_mech.io.load`."""
        kwargs = {}
        if self.resampler_.name == "gformula":
            kwargs = {"mechanism": self.mechanism_, "draws": self.draws_}
        return self.resampler_.interventional_model(
            self._intervention_codes(), self._sampling_map(), **kwargs
        )

    def _intervention_coords(self):
        values = self.interventions_
        return values if values.ndim == 1 else None

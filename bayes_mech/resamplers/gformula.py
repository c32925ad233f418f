r"""The g-formula resampler: the front-door formula sampled ancestrally, without weights.

The front-door adjustment (Pearl 1995; Pearl 2009, eq. 3.29) writes the interventional law as

.. math::

    p(x \mid do(y)) = \sum_z p(z \mid y) \sum_{y'} p(y')\, p(x \mid y', z),

which can be sampled ancestrally, per posterior draw :math:`s`:

1. :math:`y' \sim \hat p_s(y')`: a row of the data drawn with its Bayesian-bootstrap weight
   :math:`g_{sn}` (uniform for the point method);
2. :math:`z \sim p(z \mid y, \theta_s)` from the mechanism posterior;
3. :math:`x \sim q_s(x \mid y', z)`, a conditional density fitted by weighted EM with row
   weights :math:`g_{sn}`.

No importance weight is ever formed, so nothing collapses when the mechanism separates the
classes well (the heavy-tailed front-door weights of the paper's A.2 at ``b = 1.5``). The price is
a model of :math:`x` given :math:`(y', z)`: a misspecified :math:`q` biases the samples, and no
spread over draws shows that bias.

The conditional model :math:`q`. Discrete conditioning variables (a discrete ``y'``, a
categorical ``z``) split the rows into *cells*; within a cell, a Gaussian mixture is fitted to the
joint of :math:`x` and the continuous conditioning variables :math:`w` (a continuous ``y'``, a
continuous ``z``) and conditioned on :math:`w` in closed form. Per component :math:`k`,

.. math::

    r_k(w) \propto \pi_k\, \mathcal N(w; \mu_{w,k}, \Sigma_{ww,k}), \qquad
    x \mid w, k \sim \mathcal N\big(\mu_{x,k} + \Sigma_{xw,k} \Sigma_{ww,k}^{-1} (w - \mu_{w,k}),\;
    \Sigma_{xx,k} - \Sigma_{xw,k} \Sigma_{ww,k}^{-1} \Sigma_{wx,k}\big),

so :math:`q(x \mid w)` is itself a Gaussian mixture. Splitting on discrete variables makes
:math:`q` exact in them (a per-class mixture is more flexible than one joint mixture with ``y'``
as a Gaussian coordinate); the mixture's K is chosen per cell like the CW-GMM's. All S x C fits of
one K run as one batched EM whose members' row weights are :math:`g_{sn}` on the cell's rows and
zero elsewhere (zero weights equal dropped rows).
"""

from __future__ import annotations

import warnings

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.distributions import constraints

from bayes_mech._stratified import golden_uniforms, inverse_cdf
from bayes_mech._validation import check_positive_int, check_random_state, torch_generator
from bayes_mech.mixture import WeightedGaussianMixture
from bayes_mech.mixture._base import MixtureWarning, canonical_order
from bayes_mech.mixture.selection import chooses_structure
from bayes_mech.resamplers._base import FrontDoorProblem, MixtureResampler, standardize_columns
from bayes_mech.resamplers._conditional import ConditionalMixtureBank, Layout, full_covariances
from bayes_mech.resamplers._program import decode_features, intervention_index, uniform_design
from bayes_mech.resamplers.cwgmm import K_CANDIDATES, choose_n_components

__all__ = ["GFormulaProgram", "GFormulaResampler"]


class GFormulaResampler(MixtureResampler):
    r"""``resampler="gformula"``: ancestral sampling of the front-door formula.

    See the module docstring for the maths. ``q(x | y', z)`` is a Gaussian mixture over ``x``
    and the continuous conditioning variables, one per cell of the discrete ones, conditioned in
    closed form; all S x C fits of one K run as one batched EM.

    Parameters
    ----------
    n_components : int, "bic", "aic", "bic_eff", "cv" or "dp", default="bic"
        K of every cell's mixture, or how to choose it per cell (on the draw-averaged row
        weights, as for the CW-GMM).
    covariance_type : {"full", "diag", "spherical", "tied", "auto"}, default="full"
        ``"full"`` lets ``x`` depend on ``w`` within a component; with the others ``w`` acts
        through the responsibilities only. ``"auto"`` is ``"full"`` here: the conditional
        ``q(x | w)`` needs the cross-covariances that only a full covariance has.
    device : str or torch.device, optional

    Attributes
    ----------
    n_components_ : ndarray of shape (C,)
        K per cell.
    cell_labels_ : list of str
        What each cell conditions on (e.g. ``"y'=2"``).
    bank_ : ConditionalMixtureBank
    fit_ : dict of str to ndarray of shape (S, C)
        EM's ``lower_bound``, ``n_iter`` and ``converged`` per mixture.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> import bayes_mech as bm
    >>> d = bm.datasets.make_frontdoor_regression(n_samples=1000, random_state=0)
    >>> learner = bm.MechanismLearner(LinearRegression(), resampler="gformula", n_draws=4,
    ...                               progress=False, random_state=0)
    >>> learner = learner.fit(d.X, d.y, d.z)
    >>> learner.resampler_.name, learner.resampler_.cell_labels_
    ('gformula', ['all rows'])
    >>> slope = np.mean([e.coef_[0] for e in learner.estimators_])
    >>> bool(0.05 < slope < 0.16)  # interventional slope ~0.13; naive OLS 0.17
    True
    """

    name = "gformula"

    @property
    def _covariance_type(self) -> str:
        chooses = chooses_structure(self.covariance_type)  # "auto" or a list of structures
        return "full" if chooses else self.covariance_type

    # ------------------------------------------------------------------------- fit
    @staticmethod
    def _seeds(random_state) -> tuple[int, int, int, int]:
        """The K-choice, EM, z and x seeds, always drawn in this order."""
        rs = check_random_state(random_state)
        return tuple(int(v) for v in rs.randint(0, 2**31 - 1, size=4))

    def select(
        self, problem: FrontDoorProblem, random_state=None, *, max_candidate=None
    ) -> np.ndarray:
        """Lay out the cells and choose K per cell (the first step of :meth:`resample`).

        ``resample`` with the same ``random_state`` reuses this choice. Returns
        ``n_components_``. ``max_candidate`` caps the K tried by ``"bic"``, ``"aic"`` and
        ``"bic_eff"``: with ``1 + PATIENCE`` the choice is K = 1 exactly where the full scan's
        is (it stops after two rises from K = 1), which is all ``resampler="auto"`` needs to
        know; a capped choice is not kept for ``resample``.
        """
        if isinstance(self.n_components, dict):
            raise ValueError(
                "n_components as a dict (K per intervention value) applies to the CW-GMM; the "
                "g-formula fits one mixture per cell of (y', z). Pass an int, 'bic', 'aic', "
                "'cv' or 'dp', or resampler='cwgmm'."
            )
        layout = Layout.of(problem.mechanism)
        self.layout_ = layout
        X = problem.X
        W = self._w(layout.w_columns(problem.y, problem.z), problem.covariates)
        V, center, spread = standardize_columns(np.concatenate([X, W], axis=1))
        y_codes, z_codes = layout.y_codes(problem.y), layout.z_codes(problem.z)
        cells = layout.cells(y_codes, z_codes)
        C = layout.n_cells
        self.cell_labels_ = [layout.cell_label(c) for c in range(C)]
        counts = np.bincount(cells, minlength=C)
        self._check_cells(counts, V.shape[1])
        g = problem.row_log_weights.exp().cpu().numpy()  # (S, N), rows sum to one
        member = (cells[None, :] == np.arange(C)[:, None]).astype(np.float64)  # (C, N)
        mean_g = g.mean(axis=0)[None, :] * member
        capped = max_candidate is not None and self.n_components in ("bic", "aic", "bic_eff")
        self.n_components_ = choose_n_components(
            V,
            mean_g,
            self.n_components,
            None,
            covariance_type=self._covariance_type,
            seed=self._seeds(random_state)[0],
            candidates=range(1, max_candidate + 1) if capped else K_CANDIDATES,
        )
        too_many = np.flatnonzero(self.n_components_ > counts)
        if too_many.size:
            c = int(too_many[0])
            raise ValueError(
                f"n_components={int(self.n_components_[c])} exceeds the {counts[c]} row(s) of the "
                f"g-formula cell {self.cell_labels_[c]}; each cell's mixture needs at least as "
                "many rows as components. Use fewer components or n_components='bic'."
            )
        # K > 1 somewhere after a capped scan: not the full choice, so resample() selects anew.
        full_choice = not (capped and np.any(self.n_components_ > 1))
        self._selected = (
            (problem, random_state, V, center, spread, cells, counts, member, g)
            if full_choice
            else None
        )
        return self.n_components_

    def _fit(self, problem: FrontDoorProblem, random_state) -> None:
        selected = getattr(self, "_selected", None)
        if selected is None or selected[0] is not problem or selected[1] != random_state:
            self.select(problem, random_state)
        _, _, V, center, spread, cells, counts, member, g = self._selected
        del self._selected  # arrays of N rows: not kept on the fitted object
        fit_seed = self._seeds(random_state)[1]
        X, C = problem.X, self.layout_.n_cells
        S, N = g.shape
        k_max = int(self.n_components_.max())
        D = V.shape[1]
        log_w = np.full((S, C, k_max), -np.inf)
        means = np.zeros((S, C, k_max, D))
        covs = np.tile(np.eye(D), (S, C, k_max, 1, 1))
        self.fit_ = {
            "lower_bound": np.empty((S, C)),
            "n_iter": np.empty((S, C), dtype=np.int64),
            "converged": np.empty((S, C), dtype=bool),
        }
        for K in np.unique(self.n_components_):
            cols = np.flatnonzero(self.n_components_ == K)
            weights = (g[:, None, :] * member[None, cols, :]).reshape(-1, N)
            gm = WeightedGaussianMixture(
                n_components=int(K),
                covariance_type=self._covariance_type,
                random_state=fit_seed,
                device=self.device,
            ).fit(V, sample_weight=weights)
            shape = (S, cols.size)
            with np.errstate(divide="ignore"):
                log_w[:, cols, :K] = np.log(gm.weights_).reshape(*shape, K)
            means[:, cols, :K] = gm.means_.reshape(*shape, K, D)
            covs[:, cols, :K] = full_covariances(gm).reshape(*shape, K, D, D)
            for name in self.fit_:
                self.fit_[name][:, cols] = np.asarray(getattr(gm, name + "_")).reshape(shape)
        self.fit_["lower_bound"] -= float(np.log(spread).sum())  # in the units of (x, w)
        self.bank_ = ConditionalMixtureBank(log_w, means, covs, X.shape[1], center, spread)
        self.fit_check_ = self._check_fit(V, cells, counts)
        self._set_rows(problem.y, problem.covariates, problem.row_log_weights.detach().cpu())

    def _set_rows(self, y: np.ndarray, covariates, row_log_weights: torch.Tensor) -> None:
        """What ``y' ~ p̂_s(y')`` draws from: the observed ``y`` (and ``c``), with each draw's
        log row weights (S, N)."""
        self._y_obs, self._c_obs, self._row_log_weights = y, covariates, row_log_weights

    def _check_fit(self, V: np.ndarray, cells: np.ndarray, counts: np.ndarray) -> dict:
        r"""Is ``q`` calibrated on the data? A probability-integral-transform check.

        Under a right ``q(x | y', z)`` the PIT of every coordinate of ``x_n`` given its own
        ``(y'_n, z_n)`` is uniform in every region of the conditioning variables. Rows are grouped
        by cell and, within a cell, by quantile bins (up to 5, >= 40 rows each) of each
        continuous conditioning coordinate; in each group the mean PIT is compared with 1/2 in
        units of its standard error :math:`\sqrt{1/(12 n)}`. The p-value is Bonferroni's over
        all groups and coordinates (valid whatever their dependence). The first draw's ``q`` is
        checked on all rows; the check is in-sample, so it is lenient on small misfits.
        """
        from scipy.special import ndtr

        bank, n_x = self.bank_, self.bank_.n_x
        x_std = torch.as_tensor(V[:, :n_x])
        w_std = torch.as_tensor(V[:, n_x:])
        pit = bank.pit(0, torch.as_tensor(cells), w_std, x_std).numpy()  # (N, d_x)
        z_scores, labels = [], []
        for c in np.flatnonzero(counts >= 40):
            rows = np.flatnonzero(cells == c)
            groups = [("", rows)]
            n_bins = min(5, rows.size // 40)
            for j in range(w_std.shape[1]):
                edges = np.quantile(V[rows, n_x + j], np.linspace(0, 1, n_bins + 1)[1:-1])
                which = np.searchsorted(edges, V[rows, n_x + j])
                groups += [
                    (f", w{j} bin {b + 1}/{n_bins}", rows[which == b]) for b in range(n_bins)
                ]
            for name, members in groups:
                if members.size:
                    z = (pit[members].mean(axis=0) - 0.5) * np.sqrt(12.0 * members.size)
                    z_scores.append(z)
                    labels += [f"{self.cell_labels_[c]}{name}, x{j}" for j in range(n_x)]
        if not z_scores:
            return {"max_abs_z": float("nan"), "n_tests": 0, "p_value": 1.0, "worst": ""}
        z = np.concatenate(z_scores)
        worst = int(np.argmax(np.abs(z)))
        p = min(1.0, z.size * 2.0 * float(ndtr(-abs(z[worst]))))
        return {"max_abs_z": float(abs(z[worst])), "n_tests": int(z.size), "p_value": p,
                "worst": labels[worst]}  # fmt: skip

    def _check_cells(self, counts: np.ndarray, n_dims: int) -> None:
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            names = "; ".join(self.cell_labels_[c] for c in empty[:10])
            raise ValueError(
                f"the g-formula needs rows in every (y', z) cell (positivity of p(y', z)), but "
                f"{empty.size} cell(s) have none: {names}. Use resampler='cwgmm', or merge "
                "categories of z that some class of y never takes."
            )
        thin = np.flatnonzero(counts <= n_dims)
        if thin.size:
            shown = ", ".join(f"{self.cell_labels_[c]} ({counts[c]} rows)" for c in thin[:10])
            warnings.warn(
                f"{thin.size} g-formula cell(s) have no more rows than the {n_dims} modelled "
                f"dimensions of (x, w): {shown}. Their covariances rest on the floor "
                "reg_covar, so their samples are nearly copies of those rows.",
                MixtureWarning,
                stacklevel=4,
            )

    @staticmethod
    def _w(w: np.ndarray, covariates) -> np.ndarray:
        """The continuous conditioning columns of ``q``: those of ``(y', z)``, then ``c``."""
        return w if covariates is None else np.concatenate([w, covariates], axis=1)

    # ---------------------------------------------------------------------- sample
    def _draw_x(self, s, cells: torch.Tensor, w: torch.Tensor, gen) -> torch.Tensor:
        """Two rows ``x ~ q_s(x | cell, w)`` in X's units per entry of ``cells``, shape
        ``(R, 2, d)``: an antithetic pair ``loc ± L ε`` of one component (the pair's mean is the
        component's conditional mean)."""
        bank = self.bank_
        w_std = bank.standardize_w(w)
        logits = bank.component_logits(s, cells, w_std)
        # Independent component draws: a second golden-ratio sequence with the rows' step would
        # tie each row's component to its place in the y' order (one sequence, two shifts).
        k = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=gen)[:, 0]
        loc, chol = bank.conditional(s, cells, k, w_std)
        eps = torch.randn(loc.shape, dtype=torch.float64, generator=gen)
        noise = (chol @ eps[..., None])[..., 0]
        return bank.to_units(torch.stack([loc + noise, loc - noise], dim=1))

    def resample(self, problem: FrontDoorProblem, n_samples: int, random_state=None) -> np.ndarray:
        n_samples = check_positive_int(n_samples, "n_samples")
        if isinstance(random_state, np.random.RandomState):  # one draw of seeds for every step
            random_state = int(random_state.randint(0, 2**31 - 1))
        self._fit(problem, random_state)
        _, _, z_seed, x_seed = self._seeds(random_state)
        return self._sample(problem, n_samples, z_seed, x_seed)

    def _sample(self, problem: FrontDoorProblem, n_samples: int, z_seed: int, x_seed: int):
        """``n_samples`` rows per (draw, intervention) from the fitted ``q_s``, (S, M, n, d).

        Stratified, as the CW-GMM's draws (``WeightedGaussianMixture.sample(stratified=True)``):
        each pair of rows shares ``(y', z)`` and a component and mirrors about its conditional
        mean, and the pairs' ``y'`` rows are read off a golden-ratio sequence on the row
        weights' cumulative sum, in the order of ``y`` (then ``c``), so every block of pairs
        holds ``y'`` in nearly its weighted proportions. Each row is still drawn from
        ``p_s(x | do(y))``; the members' Monte Carlo noise falls (measured in
        ``docs/concepts/gformula.md``).
        """
        layout = self.layout_
        S, M = problem.n_draws, problem.n_values
        n_pairs = (n_samples + 1) // 2
        R = M * n_pairs
        y_do = np.repeat(problem.interventions, n_pairs, axis=0)  # value-major pairs
        C = problem.covariates
        if C is None:  # z does not depend on the row drawn for y': one call for all draws
            z_all = problem.mechanism.sample_z(y_do, problem.draws, random_state=z_seed)
        else:  # (y', c) come as a pair from one row, and z ~ p(z | y, c) needs that row's c
            z_seeds = check_random_state(z_seed).randint(0, 2**31 - 1, size=S)
        gen = torch_generator(x_seed)
        rows = self._stratified_rows(R, gen)
        out = np.empty((S, M, 2 * n_pairs, problem.joint_rows.shape[1]))
        for s in range(S):
            idx = rows[s].numpy()
            if C is None:
                z = z_all[s]
            else:
                draw = {k: v[s : s + 1] for k, v in problem.draws.items()}
                z = problem.mechanism.sample_z(
                    y_do, draw, random_state=int(z_seeds[s]), covariates=C[idx]
                )[0]
            y_prime = problem.y[idx]
            cells = layout.cells(layout.y_codes(y_prime), layout.z_codes(z))
            w = torch.as_tensor(
                self._w(layout.w_columns(y_prime, z), None if C is None else C[idx])
            )
            x = self._draw_x(s, torch.as_tensor(cells), w, gen).numpy()  # (R, 2, d)
            if problem.covariates_as_features:
                c_pair = np.broadcast_to(C[idx][:, None], (R, 2, C.shape[1]))
                x = np.concatenate([x, c_pair], axis=2)
            out[s] = x.reshape(M, 2 * n_pairs, -1)
        return out[:, :, :n_samples]

    def _stratified_rows(self, n: int, gen) -> torch.Tensor:
        """``n`` rows per draw, shape (S, n), with probabilities ``exp(row_log_weights)``,
        read off a golden-ratio sequence on their cumulative sum in the order of ``y``
        (then ``c``)."""
        keys = np.asarray(self._y_obs, dtype=np.float64).reshape(len(self._y_obs), -1)
        if self._c_obs is not None:
            keys = np.concatenate([keys, np.asarray(self._c_obs, dtype=np.float64)], axis=1)
        order = torch.as_tensor(canonical_order(keys))
        probs = self._row_log_weights.exp()[:, order]
        u = golden_uniforms(probs.shape[0], n, gen)
        return order[inverse_cdf(probs, u)]

    # ------------------------------------------------------------------ reporting
    def interventional_model(self, interventions, feature_map=None, mechanism=None, draws=None):
        if mechanism is None or getattr(self, "bank_", None) is None:
            return None
        return GFormulaProgram(self, mechanism, draws, interventions, feature_map)

    def fit_stats(self):
        return {f"em_{k}": (np.asarray(v), ["cell"]) for k, v in self.fit_.items()}

    def state_arrays(self):
        """K, the EM statistics and everything the Pyro program samples from: the mixtures
        ``q_s`` (``bank/``), the cells (``layout/``), and the observed ``y`` (and ``c``) with
        each draw's row weights (``rows/``), the empirical law that ``y'`` is drawn from."""
        out = {f"fit/{k}": np.asarray(v) for k, v in self.fit_.items()}
        out["n_components"] = np.asarray(self.n_components_)
        out["cell_labels"] = np.asarray(self.cell_labels_, dtype=str)
        out.update({f"bank/{k}": v for k, v in self.bank_.state_arrays().items()})
        out.update({f"layout/{k}": v for k, v in self.layout_.state_arrays().items()})
        out["rows/y"] = np.asarray(self._y_obs)
        out["rows/log_weights"] = self._row_log_weights.numpy()
        if self._c_obs is not None:
            out["rows/covariates"] = np.asarray(self._c_obs)
        return out

    @classmethod
    def from_state(cls, arrays):
        """The fitted resampler; without ``bank/`` arrays (files of format version 2) it
        describes the fit but cannot sample."""
        out = cls()
        out.n_components_ = arrays["n_components"]
        out.cell_labels_ = arrays["cell_labels"].tolist()
        out.fit_ = {k[4:]: v for k, v in arrays.items() if k.startswith("fit/")}
        if "bank/means" in arrays:
            part = {
                prefix: {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
                for prefix in ("bank/", "layout/")
            }
            out.bank_ = ConditionalMixtureBank.from_state(part["bank/"])
            out.layout_ = Layout.from_state(part["layout/"])
            out._set_rows(
                arrays["rows/y"],
                arrays.get("rows/covariates"),
                torch.as_tensor(arrays["rows/log_weights"]),
            )
        return out

    def describe(self, value_labels):
        ks = ", ".join(
            f"{c}: {k}" for c, k in zip(self.cell_labels_, self.n_components_.tolist(), strict=True)
        )
        return f"K per g-formula cell: {ks}"


class _MechanismRows(dist.TorchDistribution):
    """``z_r ~ p(z | y_r, θ_{s_r})``: one mechanism draw per row, for the Pyro program's site."""

    arg_constraints: dict = {}  # noqa: RUF012 (torch's own class attribute)

    def __init__(self, mechanism, draws, s, y_values: np.ndarray, drawn=None, covariates=None):
        self.mechanism, self.draws, self.s, self.drawn = mechanism, draws, s, drawn
        self.c = None if covariates is None else torch.as_tensor(covariates, dtype=torch.float64)
        self.y_t = mechanism._y_tensor(y_values, name="y")
        self.discrete = mechanism.z_kind == "discrete"
        self.squeeze = self.discrete or getattr(mechanism, "_z_input_1d", False)
        event = () if self.squeeze else (mechanism.z_dim_,)
        super().__init__(batch_shape=s.shape, event_shape=event, validate_args=False)

    @property
    def support(self):
        return constraints.real if not self.discrete else constraints.integer

    def _c(self, rows) -> dict:
        return {} if self.c is None else {"c": self.c[rows]}

    def _by_draw(self, fn, out):
        for s in torch.unique(self.s).tolist():
            rows = torch.nonzero(self.s == s).flatten()
            out[rows] = fn({k: v[s : s + 1] for k, v in self.draws.items()}, rows)[0]
        return out

    def sample(self, sample_shape=()):
        if self.drawn is not None:  # drawn outside the program's plate (GFormulaProgram)
            return self.drawn
        d_z = self.mechanism.z_dim_
        out = torch.empty((self.s.shape[0], d_z), dtype=torch.float64)
        codes = self._by_draw(
            lambda d, r: (
                self.mechanism._sample_rows(self.y_t[r], d, **self._c(r))
                .reshape(1, len(r), -1)
                .to(torch.float64)
            ),
            out,
        )
        if self.discrete:
            classes = torch.as_tensor(self.mechanism.z_classes_, dtype=torch.float64)
            return classes[codes[:, 0].long()]
        return codes[:, 0] if self.squeeze else codes

    def log_prob(self, value):
        z = value.detach().cpu().numpy()
        z_t = self.mechanism._z_tensor(z)
        out = torch.empty(self.s.shape[0], dtype=torch.float64)
        return self._by_draw(
            lambda d, r: self.mechanism._log_prob_rows(z_t[r], self.y_t[r], d, **self._c(r)), out
        )


class GFormulaProgram:
    r"""The g-formula sampler as a Pyro program with sites ``y_prime``, ``z`` and ``x``.

    .. math::

        s \sim \mathcal U\{0..S-1\},\quad y \sim \mathcal U\{y_1..y_M\},\quad
        y' \sim \hat p_s(y'),\quad z \sim p(z \mid y, \theta_s),\quad
        k \sim \mathrm{Cat}(r(w)),\quad x \sim \mathcal N(\text{conditional of component } k).

    ``poutine.do(program, {"y": v})`` samples :math:`p(x \mid do(y = v))`; ``poutine.condition``
    on ``z`` scores the mechanism. Call it as ``program(n_samples=1)``. With covariates, ``y'``
    and ``c`` come as a pair from one data row (site ``row``; ``y_prime`` and ``covariates`` are
    deterministic sites), and ``z`` and ``x`` are drawn given that row's ``c``.
    """

    def __init__(self, resampler, mechanism, draws, interventions, feature_map=None):
        self.resampler, self.mechanism, self.draws = resampler, mechanism, draws
        self.table_rows = int(resampler._row_log_weights.shape[-1])  # y_prime's (n, N) table
        self.values = torch.as_tensor(np.asarray(interventions, dtype=np.float64))
        self.feature_map = feature_map

    def _y_prime_dist(self, s: torch.Tensor) -> dist.Empirical:
        res = self.resampler
        y_obs = torch.as_tensor(np.asarray(res._y_obs, dtype=np.float64))
        return dist.Empirical(y_obs.expand(s.shape[0], *y_obs.shape), res._row_log_weights[s])

    def __call__(self, n_samples: int = 1):
        res = self.resampler
        layout, bank = res.layout_, res.bank_
        n_draws = bank.log_weights.shape[0]
        samples = pyro.plate("samples", n_samples)  # one plate, entered twice (below)
        with samples:
            s = pyro.sample(
                "draw", dist.Categorical(logits=torch.zeros(n_draws, dtype=torch.float64))
            )
            y = pyro.sample("y", uniform_design(self.values))
            m = intervention_index(y, self.values)
            y_do = self.values[m.expand(s.shape) if m.dim() < s.dim() else m]
            c = None
            if res._c_obs is None:
                y_prime = pyro.sample("y_prime", self._y_prime_dist(s))
            else:
                row = pyro.sample("row", dist.Categorical(logits=res._row_log_weights[s]))
                y_obs = torch.as_tensor(np.asarray(res._y_obs, dtype=np.float64))
                y_prime = pyro.deterministic("y_prime", y_obs[row])
                c = pyro.deterministic("covariates", torch.as_tensor(res._c_obs)[row])
        # A PyroMechanism's own model has plates: run it outside the "samples" plate, whose
        # dimension it would otherwise collide with, then record the draw as the site "z".
        rows = _MechanismRows(self.mechanism, self.draws, s, y_do.numpy(), covariates=c)
        drawn = rows.sample()
        with samples:
            z = pyro.sample(
                "z",
                _MechanismRows(
                    self.mechanism, self.draws, s, y_do.numpy(), drawn=drawn, covariates=c
                ),
            )
            y_np, z_np = y_prime.numpy(), z.numpy()
            cells = torch.as_tensor(layout.cells(layout.y_codes(y_np), layout.z_codes(z_np)))
            w = res._w(layout.w_columns(y_np, z_np), None if c is None else c.numpy())
            w_std = bank.standardize_w(torch.as_tensor(w))
            k = pyro.sample(
                "component", dist.Categorical(logits=bank.component_logits(s, cells, w_std))
            )
            loc, chol = bank.conditional(s, cells, k, w_std)
            scale = torch.diag_embed(bank.spread[: bank.n_x]) @ chol
            gauss = dist.MultivariateNormal(bank.to_units(loc), scale_tril=scale)
            return decode_features(gauss, self.feature_map)

"""Any Pyro model of p(z | y, θ) as a mechanism, with its posterior by NUTS or SVI."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pyro
import torch
from pyro import poutine
from pyro.infer import MCMC, NUTS, SVI, Predictive, Trace_ELBO
from pyro.infer.autoguide import AutoGuide, AutoMultivariateNormal
from pyro.ops.stats import split_gelman_rubin
from pyro.poutine.util import site_is_subsample

from bayes_mech._threads import torch_threads
from bayes_mech._validation import (
    as_numpy,
    check_option,
    check_positive_int,
    check_random_state,
)
from bayes_mech.exceptions import MechanismWarning
from bayes_mech.mechanisms._utils import (
    check_positive_float,
    seeded,
    to_inference_data,
)
from bayes_mech.mechanisms.base import Draws, Mechanism

__all__ = ["PyroMechanism"]


def _takes_covariates(model) -> bool:
    """Whether ``model`` accepts a ``covariates`` keyword (by name or through ``**kwargs``)."""
    try:
        params = inspect.signature(model).parameters.values()
    except (TypeError, ValueError):  # a callable without a signature: let the trace decide
        return True
    return any(p.name == "covariates" or p.kind == p.VAR_KEYWORD for p in params)


#: Rows (draws × intervention values × data rows) traced at once by ``log_prob``; larger
#: requests are split over intervention values (never over data rows) to bound memory.
_MAX_TRACE_ROWS = 2**22


class PyroMechanism(Mechanism):
    r"""A mechanism given by any Pyro model ``model(y, z=None)`` with an observed site ``"z"``.

    Fitted with ``covariates``, the model is called as ``model(y, z, covariates=c)`` (``c`` a
    float64 tensor (N, q)) and must accept that keyword: ``p(z | y, c, θ)``, the conditional
    front door's mechanism (e.g. `multinomial_logistic_model` for a categorical ``z``).

    The posterior of the model's latent sites ``θ`` is sampled by NUTS (``pyro.infer.MCMC``) or
    approximated by SVI with an autoguide; ``log_prob`` then evaluates the model's own ``"z"``
    site, ``log p(z_n | y_m, θ_s)``, for all draws and intervention values in one vectorised trace:
    ``poutine.condition`` fixes ``θ_s``, an outer ``pyro.plate`` over draws broadcasts them, and the
    rows are repeated once per intervention value.

    The model is called with ``y`` and ``z`` as tensors: a discrete ``y`` (or ``z``) as int64
    *codes* ``0 … K−1`` into ``classes_`` (``z_classes_``), a continuous one as float64 of the
    shape passed to ``fit`` ((N,) stays (N,)). Its sites must broadcast over extra batch
    dimensions on the left (index with ``...``, as for ``Predictive(parallel=True)``); set
    ``vectorize=False`` to loop over draws for a model that does not.

    Parameters
    ----------
    model : callable
        ``model(y, z=None)``; must contain ``pyro.sample("z", ..., obs=z)`` inside a plate over
        rows, with any per-row dimensions moved to the event shape (``.to_event``).
    inference : {"nuts", "svi"}, default="nuts"
    num_samples : int, default=500
        NUTS draws kept per chain, or guide draws stored after SVI.
    num_warmup : int, default=500
        NUTS warm-up (adaptation) steps per chain.
    num_chains : int, default=2
        NUTS chains, run one after another in this process (reproducible and fork-free).
    guide : callable or AutoGuide subclass, optional
        SVI guide; default ``AutoMultivariateNormal``. A class is instantiated with the model.
    num_steps : int, default=2000
        SVI optimisation steps.
    learning_rate : float, default=0.01
        Initial Adam step size for SVI; it decays tenfold over ``num_steps``.
    y_kind, z_kind : {"discrete", "continuous"}
        How ``y`` and ``z`` are validated and passed to the model.
    progress : bool, default=True
        Show progress bars.
    vectorize : bool, default=True
        Evaluate all draws in one trace under a draw plate; False loops over draws.
    nuts_kwargs : dict, optional
        Extra arguments of ``pyro.infer.NUTS`` (e.g. ``target_accept_prob``).
    num_threads : int or None, default=1
        torch intra-op threads during inference (restored afterwards). A NUTS or SVI step is
        many tiny tensor operations, where thread hand-offs cost more than they save (ten times
        more on a busy machine); None keeps torch's setting, for large models.

    Attributes
    ----------
    samples_ : dict of str to Tensor
        Posterior draws of each latent site, shape (chain, draw, \*site_shape).
    diverging_ : ndarray of bool, shape (chain, draw)
        NUTS divergent transitions.
    losses_ : list of float
        SVI loss (negative ELBO) per step.
    guide_ : callable
        The trained SVI guide.

    Warns
    -----
    MechanismWarning
        NUTS had divergent transitions, or split r-hat exceeds 1.05.

    Examples
    --------
    A per-class Gaussian for a scalar ``z`` with a half-normal prior on each class's scale:

    >>> import numpy as np
    >>> import pyro
    >>> import pyro.distributions as dist
    >>> import torch
    >>> def model(y, z=None):
    ...     one = torch.ones((), dtype=torch.float64)
    ...     with pyro.plate("y_class", 2):
    ...         loc = pyro.sample("loc", dist.Normal(0.0 * one, 10.0 * one))
    ...         scale = pyro.sample("scale", dist.HalfNormal(5.0 * one))
    ...     with pyro.plate("data", y.shape[0]):
    ...         return pyro.sample("z", dist.Normal(loc[..., y], scale[..., y]), obs=z)
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([3, 7], 40)                 # passed to the model as codes 0 and 1
    >>> z = rng.normal(np.where(y == 3, -2.0, 2.0), 1.0)
    >>> mech = PyroMechanism(model, num_samples=100, num_warmup=100, num_chains=1,
    ...                      progress=False).fit(y, z, random_state=0)
    >>> mech.posterior_mean()["loc"].round()       # (S=1, K)
    tensor([[-2.,  2.]], dtype=torch.float64)
    >>> draws = mech.sample_posterior(16, random_state=0)
    >>> mech.log_prob(z, [3, 7], draws).shape      # (S, N, M)
    torch.Size([16, 80, 2])
    """

    def __init__(
        self,
        model,
        inference="nuts",
        num_samples=500,
        num_warmup=500,
        num_chains=2,
        guide=None,
        num_steps=2000,
        learning_rate=0.01,
        y_kind="discrete",
        z_kind="continuous",
        progress=True,
        vectorize=True,
        nuts_kwargs=None,
        num_threads=1,
    ):
        self.model = model
        self.inference = inference
        self.num_samples = num_samples
        self.num_warmup = num_warmup
        self.num_chains = num_chains
        self.guide = guide
        self.num_steps = num_steps
        self.learning_rate = learning_rate
        self.y_kind = y_kind
        self.z_kind = z_kind
        self.progress = progress
        self.vectorize = vectorize
        self.nuts_kwargs = nuts_kwargs
        self.num_threads = num_threads

    # ------------------------------------------------------------------ fitting
    supports_covariates = True
    _inference_options = ("nuts", "svi")

    def fit(self, y, z, random_state=None, covariates=None):
        """Sample (NUTS) or approximate (SVI) the posterior of the model's latent sites.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, d_y)
        z : array-like of shape (n_samples,) or (n_samples, d_z)
        random_state : None, int or numpy RandomState/Generator
            Seeds initialisation, every chain and the SVI optimisation.
        covariates : array-like of shape (n_samples, q), optional
            Passed to the model as ``covariates=`` (float64 tensor), which it must accept.

        Returns
        -------
        self
        """
        if not callable(self.model):
            raise TypeError(f"model must be a callable model(y, z=None); got {self.model!r}.")
        check_option(self.inference, "inference", self._inference_options)
        check_option(self.y_kind, "y_kind", ("discrete", "continuous"))
        check_option(self.z_kind, "z_kind", ("discrete", "continuous"))
        # The model sees y and z in the dimensionality the user gave: (N,) stays (N,).
        self._y_1d = as_numpy(y, "y").ndim == 1
        self._z_1d = as_numpy(z, "z").ndim == 1
        if covariates is not None and not _takes_covariates(self.model):
            raise TypeError(
                "covariates were given, but model takes no 'covariates' argument; write it as "
                "model(y, z=None, covariates=None) to model p(z | y, c)."
            )
        return super().fit(y, z, random_state, covariates=covariates)

    def _fit(self, y, z, random_state, c=None) -> None:
        rs = check_random_state(random_state)
        y_t = self._model_y(self._y_tensor(y, "y"))
        z_t = self._model_z(self._z_codes(z))
        self._kw = {} if c is None else {"covariates": torch.as_tensor(c, dtype=torch.float64)}
        self._inspect_model(y_t, z_t, rs)
        self.__dict__.pop("diverging_", None)
        self.__dict__.pop("losses_", None)
        with torch_threads(self.num_threads):
            self._infer(y_t, z_t, rs)

    def _infer(self, y_t, z_t, rs) -> None:
        """Fill ``samples_`` (subclasses may add inference methods)."""
        if self.inference == "nuts":
            self._fit_nuts(y_t, z_t, rs)
        else:
            self._fit_svi(y_t, z_t, rs)

    def _inspect_model(self, y_t, z_t, rs) -> None:
        """Trace the model once: check the ``"z"`` site, find latent sites and plate nesting."""
        with seeded(rs), poutine.block():
            trace = poutine.trace(self.model).get_trace(y_t, z_t, **self._kw)
        site = trace.nodes.get("z")
        if site is None or site["type"] != "sample":
            names = [
                k
                for k, v in trace.nodes.items()
                if v["type"] == "sample" and not site_is_subsample(v)
            ]
            raise ValueError(
                "model must contain a sample site named 'z' observing the mechanism "
                f"(pyro.sample('z', ..., obs=z)); its sample sites are {names}."
            )
        if not site["is_observed"]:
            raise ValueError(
                "model's 'z' site is not observed; pass obs=z to pyro.sample('z', ...)."
            )
        value = site["value"]
        if value.dim() == 0 or value.shape[0] != z_t.shape[0]:
            raise ValueError(
                "model's 'z' site must hold one value per row (inside a plate over rows); "
                f"got a value of shape {tuple(site['value'].shape)} for {z_t.shape[0]} rows."
            )
        self.latent_sites_ = [
            name
            for name, s in trace.nodes.items()
            if s["type"] == "sample"
            and not s["is_observed"]
            and not s["infer"].get("_deterministic", False)
            and not site_is_subsample(s)
        ]
        if not self.latent_sites_:
            raise ValueError("model has no latent sample sites: there is no posterior to sample.")
        dims = [
            f.dim
            for s in trace.nodes.values()
            if s["type"] == "sample"
            for f in s["cond_indep_stack"]
        ]
        self.max_plate_nesting_ = -min(dims) if dims else 0
        self._event_dims = {n: trace.nodes[n]["fn"].event_dim for n in self.latent_sites_}
        self._site_shapes = {n: trace.nodes[n]["value"].shape for n in self.latent_sites_}
        self._plates = {
            n: {f.dim: (f.name, f.size) for f in trace.nodes[n]["cond_indep_stack"]}
            for n in self.latent_sites_
        }

    def _fit_nuts(self, y_t, z_t, rs) -> None:
        num_samples = check_positive_int(self.num_samples, "num_samples")
        num_warmup = check_positive_int(self.num_warmup, "num_warmup", minimum=0)
        num_chains = check_positive_int(self.num_chains, "num_chains")
        chains, diverging = [], np.zeros((num_chains, num_samples), dtype=bool)
        for c in range(num_chains):  # sequential chains: reproducible and free of fork issues
            with seeded(rs):
                kernel = NUTS(self.model, **{"jit_compile": False, **(self.nuts_kwargs or {})})
                mcmc = MCMC(
                    kernel,
                    num_samples=num_samples,
                    warmup_steps=num_warmup,
                    num_chains=1,
                    disable_progbar=not self.progress,
                )
                mcmc.run(y_t, z_t, **self._kw)
            samples = mcmc.get_samples()
            chains.append(
                {k: self._as_draws(samples[k], num_samples, k) for k in self.latent_sites_}
            )
            diverging[c, mcmc.diagnostics()["divergences"]["chain 0"]] = True
        self.samples_ = {k: torch.stack([ch[k] for ch in chains]) for k in self.latent_sites_}
        self.diverging_ = diverging
        if diverging.any():
            warnings.warn(
                f"NUTS had {int(diverging.sum())} divergent transition(s) in "
                f"{diverging.size} draws; the posterior may be biased. Consider "
                "nuts_kwargs={'target_accept_prob': 0.95} or reparameterising the model.",
                MechanismWarning,
                stacklevel=4,
            )
        if num_chains > 1:
            rhat = max(float(split_gelman_rubin(v).max()) for v in self.samples_.values())
            if rhat > 1.05:
                warnings.warn(
                    f"NUTS chains disagree: max split r-hat = {rhat:.3f} > 1.05; increase "
                    "num_warmup and num_samples.",
                    MechanismWarning,
                    stacklevel=4,
                )

    def _fit_svi(self, y_t, z_t, rs) -> None:
        num_steps = check_positive_int(self.num_steps, "num_steps")
        num_samples = check_positive_int(self.num_samples, "num_samples")
        lr = check_positive_float(self.learning_rate, "learning_rate")
        guide = self.guide
        if guide is None:
            guide = AutoMultivariateNormal
        if inspect.isclass(guide) and issubclass(guide, AutoGuide):
            guide = guide(self.model)
        if not callable(guide):
            raise TypeError(f"guide must be a callable or an AutoGuide class; got {guide!r}.")
        losses = []
        # A private param store: fitting must not clobber (or read) the user's parameters.
        with pyro.get_param_store().scope() as state, seeded(rs):
            # The step size decays tenfold over the run, so the final guide settles down.
            optim = pyro.optim.ClippedAdam({"lr": lr, "lrd": 0.1 ** (1.0 / num_steps)})
            svi = SVI(self.model, guide, optim, Trace_ELBO())
            steps = range(num_steps)
            if self.progress:
                from tqdm.auto import tqdm

                steps = tqdm(steps, desc="SVI")
            for _ in steps:
                losses.append(float(svi.step(y_t, z_t, **self._kw)))
        self.guide_, self._param_state, self.losses_ = guide, state, losses
        self._svi_args = (y_t, z_t)
        if not np.isfinite(losses[-1]):
            raise FloatingPointError(f"SVI diverged: the final loss is {losses[-1]}.")
        draws = self._guide_draws(num_samples, rs)
        self.samples_ = {k: v[None] for k, v in draws.items()}

    def _guide_draws(self, n_draws: int, random_state) -> Draws:
        with (
            pyro.get_param_store().scope(self._param_state),
            seeded(random_state),
            torch_threads(self.num_threads),
        ):
            # parallel: all draws in one vectorised trace (the model must broadcast, as for
            # log_prob); without vectorize, one trace per draw.
            pred = Predictive(
                self.model,
                guide=self.guide_,
                num_samples=n_draws,
                return_sites=self.latent_sites_,
                parallel=bool(self.vectorize),
            )
            out = pred(*self._svi_args, **getattr(self, "_kw", {}))
        return {k: self._as_draws(out[k].detach(), n_draws, k) for k in self.latent_sites_}

    def _as_draws(self, value: torch.Tensor, n_draws: int, name: str) -> torch.Tensor:
        """Draws of shape (n_draws, *site_shape), float64 (Predictive pads global sites)."""
        out = value.reshape(n_draws, *self._site_shapes[name])
        return out.to(torch.float64) if out.is_floating_point() else out

    # ---------------------------------------------------------------- posterior
    def sample_posterior(self, n_draws: int, random_state=None) -> Draws:
        """``n_draws`` posterior draws of every latent site, shape (n_draws, \\*site_shape).

        NUTS: a random subset of the stored draws (with replacement only when more are asked
        for than were kept). SVI: fresh draws from the guide.
        """
        self._check_is_fitted()
        n_draws = self._check_n_draws(n_draws)
        if self.inference == "svi":
            return self._guide_draws(n_draws, random_state)
        pool = {k: v.reshape(-1, *v.shape[2:]) for k, v in self.samples_.items()}
        n_pool = next(iter(pool.values())).shape[0]
        rs = check_random_state(random_state)
        idx = rs.choice(n_pool, size=n_draws, replace=n_draws > n_pool)
        idx_t = torch.as_tensor(idx, dtype=torch.int64)
        return {k: v[idx_t] for k, v in pool.items()}

    def posterior_mean(self) -> Draws:
        """The mean of the stored draws of each latent site (leading axis of length 1)."""
        self._check_is_fitted()
        return {
            k: v.reshape(-1, *v.shape[2:]).mean(0, keepdim=True) for k, v in self.samples_.items()
        }

    # --------------------------------------------------------------- densities
    def _z_codes(self, z_arr: np.ndarray) -> torch.Tensor:
        if self.z_kind == "discrete":
            return self._encode(z_arr, self.z_classes_, "z", "a value of z in fit")
        return torch.as_tensor(z_arr, dtype=torch.float64)

    def _model_y(self, y_t) -> torch.Tensor:
        if self.y_kind == "continuous" and self._y_1d:
            return y_t[..., 0]
        return y_t

    def _model_z(self, z_t) -> torch.Tensor:
        if self.z_kind == "continuous" and self._z_1d:
            return z_t[..., 0]
        return z_t

    def _plate_shaped(self, draws: Draws) -> Draws:
        """Left-pad each draw so its batch part spans ``max_plate_nesting_`` dims after S."""
        out = {}
        for name in self.latent_sites_:
            value = draws[name]
            site_shape = value.shape[1:]
            n_batch = len(site_shape) - self._event_dims[name]
            pad = self.max_plate_nesting_ - n_batch
            if pad < 0:
                raise ValueError(
                    f"draws[{name!r}] has shape {tuple(site_shape)} per draw, more batch dims "
                    f"than the model's {self.max_plate_nesting_} plate(s)."
                )
            out[name] = value.reshape(value.shape[0], *([1] * pad), *site_shape)
        return out

    @staticmethod
    def _c_kw(c) -> dict:
        return {} if c is None else {"covariates": c}

    def _z_site(self, y_t, z_t, draws: Draws, c=None) -> dict:
        """The model's ``"z"`` site traced with ``θ_s`` fixed, all draws under one draw plate.

        With ``z_t=None`` the site's value is a draw ``z ~ p(z | y, θ_s)`` (torch's generator).
        """
        conditioned = poutine.condition(self.model, data=self._plate_shaped(draws))
        with (
            poutine.block(),
            pyro.plate(
                "_mechanism_draws", self._n_draws(draws), dim=-(self.max_plate_nesting_ + 1)
            ),
        ):
            return poutine.trace(conditioned).get_trace(y_t, z_t, **self._c_kw(c)).nodes["z"]

    def _z_site_one(self, y_t, z_t, draw, c=None) -> dict:
        model = poutine.condition(self.model, data=draw)
        with poutine.block():
            trace = poutine.trace(model).get_trace(y_t, z_t, **self._c_kw(c))
        return trace.nodes["z"]

    @staticmethod
    def _n_draws(draws: Draws) -> int:
        return next(iter(draws.values())).shape[0]

    def _check_site_rows(self, numel: int, n_draws: int, n_rows: int, what: str) -> None:
        if numel != n_draws * n_rows:
            raise ValueError(
                f"model's 'z' site gave {what} with {numel} entries for {n_draws} draws and "
                f"{n_rows} rows; the model must broadcast over a draw plate (index parameters "
                "with '...'), or pass vectorize=False."
            )

    def _site_log_prob(self, y_t, z_t, draws: Draws, c=None) -> torch.Tensor:
        """``log p(z_r | y_r, θ_s)`` of shape (S, R) for R rows, via the model's ``"z"`` site."""
        n_draws, n_rows = self._n_draws(draws), z_t.shape[0]
        if not self.vectorize:
            rows = []
            for s in range(n_draws):
                site = self._z_site_one(y_t, z_t, {k: v[s] for k, v in draws.items()}, c)
                rows.append(site["fn"].log_prob(site["value"]).reshape(n_rows))
            return torch.stack(rows).to(torch.float64)
        site = self._z_site(y_t, z_t, draws, c)
        lp = site["fn"].log_prob(site["value"])
        self._check_site_rows(lp.numel(), n_draws, n_rows, f"log-probabilities {tuple(lp.shape)}")
        return lp.reshape(n_draws, n_rows).to(torch.float64)

    def _sample_rows(self, y, draws, c=None):
        # One trace per draw: under a draw plate a global site indexed with '...' can put the
        # draw axis left of the plate's dim, which log_prob forgives by broadcasting but a
        # sampled value does not (it would be broadcast to S x S x R).
        y_t = self._model_y(y)
        n_draws, n_rows = self._n_draws(draws), y.shape[0]
        values = torch.stack(
            [
                self._z_site_one(y_t, None, {k: v[s] for k, v in draws.items()}, c)["value"]
                for s in range(n_draws)
            ]
        )
        if self.z_kind == "discrete":
            self._check_site_rows(values.numel(), n_draws, n_rows, "samples")
            return values.reshape(n_draws, n_rows).to(torch.int64)
        d_z = self.z_dim_
        self._check_site_rows(values.numel() // d_z, n_draws, n_rows, "samples")
        return values.reshape(n_draws, n_rows, d_z).to(torch.float64)

    def _log_prob_rows(self, z, y, draws, c=None):
        return self._site_log_prob(self._model_y(y), self._model_z(z), draws, c)

    def _log_prob_grid(self, z, y_values, draws, c=None):
        n_draws, n, m = next(iter(draws.values())).shape[0], z.shape[0], y_values.shape[0]
        chunk = max(1, _MAX_TRACE_ROWS // max(1, n_draws * n))
        blocks = []
        for start in range(0, m, chunk):  # usually one block; splits over values, never rows
            y_blk = y_values[start : start + chunk]
            k = y_blk.shape[0]
            y_rep = self._model_y(y_blk.repeat_interleave(n, dim=0))  # value-major rows
            z_rep = self._model_z(z.repeat((k,) + (1,) * (z.dim() - 1)))
            c_rep = None if c is None else c.repeat(k, 1)
            lp = self._site_log_prob(y_rep, z_rep, draws, c_rep)  # (S, k * N)
            blocks.append(lp.reshape(n_draws, k, n).transpose(1, 2))
        return torch.cat(blocks, dim=-1)

    # -------------------------------------------------------------------- arviz
    def to_inference_data(self):
        """The stored posterior draws as ``arviz.InferenceData``.

        ``posterior`` has dims ``chain``, ``draw``, then the plate names of each site's batch
        dims (e.g. ``y_class``, with the classes as coordinates) and ``<site>_dim_<i>`` for event
        dims; ``observed_data`` holds ``y`` and ``z``; ``sample_stats`` holds ``diverging``
        for NUTS.
        """
        self._check_is_fitted()
        dims, coords = {}, {}
        for name, value in self.samples_.items():
            site_shape = value.shape[2:]
            n_batch = len(site_shape) - self._event_dims[name]
            names = []
            for i in range(len(site_shape)):
                plate = self._plates[name].get(i - n_batch) if i < n_batch else None
                if plate is not None and plate[1] == site_shape[i]:
                    names.append(plate[0])
                    if plate[0] == "y_class" and self.y_kind == "discrete":
                        coords["y_class"] = self.classes_
                else:
                    names.append(f"{name}_dim_{i}")
            dims[name] = names
        y, z = self._y_obs, self._z_obs
        dims["y"] = ["obs"] if y.ndim == 1 else ["obs", "y_dim"]
        dims["z"] = ["obs"] if z.ndim == 1 else ["obs", "z_dim"]
        stats = None
        if getattr(self, "diverging_", None) is not None:
            stats = {"diverging": self.diverging_}
        return to_inference_data(
            {k: v.numpy() for k, v in self.samples_.items()},
            dims=dims,
            coords=coords,
            observed_data={"y": y, "z": z},
            sample_stats=stats,
        )

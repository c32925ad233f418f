"""Shared fixtures (a clean, validated Pyro and seeded torch/numpy for every test) and helpers
that read the committed benchmark results in ``benchmarks/results/``."""

import importlib.util
import json
import os
import re
from pathlib import Path

import matplotlib
import numpy as np
import pyro
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
#: The committed benchmark results that every number in the README and the docs comes from.
RESULTS = ROOT / "benchmarks" / "results"

#: ``BAYES_MECH_SLOW=1`` runs the long form of ``slow`` tests; CI runs their short form.
SLOW = os.environ.get("BAYES_MECH_SLOW", "0") == "1"


@pytest.fixture(autouse=True)
def pyro_env():
    """Clear Pyro's param store, enable validation and seed every generator before each test."""
    pyro.clear_param_store()
    pyro.enable_validation(True)
    pyro.set_rng_seed(0)  # seeds torch, numpy and python's random
    yield
    pyro.clear_param_store()


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def scale(short: int, long: int) -> int:
    """Pick the size of a statistical test: ``long`` under BAYES_MECH_SLOW=1, else ``short``."""
    return long if SLOW else short


def results_json(name: str) -> dict:
    """``benchmarks/results/<name>.json``; ``name`` may hold a folder (``"demo/results"``)."""
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def load_bench(name: str):
    """``benchmarks/bench_<name>.py`` as a module, and its results JSON."""
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", ROOT / "benchmarks" / f"bench_{name}.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench, results_json(name)


def numbers(text: str) -> list[str]:
    """Every number written in ``text``, as it is written (``"0.126"``, ``"5000"``)."""
    return re.findall(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w])", text)


def calibration_khat(setting: str) -> list[float]:
    """The PSIS k-hat that ``resampler="auto"`` quoted in its reason, per run of ``setting``
    in ``calibration.json`` (the median over draws, at its largest over intervention values)."""
    return [
        float(re.search(r"max k-hat ([\d.]+)", r["reason"]).group(1))
        for r in results_json("calibration")["records"]
        if r["setting"] == setting and r["resampler"] == "auto"
    ]


def per_class_normal(y, z=None):
    """p(z | y) = N(loc_y, scale_y): a user's own Pyro mechanism model (the z site broadcasts
    over posterior draws); a saved file cannot hold it."""
    import pyro.distributions as pdist
    import torch

    one = torch.ones((), dtype=torch.float64)
    with pyro.plate("y_class", 2):
        loc = pyro.sample("loc", pdist.Normal(0.0 * one, 10.0 * one))
        scale = pyro.sample("scale", pdist.HalfNormal(5.0 * one))
    with pyro.plate("data", y.shape[0]):
        return pyro.sample("z", pdist.Normal(loc[..., y], scale[..., y]), obs=z)


def binary_frontdoor(n, seed, covariate=False):
    """Binary y and z: u -> y, u -> x2, y -> z -> x1 (E[x | do(y)] has a closed form), and with
    ``covariate`` a binary covariate independent of the rest, as a fourth output."""
    rng = np.random.default_rng(seed)
    u = rng.random(n) < 0.5
    y = (rng.random(n) < np.where(u, 0.8, 0.2)).astype(int)
    z = (rng.random(n) < np.where(y == 1, 0.8, 0.2)).astype(int)
    X = np.c_[2.0 * z + rng.normal(size=n), 2.0 * u + rng.normal(size=n)]
    if covariate:
        return X, y, z, (rng.random(n) < 0.5).astype(float)
    return X, y, z

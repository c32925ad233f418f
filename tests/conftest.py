"""Shared fixtures: a clean, validated Pyro and seeded torch/numpy for every test."""

import os

import matplotlib
import numpy as np
import pyro
import pytest

matplotlib.use("Agg")

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

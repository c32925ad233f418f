"""A fitted built-in mechanism through JSON and npz and back: the same densities and draws."""

import io
import json

import numpy as np
import pytest
import torch

import bayes_mech.mechanisms as mechanisms
from bayes_mech.mechanisms import (
    CategoricalMechanism,
    ConditionalGaussianMechanism,
    GaussianMechanism,
    LinearGaussianMechanism,
    LogisticCategoricalMechanism,
    PyroMechanism,
)
from bayes_mech.mechanisms._persist import REBUILDABLE, mechanism_from_state, mechanism_state

RNG = np.random.default_rng(0)
N = 300
Y = RNG.integers(0, 3, N)  # discrete y, classes 0, 1, 2
Y_CONT = RNG.normal(size=N)
C = RNG.normal(size=(N, 2))
Z_CAT = (RNG.random(N) < 0.3 + 0.2 * Y).astype(int)
Z = np.c_[Y + RNG.normal(size=N), Y_CONT + RNG.normal(size=N)]  # 2-D continuous z


def _through_files(mechanism):
    """``mechanism`` written as save writes it (JSON, npz without pickle) and read back."""
    spec, arrays = mechanism_state(mechanism)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return mechanism_from_state(json.loads(json.dumps(spec)), arrays)


#: name -> (unfitted mechanism, y, z, covariates, intervention values)
CASES = {
    "categorical": (CategoricalMechanism, Y, Z_CAT, None, [0, 2]),
    "gaussian": (lambda: GaussianMechanism(prior_kappa=0.5), Y, Z, None, [0, 1, 2]),
    "linear-gaussian": (lambda: LinearGaussianMechanism(degree=2), Y_CONT, Z[:, 1], None, [-1.0]),
    "linear-gaussian+c": (LinearGaussianMechanism, Y_CONT, Z, C, [-1.0, 0.5]),
    "conditional-gaussian+c": (ConditionalGaussianMechanism, Y, Z, C, [0, 1, 2]),
    "logistic-categorical+c": (
        lambda: LogisticCategoricalMechanism(num_samples=50),
        Y,
        Z_CAT,
        C,
        [0, 2],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_round_trip_gives_the_same_densities_and_draws(case):
    make, y, z, c, values = CASES[case]
    mech = make().fit(y, z, random_state=0, **({} if c is None else {"covariates": c}))
    copy = _through_files(mech)
    assert type(copy) is type(mech) and repr(copy) == repr(mech)
    draws = mech.sample_posterior(5, random_state=0)
    for name, value in copy.sample_posterior(5, random_state=0).items():
        assert torch.equal(value, draws[name]), name
    for name, value in copy.posterior_mean().items():
        assert torch.equal(value, mech.posterior_mean()[name]), name
    assert torch.equal(
        copy.log_prob(z, values, draws, covariates=c), mech.log_prob(z, values, draws, covariates=c)
    )
    rows = np.resize(np.asarray(values), N)
    np.testing.assert_array_equal(
        copy.sample_z(rows, draws, random_state=1, covariates=c),
        mech.sample_z(rows, draws, random_state=1, covariates=c),
    )


def test_training_rows_are_not_saved():
    _, arrays = mechanism_state(GaussianMechanism().fit(Y, Z))
    assert not any(k.startswith(("mechanism/_y_obs", "mechanism/_z_obs")) for k in arrays)
    assert all(v.shape[0] != N for v in arrays.values() if v.ndim)


def test_every_built_in_mechanism_is_rebuildable():
    """A new built-in mechanism must be registered where resolve_mechanism finds it."""
    built_in = {
        name
        for name in mechanisms.__all__
        if isinstance(getattr(mechanisms, name), type)
        and issubclass(getattr(mechanisms, name), mechanisms.Mechanism)
    }
    assert set(REBUILDABLE) == built_in - {"Mechanism", "PyroMechanism"}


class ShiftedGaussian(GaussianMechanism):
    """A user's subclass: its overrides are code, so it is not rebuilt as its parent."""


def _model(y, z=None):
    import pyro
    import pyro.distributions as dist

    loc = pyro.sample("loc", dist.Normal(torch.zeros(3, dtype=torch.float64), 5.0).to_event(1))
    with pyro.plate("data", y.shape[0]):
        return pyro.sample("z", dist.Normal(loc[..., y], 1.0), obs=z)


def test_mechanisms_that_are_code_have_no_plain_form():
    assert mechanism_state(ShiftedGaussian().fit(Y, Z)) is None
    assert mechanism_state(PyroMechanism(_model, inference="svi")) is None
    svi = LogisticCategoricalMechanism(inference="svi", num_steps=20, num_samples=10)
    assert mechanism_state(svi.fit(Y, Z_CAT, random_state=0, covariates=C)) is None  # its guide
    assert mechanism_state(None) is None


def test_a_file_naming_other_code_is_refused():
    mech = LogisticCategoricalMechanism(num_samples=20).fit(Y, Z_CAT, covariates=C)
    spec, arrays = mechanism_state(mech)
    assert spec["state"]["model_"]["partial"] == "multinomial_logistic_model"
    spec["state"]["model_"]["partial"] = "exec"
    with pytest.raises(ValueError, match="model 'exec', which is not one of bayes-mech's"):
        mechanism_from_state(spec, arrays)
    with pytest.raises(ValueError, match="class 'ShiftedGaussian' is not one that bayes-mech"):
        mechanism_from_state({"class": "ShiftedGaussian", "state": {}}, {})

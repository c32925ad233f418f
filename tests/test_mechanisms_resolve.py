"""resolve_mechanism: the data decide the conjugate mechanism; names and instances override."""

import numpy as np
import pandas as pd
import pytest

from bayes_mech.mechanisms import (
    CategoricalMechanism,
    GaussianMechanism,
    LinearGaussianMechanism,
    infer_kind,
    resolve_mechanism,
)

N = 50
RNG = np.random.default_rng(0)
Y_INT = RNG.integers(0, 3, N)
Y_FLOAT = RNG.normal(size=N)
Z_INT = RNG.integers(0, 4, N)
Z_FLOAT = RNG.normal(size=(N, 2))


@pytest.mark.parametrize(
    ("y", "z", "expected"),
    [
        (Y_INT, Z_INT, CategoricalMechanism),
        (Y_INT.astype(bool), Z_INT, CategoricalMechanism),
        (Y_INT, Z_FLOAT, GaussianMechanism),
        (Y_INT.astype(np.float64) + 1.0, Z_FLOAT, GaussianMechanism),  # labels stored as floats
        (Y_FLOAT, Z_FLOAT, LinearGaussianMechanism),
        (Y_FLOAT, Z_FLOAT[:, 0], LinearGaussianMechanism),
        (pd.Series(Y_INT), pd.DataFrame(Z_FLOAT), GaussianMechanism),
    ],
)
def test_auto_picks_by_kind(y, z, expected):
    mech = resolve_mechanism(y, z)
    assert type(mech) is expected
    assert not hasattr(mech, "y_kind_")  # unfitted


def test_infer_kind_rules():
    assert infer_kind(np.arange(N)) == "discrete"  # integer dtype: discrete whatever the count
    assert infer_kind(np.arange(N, dtype=float)) == "continuous"  # > 10 whole-number values
    assert infer_kind(np.arange(10, dtype=float)) == "discrete"
    assert infer_kind(np.array([0.0, 1.5])) == "continuous"
    assert infer_kind(np.array([[0, 1], [1, 0]])) == "continuous"  # two columns
    assert infer_kind(np.array([[0], [1]])) == "discrete"  # a single column is a vector
    assert infer_kind(np.array([0.0, np.nan])) == "continuous"  # fit reports the NaN


def test_overrides_and_names():
    assert type(resolve_mechanism(Y_FLOAT, Z_FLOAT, y_kind="discrete")) is GaussianMechanism
    assert type(resolve_mechanism(Y_INT, Z_FLOAT, y_kind="continuous")) is LinearGaussianMechanism
    assert type(resolve_mechanism(Y_INT, Z_INT, "categorical")) is CategoricalMechanism
    assert type(resolve_mechanism(Y_INT, Z_FLOAT, "Gaussian")) is GaussianMechanism
    assert type(resolve_mechanism(Y_FLOAT, Z_FLOAT, "linear_gaussian")) is LinearGaussianMechanism
    with pytest.raises(ValueError, match="needs discrete y, but y is continuous"):
        resolve_mechanism(Y_FLOAT, Z_FLOAT, "gaussian")
    with pytest.raises(ValueError, match="mechanism must be one of"):
        resolve_mechanism(Y_INT, Z_INT, "kde")
    with pytest.raises(ValueError, match="z_kind must be one of"):
        resolve_mechanism(Y_INT, Z_INT, z_kind="ordinal")
    with pytest.raises(TypeError, match="mechanism must be 'auto'"):
        resolve_mechanism(Y_INT, Z_INT, 3)


def test_continuous_y_discrete_z_points_to_pyro_mechanism():
    with pytest.raises(ValueError, match=r"No built-in mechanism.*PyroMechanism"):
        resolve_mechanism(Y_FLOAT, Z_INT)


def test_unfitted_instance_is_cloned_and_fitted_one_reused():
    template = GaussianMechanism(prior_kappa=2.0)
    out = resolve_mechanism(Y_INT, Z_FLOAT, template)
    assert out is not template and type(out) is GaussianMechanism
    assert out.prior_kappa == 2.0
    out.fit(Y_INT, Z_FLOAT)
    assert not hasattr(template, "y_kind_")  # fitting the result leaves the caller's alone
    # A fitted instance keeps its posterior: returned as is, not refitted.
    assert resolve_mechanism(Y_INT, Z_FLOAT, out) is out

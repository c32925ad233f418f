"""Shared input checks: the messages name the argument, what was expected and what was got."""

import numpy as np
import pytest
import torch

from bayes_mech._validation import (
    check_array,
    check_consistent_length,
    check_labels,
    check_option,
    check_positive_int,
    check_random_state,
    check_sample_weight,
    resolve_device,
    seed_from,
)


def test_check_array_converts_inputs():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]})
    for value in (frame, torch.tensor([[1, 3.0], [2, 4.0]]), [[1, 3], [2, 4]]):
        out = check_array(value, "X")
        assert out.dtype == np.float64 and out.flags.c_contiguous
        np.testing.assert_array_equal(out, [[1, 3], [2, 4]])
    assert check_array([1.0, 2.0], "X", allow_1d=True).shape == (2, 1)


@pytest.mark.parametrize(
    ("value", "exc", "match"),
    [
        ([[1.0, np.nan]], ValueError, "X must be finite; got 1 NaN and 0 infinite"),
        ([[1.0, np.inf]], ValueError, "0 NaN and 1 infinite"),
        ([1.0, 2.0], ValueError, r"X must be a 2-D array; got 1-D.*reshape\(-1, 1\)"),
        ([[1.0, 2.0], [3.0]], ValueError, "X must be a rectangular"),
        ([["a", "b"]], TypeError, "X must hold numbers"),
        (np.zeros((0, 2)), ValueError, "at least 1 row"),
        (None, TypeError, "X must be an array-like, got None"),
    ],
)
def test_check_array_rejects(value, exc, match):
    with pytest.raises(exc, match=match):
        check_array(value, "X")


def test_check_labels():
    np.testing.assert_array_equal(check_labels([[1], [2]], "y"), [1, 2])
    with pytest.raises(ValueError, match="y must be 1-D"):
        check_labels(np.zeros((3, 2)), "y")
    with pytest.raises(ValueError, match="y must be finite"):
        check_labels([1.0, np.nan], "y")
    with pytest.raises(TypeError, match="y must hold numbers"):
        check_labels(["a", "b"], "y")


def test_check_sample_weight():
    np.testing.assert_array_equal(check_sample_weight(None, 3), np.ones(3))
    assert check_sample_weight(np.ones((4, 3)), 3).shape == (4, 3)
    with pytest.raises(ValueError, match=r"shape \(3,\) or \(n_batch, 3\); got \(4,\)"):
        check_sample_weight(np.ones(4), 3)
    with pytest.raises(ValueError, match="non-negative; got 1 negative"):
        check_sample_weight([1.0, -1.0, 1.0], 3)
    with pytest.raises(ValueError, match=r"all-zero weights in batch row\(s\) \[1\]"):
        check_sample_weight([[1.0, 0, 0], [0, 0, 0]], 3)
    with pytest.raises(ValueError, match="sample_weight must be finite"):
        check_sample_weight([1.0, np.nan, 1.0], 3)


def test_small_checks():
    assert check_consistent_length(a=[1, 2], b=np.zeros(2)) == 2
    with pytest.raises(ValueError, match="a has 2, b has 3"):
        check_consistent_length(a=[1, 2], b=[1, 2, 3])
    with pytest.raises(ValueError, match=r"covariance_type must be one of \['full', 'diag'\]"):
        check_option("fulll", "covariance_type", ["full", "diag"])
    with pytest.raises(TypeError, match="n_draws must be an integer"):
        check_positive_int(True, "n_draws")
    with pytest.raises(ValueError, match="n_draws must be an integer >= 1; got 0"):
        check_positive_int(0, "n_draws")


def test_random_state():
    a, b = check_random_state(3), check_random_state(3)
    assert a.randint(1000) == b.randint(1000)
    rs = np.random.RandomState(0)
    assert check_random_state(rs) is rs
    assert seed_from(np.random.default_rng(1)) == seed_from(np.random.default_rng(1))
    with pytest.raises(TypeError, match="random_state must be None, an int"):
        check_random_state("0")
    with pytest.raises(ValueError, match="random_state must be in"):
        check_random_state(-1)


def test_resolve_device():
    assert resolve_device(None) == torch.device("cpu")
    with pytest.raises(ValueError, match="device must name a torch device"):
        resolve_device("gpu7")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")

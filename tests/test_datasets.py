"""The Appendix-A generators reproduce the distributions their SCMs state."""

import gzip
import math

import numpy as np
import pytest
from scipy import stats

from bayes_mech.datasets import (
    load_mnist_idx,
    make_background_digits,
    make_frontdoor_classification,
    make_frontdoor_regression,
    sample_interventional,
    sample_interventional_digits,
)

N = 40_000


def _z_score(estimate, truth, se):
    return abs(estimate - truth) / se


def _corr_se(n):
    # Standard error of a sample correlation near 0 (Fisher): 1/sqrt(n - 3).
    return 1 / math.sqrt(n - 3)


# ------------------------------------------------------------------ A.1 classification
@pytest.mark.parametrize(("confounded", "p_two"), [(True, 0.75 * 0.2 + 0.25 * 0.8), (False, 0.5)])
def test_classification_class_balance(confounded, p_two):
    d = make_frontdoor_classification(N, confounded=confounded, random_state=1)
    se = math.sqrt(p_two * (1 - p_two) / N)
    assert _z_score((d.y == 2).mean(), p_two, se) < 4
    assert d.X.shape == (N, 2) and d.X.dtype == np.float64 and d.y.dtype == np.int64
    assert set(np.unique(d.y)) == {1, 2} and set(np.unique(d.u)) == {1, 2}


def test_classification_confounding_only_through_x2():
    conf = make_frontdoor_classification(N, confounded=True, random_state=2)
    nonconf = make_frontdoor_classification(N, confounded=False, random_state=2)
    # X2 depends on U only, so it correlates with y only when U -> Y exists.
    assert np.corrcoef(conf.X[:, 1], conf.y)[0, 1] > 0.4
    assert abs(np.corrcoef(nonconf.X[:, 1], nonconf.y)[0, 1]) < 4 * _corr_se(N)
    # The mechanism path y -> z -> X1 exists in both.
    assert np.corrcoef(nonconf.X[:, 0], nonconf.y)[0, 1] > 0.3


def test_classification_conditionals_match_scm():
    d = make_frontdoor_classification(N, random_state=3)
    for label, mean in [(1, -1.2), (2, 1.2)]:
        z = d.z[d.y == label]
        assert _z_score(z.mean(), mean, 1 / math.sqrt(z.size)) < 4
    u_two = (d.u == 2).mean()
    assert _z_score(u_two, 0.25, math.sqrt(0.25 * 0.75 / N)) < 4


@pytest.mark.parametrize("y_value", [1, 2])
def test_classification_do_matches_analytic(y_value):
    # Under do(y): Z ~ N(±1.2, 1), X1 a two-point mixture of N(±1.8, 1), X2 ⟂ X1 with U ~ prior.
    d = sample_interventional("classification", y_value, N, random_state=4)
    p_pos = stats.norm.cdf(1.2 if y_value == 2 else -1.2)  # P(Z >= 0 | do(y))
    mean1 = 1.8 * (2 * p_pos - 1)
    var1 = 1 + 1.8**2 * (1 - (2 * p_pos - 1) ** 2)
    mean2, var2 = 2.4 * (0.25 - 0.75), 1 + 2.4**2 * (1 - 0.5**2)
    for j, (m, v) in enumerate([(mean1, var1), (mean2, var2)]):
        assert _z_score(d.X[:, j].mean(), m, math.sqrt(v / N)) < 4
        # Var of the sample variance ≈ (μ4 - σ^4)/N; for these mixtures μ4 < 3.5 σ^4.
        assert _z_score(d.X[:, j].var(), v, v * math.sqrt(2.5 / N)) < 4
    assert np.all(d.y == y_value) and d.intervention == y_value
    assert abs(np.corrcoef(d.X[:, 0], d.X[:, 1])[0, 1]) < 4 * _corr_se(N)


# ---------------------------------------------------------------------- A.2 regression
def _ols_slope(a0=2.0, a1=1.0, b=1.5, c1=1.0, c0=5.0):
    var_y = a1**2 + 1
    cov_xy = c1 * b * var_y + c0 * a1
    var_x = c1**2 * (b**2 * var_y + 1) + c0**2 + 2 * c0 * c1 * b * a1 + 1
    return cov_xy / var_x


@pytest.mark.parametrize(("confounded", "slope"), [(True, _ols_slope()), (False, _ols_slope(c0=0))])
def test_regression_ols_slope(confounded, slope):
    assert slope == pytest.approx(8 / 46.5 if confounded else 3 / 6.5)
    d = make_frontdoor_regression(N, confounded=confounded, random_state=5)
    x, y = d.X[:, 0], d.y
    fitted = stats.linregress(x, y)
    assert _z_score(fitted.slope, slope, fitted.stderr) < 4
    assert d.X.shape == (N, 1) and d.y.dtype == np.float64


@pytest.mark.parametrize("y_value", [1.0, 3.5])
def test_regression_do_matches_analytic(y_value):
    # X | do(y) = c1 (b y + e_z) + c0 U + e_x ~ N(1.5 y, 1 + 25 + 1).
    d = sample_interventional("regression", y_value, N, random_state=6)
    mean, var = 1.5 * y_value, 27.0
    assert _z_score(d.X[:, 0].mean(), mean, math.sqrt(var / N)) < 4
    assert _z_score(d.X[:, 0].var(), var, var * math.sqrt(2 / N)) < 4
    nonconf = sample_interventional("regression", y_value, N, random_state=6, confounded=False)
    assert _z_score(nonconf.X[:, 0].var(), 2.0, 2.0 * math.sqrt(2 / N)) < 4


# ------------------------------------------------------------------- A.3 digits
def test_background_brightness_tracks_y_only_when_confounded():
    n = 3000
    conf = make_background_digits(n, confounded=True, random_state=7)
    nonconf = make_background_digits(n, confounded=False, random_state=7)
    # Pixel (0, 0) of the 8x8 digits is always blank, so it shows the background alone.
    assert np.corrcoef(conf.X[:, 0], conf.y)[0, 1] > 0.5
    assert abs(np.corrcoef(nonconf.X[:, 0], nonconf.y)[0, 1]) < 4 * _corr_se(n)
    for d in (conf, nonconf):
        agree = (d.z == d.y).mean()
        assert _z_score(agree, 0.95, math.sqrt(0.95 * 0.05 / n)) < 4
        assert d.X.min() >= 0 and d.X.max() <= 16


def test_background_digits_show_the_digit_z_names():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    d = make_background_digits(200, confounded=False, random_state=8)
    # Removing the background shift must leave (up to clipping at 16) an image of digit z.
    pool = {1: bunch.data[bunch.target == 2], 2: bunch.data[bunch.target == 6]}
    v = 8 * (0.5 * np.tanh(d.u / 5) + 0.5)
    for x, z, shift in zip(d.X, d.z, v, strict=True):
        candidates = np.clip(pool[int(z)] + shift, 0, 16)
        assert np.min(np.abs(candidates - x).max(axis=1)) < 1e-9


def test_digits_do_sets_label_and_keeps_mechanism():
    d = sample_interventional_digits(1, n_samples=2000, random_state=9)
    assert np.all(d.y == 1)
    assert _z_score((d.z == 1).mean(), 0.95, math.sqrt(0.95 * 0.05 / 2000)) < 4


# ------------------------------------------------------------------- determinism
@pytest.mark.parametrize(
    "make", [make_frontdoor_classification, make_frontdoor_regression, make_background_digits]
)
def test_same_seed_same_arrays(make):
    a, b, c = make(300, random_state=11), make(300, random_state=11), make(300, random_state=12)
    for field in ("X", "y", "z", "u"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.X, c.X)


def test_generators_do_not_touch_global_torch_state():
    import torch

    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    make_frontdoor_classification(100, random_state=1)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


# ------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: make_frontdoor_classification(-5), ValueError, "n_samples"),
        (lambda: make_frontdoor_regression(2.5), TypeError, "n_samples"),
        (lambda: make_background_digits(10, digits=(2, 11)), ValueError, "digits"),
        (lambda: make_background_digits(10, digits=(3, 3)), ValueError, "digits"),
        (
            lambda: make_background_digits(10, images=np.zeros((5, 4)), labels=np.zeros(4)),
            ValueError,
            "same number of rows",
        ),
        (lambda: make_background_digits(10, images=np.zeros((5, 4))), ValueError, "labels"),
        (lambda: sample_interventional("blobs", 1), ValueError, "dataset"),
        (lambda: sample_interventional("classification", 3), ValueError, "y_value"),
        (lambda: make_frontdoor_classification(10, random_state="a"), TypeError, "random_state"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------------- IDX files
def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_idx_round_trip(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    write = gzip.compress if compress else (lambda b: b)
    (tmp_path / "images").write_bytes(write(_idx_bytes(images)))
    (tmp_path / "labels").write_bytes(write(_idx_bytes(labels)))
    got_images, got_labels = load_mnist_idx(tmp_path / "images", tmp_path / "labels")
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_labels.dtype == np.int64
    # The images feed the digits generator directly.
    d = make_background_digits(
        50,
        images=got_images,
        labels=got_labels,
        digits=tuple(np.unique(labels)[:2]),
        random_state=0,
    )
    assert d.X.shape == (50, 28 * 28)


def test_load_mnist_idx_rejects_bad_files(tmp_path):
    images = np.zeros((4, 5, 5), dtype=np.uint8)
    good = _idx_bytes(images)
    labels = tmp_path / "labels"
    labels.write_bytes(_idx_bytes(np.arange(4, dtype=np.uint8)))
    (tmp_path / "truncated").write_bytes(good[:-7])
    with pytest.raises(ValueError, match=r"images_path.*truncated"):
        load_mnist_idx(tmp_path / "truncated", labels)
    (tmp_path / "notidx").write_bytes(b"PK\x03\x04 not an idx file")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_mnist_idx(tmp_path / "notidx", labels)
    (tmp_path / "badgz").write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(ValueError, match="damaged gzip"):
        load_mnist_idx(tmp_path / "badgz", labels)
    (tmp_path / "five").write_bytes(_idx_bytes(np.arange(5, dtype=np.uint8)))
    (tmp_path / "images").write_bytes(good)
    with pytest.raises(ValueError, match="4 images but labels_path holds 5"):
        load_mnist_idx(tmp_path / "images", tmp_path / "five")
    with pytest.raises(ValueError, match="does not exist"):
        load_mnist_idx(tmp_path / "missing", labels)

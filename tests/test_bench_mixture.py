"""benchmarks/bench_mixture.py: the float64 product floor and how the report uses it."""

import json

import numpy as np
import pytest
from conftest import load_bench


@pytest.fixture(scope="module")
def bench():
    return load_bench("mixture")[0]


def _timing(cpu_s: float) -> dict:
    return {"s_per_iter": cpu_s, "cpu_s_per_iter": cpu_s, "n_iter": 20, "repeats": 3,
            "peak_mb": 400.0, "extra_mb": 10.0}  # fmt: skip


def test_floor_is_measured_for_one_diagonal_mixture_only(bench):
    cfg = {"threads": 1, "n_iter": 2, "repeats": 1, "budget_s": 5.0, "spread": 0.7}
    for case in [(500, 4, 3, "full", 0), (500, 4, 3, "diag", 8), (500, 4, 3, "spherical", 0)]:
        assert "skipped" in bench.run_case(bench.FLOOR, case, cfg, timeout=60)


def test_floor_worker_runs_the_products_of_a_diagonal_iteration(bench, monkeypatch):
    shapes = []
    real_dot = np.dot

    def dot(a, b):
        shapes.append((a.shape, b.shape))
        return real_dot(a, b)

    monkeypatch.setattr(np, "dot", dot)
    X = np.random.default_rng(0).normal(size=(300, 7))
    bench.fitter(bench.FLOOR, 4, "diag")(X, None, 3)
    # [x², x, 1] (N, 2d + 1) times the (2d + 1, K) coefficients, and (K, N) responsibilities
    # times [x², x, 1], once each per iteration
    assert shapes == [((300, 15), (15, 4)), ((4, 300), (300, 15))] * 3


def test_targets_bound_the_speed_up_by_the_floor(bench):
    case = (5000, 784, 10, "diag", 0)
    row = {"bayes_mech": _timing(0.02), "sklearn": _timing(0.03), bench.FLOOR: _timing(0.015)}
    lines = bench.targets([case], [], [], {json.dumps(case): row}, "cpu_s_per_iter")
    floor = [line for line in lines if line.startswith("- floor")]
    assert floor == [
        "- floor at (5000, 784, 10, 'diag'): the float64 products of one iteration alone take "
        "0.015 s, so no implementation doing them can be more than 2.00x faster than "
        "scikit-learn here; ours takes 1.33x the floor."
    ]
    assert "- per iteration vs scikit-learn >= 1.5x: worst 1.5x" in "\n".join(lines)


def test_table_of_a_run_without_the_floor_column(bench):
    """A saved run from before the floor existed renders a dash, not a KeyError."""
    case = (5000, 784, 10, "diag", 0)
    row = {"bayes_mech": _timing(0.02), "sklearn": _timing(0.03)}
    lines = bench.table("t", [case], {json.dumps(case): row}, ["bayes_mech", "sklearn",
                        bench.FLOOR], "cpu_s_per_iter")  # fmt: skip
    body = next(line for line in lines if line.startswith("| 5000, 784"))
    cells = [c.strip() for c in body.split("|")[1:-1]]
    assert cells[4] == "–" and cells[5] == "1.5x" and cells[6] == "–"
    assert f"- {case[:4]} {bench.FLOOR}: not run (not measured in this run)." in lines

"""Figures: they draw what the diagnostics say."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from bayes_mech.plotting import plot_weight_diagnostics
from bayes_mech.weights import weight_diagnostics


@pytest.fixture
def diag():
    gen = torch.Generator().manual_seed(0)
    lw = torch.randn(5, 3, 400, dtype=torch.float64, generator=gen)
    lw[:, 2] *= 4.0  # a heavy-tailed intervention
    lw[:, 0] = 0.0  # uniform weights: k-hat not estimable (NaN)
    return weight_diagnostics(lw, interventions=[1.0, 2.0, 3.5])


def test_plot_weight_diagnostics_draws_every_draw_and_thresholds(diag):
    fig = plot_weight_diagnostics(diag)
    ess_ax, khat_ax = fig.axes
    assert ess_ax.get_yscale() == "log"
    assert [t.get_text() for t in ess_ax.get_xticklabels()] == ["1", "2", "3.5"]
    # dots: one line per intervention, holding every draw (k-hat NaN points left out)
    ess_points = np.concatenate([ln.get_ydata() for ln in ess_ax.lines if ln.get_marker() == "o"])
    np.testing.assert_allclose(np.sort(ess_points), np.sort(diag["ess_fraction"].values.ravel()))
    khat_points = np.concatenate([ln.get_ydata() for ln in khat_ax.lines if ln.get_marker() == "o"])
    finite = diag["khat"].values[np.isfinite(diag["khat"].values)]
    np.testing.assert_allclose(np.sort(khat_points), np.sort(finite))
    assert len(khat_points) == 10
    hlines = {
        ax: [ln.get_ydata()[0] for ln in ax.lines if ln.get_linestyle() == "--"] for ax in fig.axes
    }
    assert hlines[ess_ax] == [0.01] and hlines[khat_ax] == [0.7]
    plt.close(fig)


def test_plot_on_given_axes_and_bad_input(diag):
    fig, axes = plt.subplots(1, 2)
    assert plot_weight_diagnostics(diag, axes=axes) is fig
    with pytest.raises(ValueError, match="2 matplotlib Axes"):
        plot_weight_diagnostics(diag, axes=axes[:1])
    with pytest.raises(ValueError, match="'khat'"):
        plot_weight_diagnostics(diag.drop_vars("khat"))
    plt.close(fig)

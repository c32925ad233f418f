"""Figures of ``bayes-mech demo`` (matplotlib, Agg): one PNG per panel of the Table-1 run.

Kept apart from :mod:`bayes_mech.experiments` so that the experiment logic reads on its own and
matplotlib is imported only when figures are drawn.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from bayes_mech.exceptions import VoteShareWarning

__all__ = ["make_figures"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # never open a window: the demo runs headless (CI, servers)
    import matplotlib.pyplot as plt

    return plt


def _a1_boundaries(fitted, path: Path, seed: int) -> Path:
    """Naive vs ensemble decision boundary on A.1, the ensemble's entropy shaded."""
    plt = _pyplot()
    test = fitted["tests"]["nonconf"]
    naive, ens = fitted["naive"], fitted["ensemble"]
    lo, hi = np.percentile(test.X, [0.5, 99.5], axis=0)
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VoteShareWarning)  # the SVC members' vote shares
        proba = ens.predict_proba(grid)
    entropy = -(proba * np.log(np.clip(proba, 1e-300, 1))).sum(axis=1).reshape(g1.shape)
    p2 = proba[:, list(ens.classes_).index(2)].reshape(g1.shape)
    naive_pred = (naive.predict(grid) == 2).astype(float).reshape(g1.shape)

    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    shade = ax.contourf(g1, g2, entropy, levels=12, cmap="Greys", alpha=0.6)
    fig.colorbar(shade, ax=ax, label="ensemble predictive entropy (nats)")
    rows = np.random.default_rng(seed).choice(len(test.y), min(600, len(test.y)), replace=False)
    for label, color in ((1, "tab:blue"), (2, "tab:orange")):
        keep = rows[test.y[rows] == label]
        ax.scatter(*test.X[keep].T, s=6, color=color, alpha=0.5, label=f"y = {label}")
    ax.contour(g1, g2, naive_pred, levels=[0.5], colors="tab:red", linewidths=2)
    ax.contour(g1, g2, p2, levels=[0.5], colors="black", linewidths=2)
    ax.axvline(0.0, color="tab:green", linestyle="--", linewidth=1.5)
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles += [
        Line2D([], [], color="tab:red", linewidth=2),
        Line2D([], [], color="black", linewidth=2),
        Line2D([], [], color="tab:green", linestyle="--"),
    ]
    labels += ["naive SVM", "Bayesian ensemble (P = 0.5)", "causal boundary x1 = 0"]
    ax.legend(handles, labels, loc="upper left", fontsize=8)
    ax.set(
        xlabel="x1 (caused by y through z)",
        ylabel="x2 (confounder only)",
        title=f"A.1: decision boundaries on the non-confounded test set (seed {seed})",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _a2_regression(fitted, path: Path, seed: int, full_range=None) -> Path:
    """Regression lines of every method, the ensemble's 90 % predictive interval shaded.

    ``full_range``: the fits of the A.2 variant whose intervention values span all of ``y``;
    its ensemble's line is drawn too.
    """
    plt = _pyplot()
    test = fitted["tests"]["nonconf"]
    grid = np.linspace(*np.percentile(test.X[:, 0], [0.5, 99.5]), 200)[:, None]
    ens = fitted["ensemble"]
    interval = ens.predict_interval(grid, alpha=0.1)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.scatter(test.X[:, 0], test.y, s=5, color="0.6", alpha=0.5, label="non-confounded test")
    ax.fill_between(grid[:, 0], *interval.T, color="black", alpha=0.15, label="ensemble 90 %")
    styles = {
        "naive": ("tab:red", "-"),
        "cb": ("tab:blue", ":"),
        "cwgmm": ("tab:green", "--"),
        "ensemble": ("black", "-"),
    }
    names = {"naive": "naive", "cb": "causal bootstrap", "cwgmm": "CW-GMM", "ensemble": "ensemble"}
    for method, (color, style) in styles.items():
        ax.plot(grid[:, 0], fitted[method].predict(grid), color=color, linestyle=style,
                linewidth=2, label=names[method])  # fmt: skip
    if full_range is not None:
        ax.plot(grid[:, 0], full_range["ensemble"].predict(grid), color="tab:purple",
                linestyle="-.", linewidth=2, label="ensemble, full-range design")  # fmt: skip
    ax.set(xlabel="x", ylabel="y", title=f"A.2: regression of y on x (seed {seed})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _a3_digits(fitted, path: Path, seed: int, side: int, n_per_class: int = 10) -> Path:
    """Deconfounded digit samples per class (``sample_interventional``) above confounded rows."""
    plt = _pyplot()
    ens, train = fitted["ensemble"], fitted["train"]
    classes = list(ens.classes_)
    vmax = float(train.X.max())
    rows = []
    for v in classes:
        shown = train.X[train.y == v][:n_per_class]
        rows.append((f"training rows, y={v}", shown))
    for i, v in enumerate(classes):
        samples = ens.sample_interventional(v, n_per_class, random_state=seed + i)
        rows.append((f"do(y={v}) samples", np.clip(samples, 0.0, vmax)))
    fig, axes = plt.subplots(len(rows), n_per_class, figsize=(n_per_class * 0.9, len(rows) * 1.0))
    for r, (label, images) in enumerate(rows):
        for c in range(n_per_class):
            ax = axes[r, c]
            if c < len(images):
                ax.imshow(images[c].reshape(side, side), cmap="gray", vmin=0.0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(f"A.3: confounded training images vs deconfounded CW-GMM samples (seed {seed})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _weights(first_fits, path: Path) -> Path:
    """ESS/N and PSIS k-hat of each dataset's ensemble weights: one row of panels per dataset."""
    from bayes_mech.plotting import plot_weight_diagnostics

    plt = _pyplot()
    keys = list(first_fits)
    fig, axes = plt.subplots(
        len(keys), 2, figsize=(9.0, 3.0 * len(keys)), squeeze=False, layout="constrained"
    )
    for row, key in zip(axes, keys, strict=True):
        diag = first_fits[key][0]["ensemble"].weight_diagnostics_
        plot_weight_diagnostics(diag, axes=row)
        row[0].set_title(f"{key}: ESS / N ({diag.sizes['draw']} draws)")
        row[1].set_title(f"{key}: PSIS k-hat")
    fig.suptitle("Front-door weights of the Bayesian ensembles")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def make_figures(out: Path, first_fits: dict, seed: int) -> list[Path]:
    """Draw every figure for the datasets in ``first_fits`` (dataset key -> (fitted, record))."""
    paths = []
    if "A.1" in first_fits:
        paths.append(_a1_boundaries(first_fits["A.1"][0], out / "a1_decision_boundaries.png", seed))
    if "A.2" in first_fits:
        wide = first_fits.get("A.2-full-range", (None,))[0]
        paths.append(_a2_regression(first_fits["A.2"][0], out / "a2_regression.png", seed, wide))
    if "A.3" in first_fits:
        fitted = first_fits["A.3"][0]
        side = round(float(np.sqrt(fitted["train"].X.shape[1])))
        paths.append(_a3_digits(fitted, out / "a3_deconfounded_digits.png", seed, side))
    if first_fits:
        paths.append(_weights(first_fits, out / "weight_diagnostics.png"))
    return paths

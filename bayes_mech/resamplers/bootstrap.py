r"""The causal bootstrap (Little & Badawy 2019; the paper's "CB" baseline).

Rows of the effect ``X`` are drawn with replacement, with probabilities equal to the front-door
weights of one (draw, intervention) pair, so that the resampled rows follow

.. math::

    \hat p(x \mid do(y = y_m), \theta_s) = \sum_n w_{smn}\, \delta(x - x_n)

(paper eq. 2 for the weights). Labelling the rows drawn for ``y_m`` with ``y_m`` gives a
non-confounded training set in which ``y`` is randomised. It can only return observed rows.
"""

from __future__ import annotations

import numpy as np
import torch

from bayes_mech._validation import check_array, check_positive_int, torch_generator
from bayes_mech.resamplers._base import FrontDoorProblem, Resampler
from bayes_mech.weights import normalize_log_weights

__all__ = ["BootstrapResampler", "causal_bootstrap"]


def causal_bootstrap(
    X, log_weights, n_samples: int, random_state=None, *, return_indices: bool = False
):
    """Resample rows of ``X`` with the front-door weights of every (draw, intervention).

    For each draw ``s`` and intervention ``m``, ``n_samples`` row indices are drawn independently
    with replacement from ``Categorical(w[s, m, :])``, where ``w = softmax(log_weights)`` over rows.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features) or (n_rows,)
        Effect; a 1-D ``X`` is one feature.
    log_weights : array-like or Tensor of shape (n_draws, n_values, n_rows)
        Front-door log-weights (e.g. from :func:`bayes_mech.weights.frontdoor_log_weights`);
        normalised here if they are not. ``-inf`` rows are never drawn.
    n_samples : int
        Rows drawn per (draw, intervention).
    random_state : None, int or numpy RandomState/Generator
        Seed; the same seed gives the same rows.
    return_indices : bool, default=False
        Also return the drawn row indices.

    Returns
    -------
    X_samples : ndarray of shape (n_draws, n_values, n_samples, n_features), float64
        ``X[indices]``.
    indices : ndarray of shape (n_draws, n_values, n_samples), int64
        Only if ``return_indices``.

    Raises
    ------
    ValueError
        On a length mismatch between ``X`` and the weights, NaN weights, or an intervention whose
        weights are all zero.

    Examples
    --------
    >>> import numpy as np, torch
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> lw = torch.log(torch.tensor([[[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]]], dtype=torch.float64))
    >>> Xs, idx = causal_bootstrap(X, lw, n_samples=4, random_state=0, return_indices=True)
    >>> Xs.shape, idx[0, 0].tolist()
    ((1, 2, 4, 1), [2, 2, 2, 2])
    >>> bool(np.isin(idx[0, 1], [0, 1]).all())
    True
    """
    X_arr = check_array(X, "X", ndim=2, allow_1d=True)
    n_samples = check_positive_int(n_samples, "n_samples", minimum=1)
    lw = normalize_log_weights(log_weights).detach().cpu()  # the generator and X live on the CPU
    n_draws, n_values, n_rows = lw.shape
    if n_rows != X_arr.shape[0]:
        raise ValueError(
            f"log_weights must have one weight per row of X: X has {X_arr.shape[0]} rows, "
            f"log_weights has {n_rows} along its last axis."
        )
    # torch.multinomial draws from all S·M categorical distributions in one call; it accepts
    # unnormalised float64 probabilities, and exp of normalised log-weights never overflows.
    probs = lw.exp().reshape(n_draws * n_values, n_rows)
    gen = torch_generator(random_state)
    idx = torch.multinomial(probs, n_samples, replacement=True, generator=gen)
    indices = idx.reshape(n_draws, n_values, n_samples).numpy().astype(np.int64)
    X_samples = X_arr[indices]
    return (X_samples, indices) if return_indices else X_samples


class BootstrapResampler(Resampler):
    """``resampler="bootstrap"``: the causal bootstrap of every (draw, intervention).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from bayes_mech.resamplers import BootstrapResampler, FrontDoorProblem
    >>> X = np.arange(4.0)[:, None]
    >>> lw = torch.log(torch.tensor([[[1.0, 1.0, 0.0, 0.0]]], dtype=torch.float64))
    >>> problem = FrontDoorProblem(X, None, None, None, {}, np.array([1]), lw, None)
    >>> rows = BootstrapResampler().resample(problem, 6, random_state=0)
    >>> rows.shape, bool(np.isin(rows, [0.0, 1.0]).all())
    ((1, 1, 6, 1), True)
    """

    name = "bootstrap"

    def resample(self, problem: FrontDoorProblem, n_samples: int, random_state=None) -> np.ndarray:
        return causal_bootstrap(problem.joint_rows, problem.log_weights, n_samples, random_state)

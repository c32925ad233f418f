"""Front-door structural causal models of the paper's Appendix A, as Pyro programs.

Each ``make_*`` function returns a :class:`FrontDoorData` of numpy arrays ``X, y, z, u``; each
``*_model`` is the Pyro program it runs, and ``sample_interventional*`` runs that program under
``poutine.do`` to give the interventional ground truth ``p(x | do(y))``.
"""

from bayes_mech.datasets._base import FrontDoorData
from bayes_mech.datasets.covariates import (
    classification_covariate_model,
    make_frontdoor_covariates,
    regression_covariate_model,
    sample_interventional_covariates,
)
from bayes_mech.datasets.digits import (
    background_digits_model,
    load_mnist_idx,
    make_background_digits,
    sample_interventional_digits,
)
from bayes_mech.datasets.synthetic import (
    classification_model,
    make_frontdoor_classification,
    make_frontdoor_regression,
    regression_model,
    sample_interventional,
)

__all__ = [
    "FrontDoorData",
    # generators
    "make_background_digits",
    "make_frontdoor_classification",
    "make_frontdoor_covariates",
    "make_frontdoor_regression",
    # interventional ground truth
    "sample_interventional",
    "sample_interventional_covariates",
    "sample_interventional_digits",
    # Pyro programs
    "background_digits_model",
    "classification_covariate_model",
    "classification_model",
    "regression_covariate_model",
    "regression_model",
    # files
    "load_mnist_idx",
]

"""Mechanism models p(z | y, θ) with posterior draws.

Every later stage of the pipeline runs once per posterior draw ``θ_s`` of a mechanism:

- `CategoricalMechanism`: discrete ``y``, discrete ``z`` (Dirichlet prior per class);
- `GaussianMechanism`: discrete ``y``, continuous ``z`` (normal-inverse-Wishart per class);
- `LinearGaussianMechanism`: continuous ``y``, continuous ``z`` (polynomial regression,
  matrix-normal-inverse-Wishart prior), optionally given covariates ``c``;
- `ConditionalGaussianMechanism`: discrete ``y``, continuous ``z`` given covariates ``c``
  (regression on the one-hot classes and ``c``: the conditional front door);
- `LogisticCategoricalMechanism`: discrete ``y``, categorical ``z`` given covariates ``c``
  (a Bayesian multinomial logit: Laplace's method, or SVI/NUTS through `PyroMechanism`);
- `PyroMechanism`: any Pyro model ``model(y, z=None)``, by NUTS or SVI;
- `resolve_mechanism`: picks one of the conjugate mechanisms from the data.
"""

from bayes_mech.mechanisms.base import Mechanism
from bayes_mech.mechanisms.conditional import ConditionalGaussianMechanism
from bayes_mech.mechanisms.conjugate import (
    CategoricalMechanism,
    GaussianMechanism,
    LinearGaussianMechanism,
    categorical_model,
    gaussian_model,
    linear_gaussian_model,
)
from bayes_mech.mechanisms.logistic import (
    LogisticCategoricalMechanism,
    multinomial_logistic_model,
)
from bayes_mech.mechanisms.pyro_mechanism import PyroMechanism
from bayes_mech.mechanisms.resolve import infer_kind, resolve_mechanism

__all__ = [
    # interface
    "Mechanism",
    # conjugate mechanisms and their Pyro models
    "CategoricalMechanism",
    "ConditionalGaussianMechanism",
    "GaussianMechanism",
    "LinearGaussianMechanism",
    "LogisticCategoricalMechanism",
    "categorical_model",
    "gaussian_model",
    "linear_gaussian_model",
    "multinomial_logistic_model",
    # any Pyro model
    "PyroMechanism",
    # choosing a mechanism from the data
    "resolve_mechanism",
    "infer_kind",
]

"""Per-beneficiary annual spending models: specification, calibration, moments.

A scenario's ``[spending]`` table validates into a :class:`SpendingSpec`; the spec builds
a :class:`SpendingModel` (a distribution with concrete parameters plus an optional
per-beneficiary cap), which knows its theoretical moments, quantiles and concentration,
converts to kernel arguments (:func:`kernel_args`) and describes itself to the kernels
as a composition of primitives. Drawing lives in :mod:`simsav.draw`
(:func:`simsav.draw.groups.simulate_group_sums` for one year).

Modules, one job each: :mod:`~simsav.spending.base` (what a model is),
:mod:`~simsav.spending.registry` (the one list of models), one module per model
(:mod:`~simsav.spending.gamma`, :mod:`~simsav.spending.lognormal`,
:mod:`~simsav.spending.hurdle`, :mod:`~simsav.spending.lognormal_pareto`,
:mod:`~simsav.spending.empirical`, :mod:`~simsav.spending.medicare`, ...),
:mod:`~simsav.spending.spec` (the
``[spending]`` table), :mod:`~simsav.spending.inputs` (a group's model in any form),
:mod:`~simsav.spending.fit` (calibration).

Conventions
-----------
* Spending is USD per beneficiary-year, ``>= 0``.
* ``mean`` and ``cv`` always describe the **untruncated** distribution **including**
  beneficiaries with zero spending: ``cv = sd / mean`` of per-beneficiary spending.
* "Truncation" follows the MSSP meaning: each beneficiary's spending is **capped** at the
  threshold (``min(x, cap)``: the amount above is excluded, the beneficiary is kept). It
  is not conditioning on ``x <= cap``. ``truncate_quantile = p`` sets the cap at the
  ``p``-quantile of the untruncated distribution.
* Moment methods take ``truncated``: ``False`` (untruncated), ``True`` (capped at the
  model's own ``truncate_at``) or a number (capped there).

Models
------
:mod:`simsav.spending.registry` lists them (``registry.describe()`` gives one line each;
each model's module documents it): ``gamma``, ``lognormal``, ``hurdle-lognormal``,
``lognormal-pareto`` (zero mass, lognormal body, Pareto tail), ``empirical`` (the
bundled DE-SynPUF sample, :func:`simsav.io.desynpuf.desynpuf_spending`), ``medicare-ffs``
(the default: lognormal-Pareto fitted to Medicare FFS concentration,
:data:`MEDICARE_FFS_SHAPE`) and the models added since, each in its own module.
"""

from __future__ import annotations

from simsav.io.desynpuf import desynpuf_spending
from simsav.spending.base import KernelArgs, SpendingModel
from simsav.spending.empirical import Empirical
from simsav.spending.fit import calibrate, calibrate_to_concentration
from simsav.spending.gamma import Gamma
from simsav.spending.hurdle import HurdleLognormal
from simsav.spending.inputs import kernel_args, model_from_kernel_args
from simsav.spending.lognormal import Lognormal
from simsav.spending.lognormal_pareto import LognormalPareto
from simsav.spending.medicare import MEDICARE_FFS_SHAPE, MEDICARE_FFS_TARGETS, medicare_ffs
from simsav.spending.registry import MODEL_NAMES
from simsav.spending.spec import SpendingSpec, spending_model

__all__ = [
    "MEDICARE_FFS_SHAPE",
    "MEDICARE_FFS_TARGETS",
    "MODEL_NAMES",
    "Empirical",
    "Gamma",
    "HurdleLognormal",
    "KernelArgs",
    "Lognormal",
    "LognormalPareto",
    "SpendingModel",
    "SpendingSpec",
    "calibrate",
    "calibrate_to_concentration",
    "desynpuf_spending",
    "kernel_args",
    "medicare_ffs",
    "model_from_kernel_args",
    "spending_model",
]

"""The kernels' spending primitives: the one table every kernel dispatches from.

Pure Python (no numba): importing it costs nothing, so the spending models
(:mod:`simsav.spending`) describe themselves to the kernels with these codes without
loading numba.

A spending model reaches a kernel as a **composition**
(:class:`simsav.spending.base.Composition`): a point mass ``p0`` at zero, then one or more
components, each one of the primitives below with a weight (the components' share of the
non-zero beneficiaries). The kernels know only the primitives, never the models, so a
new model that is a new composition of these needs no kernel change.

==========  =========================================  ===================================
kind        parameters                                 what a beneficiary's spending is
==========  =========================================  ===================================
GAMMA       ``k, theta``                               ``theta * standard_gamma(k)``
LOGNORMAL   ``mu, sigma``                              ``exp(mu + sigma z)``
LN_PARETO   ``mu, sigma, z_s, tail_share, log x_s,     lognormal body below ``z_s``,
            1 / alpha``                                Pareto(``alpha``) above ``x_s``
EMPIRICAL   the support points (any number)            one of them, equally likely
TABLE       a cubic Hermite table ``[w_0, 1 / h, M,    ``exp(L(z))``, ``L`` the tabulated
            y_0..y_M, h y'_0..h y'_M]``                log-quantile of a normal score
==========  =========================================  ===================================

The one-year kernel (:mod:`simsav.kernels.spending`) samples :data:`SAMPLE_KINDS`, any
number of components per group. The score kernels (:mod:`simsav.kernels.panel`,
:mod:`simsav.kernels.attribution`'s per-beneficiary path) take one component per group
with a closed-form score transform, :data:`SCORE_KINDS`; a model whose composition is
anything else reaches them as a ``TABLE`` of its own quantile function
(:mod:`simsav.draw.scores`). :data:`FORWARD_KINDS` are drawn forward by the attribution
kernel (the variate first, its score computed from it) when there is no zero mass.
``TABLE`` is not sampled by the one-year kernel: no model needs it there, and each
primitive it can draw costs compile time on a cold start (about a second for this one).
"""

from __future__ import annotations

__all__ = [
    "EMPIRICAL",
    "FORWARD_KINDS",
    "GAMMA",
    "KIND_NAMES",
    "LN_PARETO",
    "LOGNORMAL",
    "N_PARAMS",
    "SAMPLE_KINDS",
    "SCORE_KINDS",
    "TABLE",
]

GAMMA = 0
LOGNORMAL = 1
LN_PARETO = 2
EMPIRICAL = 3
TABLE = 4

#: Primitive kind -> name.
KIND_NAMES: dict[int, str] = {
    GAMMA: "GAMMA",
    LOGNORMAL: "LOGNORMAL",
    LN_PARETO: "LN_PARETO",
    EMPIRICAL: "EMPIRICAL",
    TABLE: "TABLE",
}

#: Parameters per primitive kind (``-1``: any number, at least 1).
N_PARAMS: dict[int, int] = {GAMMA: 2, LOGNORMAL: 2, LN_PARETO: 6, EMPIRICAL: -1, TABLE: -1}

#: Kinds the one-year kernel samples (a model's composition uses only these).
SAMPLE_KINDS: frozenset[int] = frozenset({GAMMA, LOGNORMAL, LN_PARETO, EMPIRICAL})

#: Kinds with a score transform ``x = F^-1(Phi(w))`` in the panel and attribution kernels.
SCORE_KINDS: frozenset[int] = frozenset({LOGNORMAL, LN_PARETO, EMPIRICAL, TABLE})

#: Kinds the attribution kernel draws forward (variate, then its score) when ``p0 = 0``.
FORWARD_KINDS: frozenset[int] = frozenset({GAMMA, EMPIRICAL})

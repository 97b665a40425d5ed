"""The whole program at once: every ACO of a roster in one year, their shared shocks, forecasts.

A *roster* (:mod:`~simsav.program.roster`) lists the ACOs of a performance year with their
settlement inputs. The *program model* (:mod:`~simsav.program.model`) is calibrated on the
CMS public-use files of earlier years only: the size law of the ACO-level terms, the
program's year effects (a drift and the year's shock, shared by every ACO) and the
covariance of one ACO's savings rates across years. Each ACO's savings rate is forecast
from its own history with credibility weights (:mod:`~simsav.program.credibility`);
:func:`~simsav.program.simulate.simulate_program` draws the year for every ACO, settles it
under the program's rules and under counterfactual policies on the same draws
(:mod:`~simsav.program.policy`), and :mod:`~simsav.program.summary` reports the program's
totals with intervals. :mod:`~simsav.program.backtest` holds the model to an out-of-sample
test against PY2019–2022.
"""

"""Imported by the app's fork server alone (:mod:`simsav.app.jobs`): the warm-up.

It loads the worker and runs its warm-up, so every run's process is forked with
simsav's kernels already loaded.

Importing this module anywhere else runs that warm-up (a 4-sim simulation) there.
"""

from simsav.app import worker

worker.warm()

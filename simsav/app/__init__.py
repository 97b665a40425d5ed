"""The browser app: ``simsav app`` serves it; in Jupyter its pages are Panel layouts.

Three pages, built on simsav's public API and the scenario schema alone:

* :class:`~simsav.app.compare.ComparePage` — contract comparison: a scenario form (load
  and save scenario files), a run with progress and Cancel, the summary with intervals,
  the payout plots, downloads;
* :class:`~simsav.app.msr.MSRPage` — MSR sizing against the normal approximation and the
  CMS table;
* :class:`~simsav.app.settle.SettlePage` — one ACO-year through a preset's waterfall,
  every step with its rule.

Runs happen in processes of their own (:mod:`simsav.app.jobs`); the server never loads
the simulator. Needs Panel (``pip install "simsav[app]"``).

In a notebook::

    import panel as pn
    from simsav.app.compare import ComparePage
    pn.extension()
    ComparePage().panel
"""

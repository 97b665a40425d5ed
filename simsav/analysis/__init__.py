"""Analyses built on simulation, settlement and data.

MSR sizing (:mod:`~simsav.analysis.msr_sizing`); calibration of the ACO-level terms to the
MSSP public-use files (:mod:`~simsav.analysis.puf_panel`, :mod:`~simsav.analysis.moments`,
:mod:`~simsav.analysis.size_law`, :mod:`~simsav.analysis.calibrate`) and the check of a
scenario against them (:mod:`~simsav.analysis.program_check`); replication of CMS's
results from the rules (:mod:`~simsav.analysis.replicate`); persistence statistics and
their calibration (:mod:`~simsav.analysis.persistence`).
"""

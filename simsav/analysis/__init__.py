"""Analyses built on simulation and settlement: MSR sizing, calibration, comparisons."""

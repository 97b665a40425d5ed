"""Numba kernels: arrays and a Generator in, accumulators out (private)."""

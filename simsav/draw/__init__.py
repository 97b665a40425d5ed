"""The random stage: every random input of a run, block by block."""

"""Models: one per module. Model code uses PyMC and never matplotlib."""

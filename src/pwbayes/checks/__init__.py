"""Checks of the models: calibration, and a non-parametric check of subgroup effects.

Simulation-based calibration (:mod:`.sbc`) and Bayesian causal forests (:mod:`.bcf`).
"""

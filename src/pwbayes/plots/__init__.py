"""Plots: one per module, functions over results. Plot code never samples."""

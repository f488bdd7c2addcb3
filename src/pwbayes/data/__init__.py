"""Input loading and validation, published facts, and the synthetic example generator.

Modules in this sub-package need only pandas and numpy.
"""

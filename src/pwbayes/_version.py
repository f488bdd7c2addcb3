"""The package version, in one place (the record of every fit stores it)."""

__version__ = "0.2.0"

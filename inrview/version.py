"""The package version, in one place (the package root and checkpoint headers read it)."""

__version__ = "0.1.0"

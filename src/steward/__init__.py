"""Steward: a governed model registry."""

__version__ = "0.1.0"

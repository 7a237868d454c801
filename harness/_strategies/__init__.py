"""Hypothesis strategies behind :mod:`harness.strategies` (the public names live there)."""

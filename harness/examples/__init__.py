"""Bundled example clients, runnable with ``python -m harness.examples.<name>``."""

"""The harness's version: one place, read by the package build, the CLI and the reports."""

__version__ = "0.1.0"

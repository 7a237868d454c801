"""Side-by-side measurements of the harness against references, each run as ``python -m``."""

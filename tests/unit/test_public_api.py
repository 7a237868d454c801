"""The flat public API: sorted, complete, and every name importable from ``harness``."""

import harness


def test_all_is_sorted_and_exported() -> None:
    assert harness.__all__ == sorted(harness.__all__)
    assert all(hasattr(harness, name) for name in harness.__all__)


def test_every_public_class_is_listed() -> None:
    public = {name for name, value in vars(harness).items()
              if isinstance(value, type) and not name.startswith("_")}
    assert public <= set(harness.__all__)

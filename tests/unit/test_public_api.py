"""The flat public API: sorted, complete, and every name importable from ``harness``."""

import harness


def test_all_is_sorted_and_exported() -> None:
    assert harness.__all__ == sorted(harness.__all__)
    assert all(hasattr(harness, name) for name in harness.__all__)


def test_every_name_resolves() -> None:
    for name in harness.__all__:
        assert getattr(harness, name) is not None


def test_all_matches_the_lazy_table() -> None:
    assert set(harness.__all__) == set(harness._HOMES)


def test_importing_harness_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, harness;"
            " print(sorted(m for m in ('pydantic', 'aiosmtpd', 'trustme') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"

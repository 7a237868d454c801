"""Suite-wide settings.

A test marked ``slow`` (a whole-catalogue run, a real client's time limit) gets ten
minutes before pytest-timeout calls it hung, instead of the suite's two, unless it sets
its own: on a loaded machine such a test legitimately takes several times its idle
duration, and the bound is only there to end a hang.

Tests in an ``xdist_group`` (the zoo: one table of minutes that every test of the module
reads) run on one worker under ``--dist loadgroup``, as ``.ci/run`` asks, and are put
first: computed twice, once per worker, the table cost twice the CPU; last, it would be
the suite's tail."""

from __future__ import annotations

import pytest

SLOW_TIMEOUT_S = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)  # stable
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))

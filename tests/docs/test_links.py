"""Every relative link in the README and the docs leads to a file that exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def links() -> list[tuple[str, str]]:
    found = []
    for path in FILES:
        for target in LINK.findall(path.read_text()):
            if not re.match(r"[a-z]+:", target):
                found.append((str(path.relative_to(ROOT)), target))
    return found


@pytest.mark.parametrize(("page", "target"), links())
def test_link_target_exists(page: str, target: str) -> None:
    assert ((ROOT / page).parent / target).exists(), f"{page} links to missing {target}"

"""The MailKit recipe (docs/recipes/dotnet-mailkit.md): the C# project in
examples/mailkit/ is published once and run against the representative scenarios when the
.NET SDK is on PATH (its packages come from NuGet); skipped otherwise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.recipes.conftest import (
    EXAMPLES,
    PLACEHOLDERS,
    REPRESENTATIVE,
    failures,
    require,
    run_recipe,
)

pytestmark = pytest.mark.slow


def test_mailkit_recipe_passes(tmp_path: Path) -> None:
    dotnet = require("dotnet", "the .NET 8 SDK, from Microsoft; not in Debian's archive")
    out = tmp_path / "out"
    build = subprocess.run([dotnet, "publish", str(EXAMPLES / "mailkit" / "SendMail.csproj"),
                            "-c", "Release", "-o", str(out)],
                           capture_output=True, text=True, timeout=900, check=False)
    if build.returncode != 0 and "NU1301" in build.stdout + build.stderr:
        pytest.skip("NuGet is not reachable: MailKit and Polly cannot be restored")
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    command = [dotnet, str(out / "SendMail.dll"), *PLACEHOLDERS, "--timeout", "2"]
    results = run_recipe(tmp_path, [*REPRESENTATIVE, "cert-wrong-host-implicit",
                                    "close-after-250", "store-then-drop"], command, timeout_s=60)
    assert failures(results) == {}
    assert len({m["message_id"] for m in results["store-then-drop"]["messages"]}) == 1

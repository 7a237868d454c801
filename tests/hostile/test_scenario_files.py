"""Scenario files as untrusted input: every hostile file gets a located message and exit
2 from ``harness validate``, within bounded time and memory; never a traceback, a hang,
or a word of a file that is not a scenario."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.cli import main
from harness.model import Scenario, ScenarioError, safe_yaml
from harness.model.safe_yaml import MAX_BYTES, MAX_DEPTH, MAX_ITEMS, MAX_NODES

pytestmark = pytest.mark.timeout(60)  # a hang fails here; no case takes a second


def validate(path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
    code = main(["validate", *options, str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def billion_laughs(path: Path, levels: int = 9) -> Path:
    lines = ["name: laughs", "l0: &l0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, levels + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_billion_laughs_exits_2_within_100_mb(tmp_path: Path) -> None:
    # 9^9 lols: once 11 GB and still growing after two minutes. Memory is measured in
    # the process that validates, as the peak resident set of its own memory (VmHWM:
    # ru_maxrss would also count the forking test process, kept across exec).
    laughs = billion_laughs(tmp_path / "laughs.yaml")
    probe = textwrap.dedent(f"""
        import sys
        from harness.cli import main
        code = main(["validate", {str(laughs)!r}])
        with open("/proc/self/status") as status:
            peak = next(line for line in status if line.startswith("VmHWM:"))
        print(peak.split()[1], file=sys.stderr)
        sys.exit(code)
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    *message, peak_kib = done.stderr.strip().splitlines()
    assert "laughs.yaml:" in "\n".join(message) and "billion laughs" in "\n".join(message)
    assert int(peak_kib) < 100 * 1024


@pytest.mark.parametrize(("text", "line", "words"), [
    ("name: deep\nabout: " + "[" * 5000 + "]" * 5000 + "\n", 2,
     f"expected at most {MAX_DEPTH} levels of nesting"),
    ("name: deep\nabout: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", 2,
     f"expected at most {MAX_DEPTH} levels of nesting"),
    ("name: big\nseed: " + "9" * 5000 + "\n", 2, "at most 30 digits, got 5000 digits"),
    ("name: nul\nabout: a\x00b\n", 2, "control character #x00"),
    ("name: bel\n\nabout: a\x07b\n", 3, "control character #x07"),
    ("name: loop\nabout: &a [1, *a]\n", 2, "alias inside its own anchor"),
], ids=["nested-lists", "nested-mappings", "huge-integer", "nul", "bel", "recursive-alias"])
def test_hostile_yaml_gets_a_located_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int,
        words: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    code, output = validate(path, capsys)
    assert code == 2
    assert f"hostile.yaml:{line}: " in output and words in output, output
    assert "Traceback" not in output


def test_deep_nesting_through_aliases_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Each anchor is shallow; chained, they nest far deeper than any one of them.
    lines = ["name: chain", "a0: &a0 [[[[[[[[1]]]]]]]]"]
    lines += [f"a{n}: &a{n} [[[[[[[[*a{n - 1}]]]]]]]]" for n in range(1, 200)]
    path = tmp_path / "chain.yaml"
    path.write_text("\n".join(lines) + "\n")
    code, output = validate(path, capsys)
    assert code == 2 and "levels of nesting (aliases included)" in output


def test_a_file_over_the_size_limit_is_refused_unread(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("name: huge\nabout: '" + "x" * MAX_BYTES + "'\n")
    code, output = validate(path, capsys)
    assert code == 2 and "larger than 1024 KiB" in output


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_fifo_a_device_or_a_folder_is_refused_without_a_hang(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "scenario.yaml"
        os.mkfifo(path)  # nobody writes: reading it would block for ever
        words = "not a regular file (a FIFO)"
    elif kind == "device":
        path, words = Path("/dev/zero"), "not a regular file (a character device)"
    else:
        path = tmp_path / "folder.yaml"
        path.mkdir()
        (path / "inner.yaml").write_text("name: inner\n")
        code, output = validate(path, capsys)  # a folder is read as the files in it
        assert code == 0 and "inner.yaml" in output
        return
    code, output = validate(path, capsys)
    assert code == 2 and words in output


def test_yaml_1_2_numbers_are_numbers() -> None:
    scenario = Scenario.from_str(
        "name: exp\nfaults:\n  - {at: banner, delay: 2.5e-1}\n  - {at: ehlo, delay: 1E-1}\n")
    assert [fault.seconds for fault in scenario.build_faults()] == [0.25, 0.1]  # type: ignore[attr-defined]
    once_refused = Scenario.from_str("name: exp\nfaults:\n  - {at: banner, delay: 1e9}\n")
    assert once_refused.build_faults()[0].seconds == 1e9  # type: ignore[attr-defined]


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The size limits scaled down 10x, so their tests stay cheap; the mechanism is the
    same (the real values are in harness.model.safe_yaml and docs/security.md)."""
    monkeypatch.setattr(safe_yaml, "MAX_ITEMS", MAX_ITEMS // 10)
    monkeypatch.setattr(safe_yaml, "MAX_NODES", MAX_NODES // 10)


@pytest.mark.usefixtures("small_limits")
def test_too_many_items_or_values_are_refused_as_they_are_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items, values = safe_yaml.MAX_ITEMS, safe_yaml.MAX_NODES
    path = tmp_path / "wide.yaml"
    path.write_text("name: wide\nabout: [" + ", ".join(["1"] * (items + 1)) + "]\n")
    code, output = validate(path, capsys)
    assert code == 2 and f"wide.yaml:2: invalid YAML: expected at most {items} items" in output
    path.write_text("name: wide\nabout: [" + ", ".join(["[1, 1, 1, 1, 1, 1, 1, 1, 1]"]
                                                     * (values // 10 + 1)) + "]\n")
    code, output = validate(path, capsys)
    assert code == 2 and f"expected at most {values} values" in output


@pytest.mark.usefixtures("small_limits")
def test_a_list_of_faults_as_long_as_allowed_loads() -> None:
    # Every item a list may hold: loaded, in time linear in its length (the rate is in
    # docs/security.md); one more is refused.
    lines = ["name: many", "faults:"]
    lines += [f"  - {{at: banner, attempts: {n % 50 + 1}, reply: '421 4.7.0 busy'}}"
              for n in range(safe_yaml.MAX_ITEMS)]
    assert len(Scenario.from_str("\n".join(lines)).faults) == safe_yaml.MAX_ITEMS
    with pytest.raises(ScenarioError, match=f"at most {safe_yaml.MAX_ITEMS} items"):
        Scenario.from_str("\n".join([*lines, lines[-1]]))


# -- extends: confined -------------------------------------------------------------------

SECRET = "hunter2-do-not-print"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A project folder with a scenario, a sibling folder outside it with secrets."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "netrc").write_text(f"machine x login me password {SECRET}\n")
    (tmp_path / "outside" / "secrets.yaml").write_text(f"password: {SECRET}\n")
    (tmp_path / "outside" / "base.yaml").write_text("seed: 7\n")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "local.yaml").write_text(f"token: {SECRET}\n")
    return tmp_path


def extending(tree: Path, ref: str) -> Path:
    path = tree / "project" / "child.yaml"
    path.write_text(f"name: child\nextends: {ref}\n")
    return path


@pytest.mark.parametrize(("ref", "words"), [
    ("{tree}/outside/netrc", "ending in .yaml or .yml"),
    ("/etc/passwd", "ending in .yaml or .yml"),
    ("../outside/base.yaml", "which leads outside"),
    ("{tree}/outside/secrets.yaml", "which leads outside"),
    ("link.yaml", "which leads outside through a link"),
    ("local.yaml", "got a file that is not one"),
], ids=["absolute-netrc", "etc-passwd", "dot-dot", "absolute-yaml", "symlink-out",
        "not-a-scenario"])
def test_extends_is_confined_and_never_echoes_a_file(
        tree: Path, capsys: pytest.CaptureFixture[str], ref: str, words: str) -> None:
    (tree / "project" / "link.yaml").symlink_to(tree / "outside" / "secrets.yaml")
    code, output = validate(extending(tree, ref.format(tree=tree)), capsys)
    assert code == 2
    assert "child.yaml:2: extends: " in output or "local.yaml" in output
    assert words in output, output
    assert SECRET not in output and "root:" not in output


def test_extends_reads_a_folder_the_user_names(
        tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_EXTENDS_DIRS", raising=False)
    child = extending(tree, "../outside/base.yaml")
    assert validate(child, capsys)[0] == 2
    code, output = validate(child, capsys, "--extends-dir", str(tree / "outside"))
    assert (code, output.split()[0]) == (0, "ok"), output
    assert "secrets" not in output

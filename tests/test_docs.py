"""The documentation cannot go stale: every ``console`` block of README.md, CONTRIBUTING.md and CONTRACT.md is run and
its output compared with what the block shows, and every ``python`` block is run.

A ``console`` block is a transcript: a line ``$ command`` followed by the output it prints. A line ``...`` stands for
any number of lines; durations (``3.1s``, ``12 us``), reproducers' timestamps, the versions line and the reports
folder (in the temporary directory, named for the user) are compared as shapes, not values. Commands run in a fresh
directory outside the repository, as a user's would, with the installed ``conv-oracle`` and ``python``. A ``python``
block runs there too, with the files the surrounding text says the user has (``my_conv.py``: a correct
convolution).
"""

import difflib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "CONTRIBUTING.md", "CONTRACT.md")
MY_CONV = '''"""A contributor's convolution: here vectorized's, so that every snippet has a correct one to check."""
from vectorized import conv2d, conv2d_backward  # noqa: F401
'''


def _blocks(kind: str) -> list[tuple[str, int, str]]:
    """``(document, line, text)`` of every fenced block of ``kind``."""
    found = []
    for name in DOCUMENTS:
        text = (ROOT / name).read_text()
        for match in re.finditer(rf"^```{kind}\n(.*?)^```$", text, re.S | re.M):
            found.append((name, text[: match.start()].count("\n") + 1, match.group(1)))
    return found


def _transcripts() -> list[tuple[str, str, list[str]]]:
    """``(where, command, expected lines)`` of every command of every console block."""
    items = []
    for name, line, text in _blocks("console"):
        command, expected = None, []
        for row in text.splitlines():
            if row.startswith("$ "):
                if command is not None:
                    items.append((f"{name}:{line}", command, expected))
                command, expected = row[2:], []
            else:
                expected.append(row)
        if command is not None:
            items.append((f"{name}:{line}", command, expected))
    return items


def _shape(line: str) -> str:
    """A line with what changes between runs masked: durations, timestamps, versions, absolute paths."""
    line = re.sub(r" *\d+(\.\d+)?(s|ms| us)\b", " <time>", line)
    line = re.sub(r"\d{8}-\d{6}(-\d+)?", "<stamp>", line)
    line = re.sub(r"python \S+, numpy \S+, torch \S+, hypothesis \S+", "<versions>", line)
    line = re.sub(r"\S*/conv-oracle-reports-[^/\s]+/", "<reports>/", line)
    return line.rstrip()


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` has the shape of ``expected``, where ``...`` matches any run of lines."""
    expected = [_shape(e) for e in expected]
    actual = [_shape(a) for a in actual]
    memo: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[i, j]
        if i == len(expected):
            result = j == len(actual)
        elif expected[i] == "...":
            result = any(match(i + 1, k) for k in range(j, len(actual) + 1))
        else:
            result = j < len(actual) and expected[i] == actual[j] and match(i + 1, j + 1)
        memo[i, j] = result
        return result

    return match(0, 0)


@pytest.fixture
def user_dir(tmp_path):
    (tmp_path / "my_conv.py").write_text(MY_CONV)
    return tmp_path


def _environment() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "COLUMNS": "120"}


TRANSCRIPTS = _transcripts()


@pytest.mark.parametrize("where, command, expected", TRANSCRIPTS, ids=[f"{w} {c}" for w, c, _ in TRANSCRIPTS])
def test_docs_console_block_prints_what_it_shows(where, command, expected, user_dir):
    words = shlex.split(command)
    if words[0] == "python":
        words[0] = sys.executable
    run = subprocess.run(words, capture_output=True, text=True, cwd=user_dir, env=_environment(), timeout=900)
    printed = (run.stdout + run.stderr).rstrip("\n").splitlines()
    difference = "\n".join(difflib.unified_diff([_shape(e) for e in expected], [_shape(p) for p in printed],
                                                "the document", "the command", lineterm=""))
    assert matches(expected, printed), f"{where}: `{command}` printed otherwise (times masked):\n{difference}"


PYTHON = _blocks("python")


@pytest.mark.parametrize("where, line, code", PYTHON, ids=[f"{w}:{n}" for w, n, _ in PYTHON])
def test_docs_declarations_shown_are_valid(where, line, code):
    """Every ``conv_oracle_support = {...}`` a document shows is a declaration the oracle accepts."""
    import ast

    from oracle import Support

    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "conv_oracle_support" for t in node.targets):
            Support.of(ast.literal_eval(node.value))


@pytest.mark.parametrize("where, line, code", PYTHON, ids=[f"{w}:{n}" for w, n, _ in PYTHON])
def test_docs_python_block_runs(where, line, code, user_dir):
    (user_dir / "snippet.py").write_text(code)
    if "def test_" in code:
        (user_dir / "test_snippet.py").write_text(code)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "test_snippet.py"]
    else:
        command = [sys.executable, "snippet.py"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=user_dir, env=_environment(), timeout=900)
    assert run.returncode == 0, f"{where}:{line} failed:\n{run.stdout}\n{run.stderr}"


def test_docs_transcript_matching_masks_only_what_changes():
    assert matches(["a 3.1s", "...", "z"], ["a 12.0s", "b", "c", "z"])
    assert not matches(["a", "z"], ["a", "b", "z"])
    assert not matches(["y[0]=1"], ["y[0]=2"])


def test_docs_name_no_file_outside_the_repository():
    for path in [*map(ROOT.joinpath, DOCUMENTS), *ROOT.glob("oracle/**/*.py"), *ROOT.glob("naive/*.py"),
                 *ROOT.glob("vectorized/*.py")]:
        text = path.read_text()
        assert "design.md" not in text and "shared/" not in text, path

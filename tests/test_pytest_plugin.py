"""``pytest --conv-oracle TARGET``: the oracle's properties as pytest items, run by pytest, by pytest-xdist and by
HypoFuzz.

Each test runs pytest in a fresh directory outside the repository, as a user would, on a zoo mutant (its items fail
with the check's report and write its reproducer) or a correct implementation (its items pass), with and without
``-n 2``. A short HypoFuzz campaign on a mutant files its counterexample in the shared example database, and the
next ``pytest --conv-oracle`` run replays it first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

MUTANT = "oracle.zoo.padding_wrong_side"


def _pytest(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "COLUMNS": "120"})


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_plugin_mutant_items_fail_with_the_check_report_and_reproducer(workers, tmp_path):
    run = _pytest([*workers, "--conv-oracle", MUTANT, "--conv-oracle-property", "forward", "--conv-oracle-property",
                   "dx", "--conv-oracle-max-examples", "20", "--conv-oracle-report-dir", "reports"], tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    for name in ("forward", "dx"):
        assert f"FAILED conv-oracle::{MUTANT}::{name}" in run.stdout
        assert f"  FAIL  {name}" in run.stdout
    assert "Traceback" not in run.stdout and "reproducer: python" in run.stdout
    assert "git apply" not in run.stdout  # no Hypothesis patch offered: it would edit this package, not the user's code
    reproducers = sorted(p.name for p in (tmp_path / "reports").glob("*.py"))
    assert [p for p in reproducers if "-forward-" in p] and [p for p in reproducers if "-dx-" in p]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_plugin_correct_implementation_items_pass_and_junitxml_lists_them(workers, tmp_path):
    run = _pytest([*workers, "--conv-oracle", "vectorized", "--conv-oracle-property", "forward",
                   "--conv-oracle-property", "transposed forward", "--conv-oracle-property", "bad input",
                   "--conv-oracle-max-examples", "10", "--junitxml", "junit.xml"], tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout
    cases = {(c.get("classname"), c.get("name")) for c in ET.parse(tmp_path / "junit.xml").iter("testcase")}
    assert cases == {("conv-oracle.vectorized", name) for name in ("forward", "transposed_forward", "bad_input")}


def test_plugin_skips_what_the_variant_does_not_offer_with_the_checks_reason(tmp_path):
    run = _pytest(["--conv-oracle", "oracle.examples.fft_conv", "--conv-oracle-property", "dx", "-rs"], tmp_path)
    assert run.returncode == 0 and "1 skipped" in run.stdout, run.stdout + run.stderr
    assert "dx: forward only (declared)" in run.stdout


def test_plugin_without_the_option_adds_nothing(tmp_path):
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    run = _pytest([], tmp_path)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("args, said", [
    (["--conv-oracle", "no_such_module_here"], "--conv-oracle: "),
    (["--conv-oracle", "vectorized", "--conv-oracle-property", "fowrard"], "--conv-oracle-property must be one of"),
    (["--conv-oracle", "vectorized", "--conv-oracle-max-examples", "0"], "--conv-oracle-max-examples must be"),
])
def test_plugin_bad_options_are_one_line_usage_errors(args, said, tmp_path):
    run = _pytest(args, tmp_path, timeout=120)
    assert run.returncode == 4, run.stdout + run.stderr
    assert said in run.stderr and "Traceback" not in run.stdout + run.stderr


def _primary_key_filled(database: Path, target: str, name: str) -> bool:
    """Whether the example database holds a failing case of ``name``'s search on ``target`` under the key the item
    replays (Hypothesis's digest of the property's search, keyed by the item's node id)."""
    from hypothesis.database import DirectoryBasedExampleDatabase
    from hypothesis.internal.reflection import function_digest

    from oracle.check.jobs import PROPERTY
    from oracle.check.runner import property_test
    from oracle.targets.variant import load

    search = property_test(load(target), PROPERTY[name], None, database_key=f"conv-oracle::{target}::{name}")
    key = function_digest(search.hypothesis.inner_test)
    return bool(list(DirectoryBasedExampleDatabase(str(database)).fetch(key)))


def _signal_group(process: subprocess.Popen, signal_number: int) -> None:
    try:
        os.killpg(process.pid, signal_number)
    except ProcessLookupError:  # the campaign and its workers have ended
        pass


def test_plugin_hypofuzz_campaign_files_a_counterexample_that_pytest_replays_first(tmp_path):
    pytest.importorskip("hypofuzz")
    target, database = "oracle.zoo.db_averaged", tmp_path / "db"
    options = ["--conv-oracle", target, "--conv-oracle-property", "db", "--conv-oracle-database", str(database)]
    hypothesis = Path(sys.executable).parent / "hypothesis"  # the command HypoFuzz installs
    # as on a CI machine: $CI makes Hypothesis load its derandomized "ci" profile, and HypoFuzz refuses such tests
    campaign = subprocess.Popen([str(hypothesis), "fuzz", "-n", "1", "--no-dashboard", "--", "-p", "no:cacheprovider",
                                 *options], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True, env={**os.environ, "CI": "true"})
    try:
        deadline = time.monotonic() + 240  # the budget: collection, then fuzzing until the bug is filed
        while (time.monotonic() < deadline and campaign.poll() is None
               and not _primary_key_filled(database, target, "db")):
            time.sleep(2)
    finally:
        _signal_group(campaign, signal.SIGINT)  # HypoFuzz runs until Ctrl-C, its workers with it
        try:
            log = campaign.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            _signal_group(campaign, signal.SIGKILL)
            log = campaign.communicate()[0]
    assert _primary_key_filled(database, target, "db"), f"the campaign filed no counterexample:\n{log[-3000:]}"
    run = _pytest(options, tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "  FAIL  db                       case 1 " in run.stdout, run.stdout

"""Reports a person can act on (issue 10) and campaigns that remember (issue 9): where the variant raised, one
block per root cause, options shrunk to their plainest form, reproducers that are unique, portable and replay
the calls that lead to a failure, the pytest failure text, and Hypothesis's example database."""

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oracle import check_variant
from oracle.check.runner import DEPENDS_ON_HISTORY

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


def _module(directory: Path, name: str, source: str) -> str:
    (directory / f"{name}.py").write_text(textwrap.dedent(source))
    return name


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """A contributor's directory, outside the repository, on sys.path as the command line puts it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_report_shows_where_the_variant_raised(user_dir):
    target = _module(user_dir, "raising_conv", """\
        import vectorized


        def helper(x):
            return x[99]


        def conv2d(x, w, b=None, **options):
            if x.shape[3] > 1:
                helper(x.shape)
            return vectorized.conv2d(x, w, b, **options)
        """)
    report = check_variant(target, target=target, only=["forward"], max_examples=30, report_dir=user_dir / "out")
    text = report.text()
    assert "forward: first difference" not in text  # one property: no label
    assert re.search(r"raised at:  .*raising_conv\.py:5 in helper: return x\[99\]", text), text
    script = report.reproducers["forward"]
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd="/")
    assert run.returncode == 1 and re.search(r"raised at .*raising_conv\.py:5 in helper", run.stdout), run.stdout


def test_report_groups_one_root_cause_once_with_every_property_it_breaks():
    report = check_variant("oracle.zoo.output_buffer_reused", target="oracle.zoo.output_buffer_reused",
                           only=["forward", "fresh results", "memory layouts"], max_examples=30, report_dir=None)
    text = report.text()
    assert "FAIL  fresh results" in text
    blocks = re.findall(r"^--- (.+): ", text, re.M)
    assert len(blocks) == len(report.groups())
    for o in report.outcomes:
        if o.verdict == "failed":
            assert sum(o.name in b.split(", ") for b in blocks) == 1, (o.name, blocks)


def test_report_groups_properties_that_fail_on_the_same_case():
    """Padding on the wrong side breaks the forward pass, and with it every property that calls it: one block,
    one case, the properties listed."""
    target = "oracle.zoo.padding_wrong_side"
    report = check_variant(target, target=target, only=["forward", "memory layouts", "call history"],
                           max_examples=40, report_dir=None)
    text = report.text()
    assert re.search(r"^--- forward, memory layouts, call history: minimal counterexample ---$", text, re.M), text
    assert "FAIL  memory layouts        same case" in text and "one root cause" in text
    assert text.count("  case:  ConvCase(") == 1


def test_report_shrinks_options_that_play_no_part_to_their_plainest_form():
    report = check_variant("oracle.zoo.db_averaged", target="oracle.zoo.db_averaged", only=["db"],
                           max_examples=60, report_dir=None)
    case = report.outcomes[0].case
    assert case.stride == 1 and case.dilation == 1 and case.padding == 0 and case.groups == 1, case


def test_report_reproducers_are_unique_and_run_from_any_directory(user_dir):
    target = "oracle.zoo.padding_wrong_side"
    first = check_variant(target, target=target, only=["forward"], max_examples=40, report_dir="reports")
    second = check_variant(target, target=target, only=["forward"], max_examples=40, report_dir="reports")
    paths = {first.reproducers["forward"], second.reproducers["forward"]}
    assert len(paths) == 2 and all(p.exists() for p in paths)
    assert all(re.fullmatch(r"oracle\.zoo\.padding_wrong_side-forward-\d{8}-\d{6}(-\d+)?\.py", p.name) for p in paths)
    elsewhere = user_dir / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run([sys.executable, str(first.reproducers["forward"].resolve())], capture_output=True,
                         text=True, cwd=elsewhere)
    assert run.returncode == 1 and "but should be" in run.stdout, run.stdout + run.stderr


def test_report_reproducer_of_a_contributors_module_records_where_it_came_from(user_dir):
    target = _module(user_dir, "my_bias_conv", """\
        import vectorized

        def conv2d(x, w, b=None, **options):
            return vectorized.conv2d(x, w, None if b is None else b * 2, **options)
        """)
    report = check_variant(target, target=target, only=["forward"], max_examples=40, report_dir="reports")
    script = report.reproducers["forward"]
    assert f"sys.path.insert(0, {str(user_dir)!r})" in script.read_text()
    run = subprocess.run([sys.executable, str(script.resolve())], capture_output=True, text=True, cwd="/")
    assert run.returncode == 1 and "but should be" in run.stdout, run.stdout + run.stderr


def test_report_call_history_failure_says_so_and_its_reproducer_replays_the_calls(user_dir):
    target = "oracle.zoo.stale_buffer_between_calls"
    report = check_variant(target, target=target, only=["call history"], max_examples=60, report_dir="reports")
    outcome = report.outcomes[0]
    assert outcome.verdict == "failed"
    assert re.match(r"call [34] of 4 \(.*\) is wrong after 1: the case; 2: other shapes", outcome.failure.line), \
        outcome.failure.line
    script = report.reproducers["call history"]
    replay = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    alone = subprocess.run([sys.executable, str(script), "--alone"], capture_output=True, text=True)
    assert replay.returncode == 1 and "is wrong after" in replay.stdout, replay.stdout + replay.stderr
    assert alone.returncode == 0 and "holds on this case now" in alone.stdout, alone.stdout + alone.stderr
    assert "(add --alone for the failing call only)" in report.text()


def test_report_says_when_a_failure_depends_on_what_ran_before():
    report = check_variant("oracle.zoo.stale_buffer_between_calls", target="oracle.zoo.stale_buffer_between_calls",
                           only=["dx"], max_examples=100, report_dir=None)
    outcome = report.outcomes[0]
    assert outcome.verdict == "failed"
    if outcome.history:  # the minimal case held when run again: the report says why
        assert outcome.history == DEPENDS_ON_HISTORY and DEPENDS_ON_HISTORY in report.text()


def test_report_assert_variant_fails_pytest_with_the_report_first(user_dir):
    _module(user_dir, "test_user_conv", """\
        from oracle import assert_variant


        def test_averaged_bias():
            assert_variant("oracle.zoo.db_averaged", only=["db"], max_examples=20, report_dir=None)
        """)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user_conv.py"],
                         capture_output=True, text=True, cwd=user_dir, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 1
    failure = run.stdout[run.stdout.index("test_averaged_bias"):]
    assert "conv-oracle check oracle.zoo.db_averaged" in failure and "FAIL  db" in failure
    assert failure.index("conv-oracle check") < failure.index("FAIL  db")
    assert "oracle/check/report.py" not in failure and "def assert_variant" not in failure
    assert "Report(" not in failure and "Outcome(" not in failure


def _database_run(tmp_path, database):
    return check_variant("oracle.zoo.kernel_transposed", target="oracle.zoo.kernel_transposed", only=["forward"],
                         max_examples=40, report_dir=None, database=database)


def test_report_example_database_replays_a_failure_first(tmp_path):
    from hypothesis.database import DirectoryBasedExampleDatabase

    database = DirectoryBasedExampleDatabase(str(tmp_path / "db"))
    first = _database_run(tmp_path, database).outcomes[0]
    again = _database_run(tmp_path, database).outcomes[0]
    assert first.verdict == again.verdict == "failed"
    assert again.first_failure_at == 1 and repr(again.case) == repr(first.case)


def test_report_example_database_shared_through_redis(tmp_path):
    """Hypothesis's Redis-backed database, as `conv-oracle check --database redis://...` builds it, on a Redis
    server in this process (fakeredis)."""
    fakeredis = pytest.importorskip("fakeredis")
    from hypothesis.extra.redis import RedisExampleDatabase

    server = fakeredis.FakeServer()
    first = _database_run(tmp_path, RedisExampleDatabase(fakeredis.FakeRedis(server=server))).outcomes[0]
    again = _database_run(tmp_path, RedisExampleDatabase(fakeredis.FakeRedis(server=server))).outcomes[0]
    assert again.first_failure_at == 1 and repr(again.case) == repr(first.case)


def test_report_cli_database_directory_replays_across_processes(tmp_path):
    command = [shutil.which("conv-oracle"), "check", "oracle.zoo.kernel_transposed", "--property", "forward",
               "--database", str(tmp_path / "db"), "--report-dir", str(tmp_path / "reports")]
    first = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    again = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == again.returncode == 1
    assert re.search(r"FAIL  forward\s+case 1\s", again.stdout), again.stdout

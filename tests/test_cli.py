"""``conv-oracle``: exit statuses, one-line errors, and the check report as a user sees it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "oracle", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_cli_check_passes_a_correct_variant_with_exit_0(capsys):
    status = main(["check", "vectorized", "--max-examples", "15", "--report-dir", "unused"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "conv-oracle check vectorized" in out and "PASSED: every property held" in out
    for name in ("forward", "dx", "dw", "db", "adjoint", "NaN propagation", "bad input"):
        assert f"ok    {name}" in out


def test_cli_check_header_names_versions_seed_budget_and_convention(capsys):
    main(["check", "examples.fft_conv", "--max-examples", "5", "--seed", "7"])
    out = capsys.readouterr().out
    assert "declared:    no backward, no nan, error='normwise'" in out
    assert "numpy" in out and "hypothesis" in out and "torch" in out
    assert "5 generated cases per property" in out and "seed 7" in out
    assert "SAME_UPPER" in out
    assert "skip  dx                   forward only (declared)" in out


def test_cli_check_finds_a_planted_bug_with_exit_1(tmp_path, capsys):
    status = main(["check", "oracle.zoo.db_averaged", "--property", "db", "--max-examples", "30",
                   "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL  db" in out and "first difference:  db[" in out and "reproducer: python" in out
    assert list(tmp_path.glob("*.py"))


@pytest.mark.parametrize("target, words", [
    ("no_such_module_xyz", "cannot import 'no_such_module_xyz': ModuleNotFoundError"),
    ("oracle.properties.bad_inputs", "has no callable conv2d"),
    ("vectorized:nothing_here", "has no attribute 'nothing_here'"),
])
def test_cli_check_bad_target_is_exit_2_with_one_line(target, words):
    run = _run("check", target)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and words in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("profile", ["ci", "dev", "thorough"])
def test_cli_check_takes_every_profile(profile, capsys):
    status = main(["check", "vectorized", "--profile", profile, "--max-examples", "5", "--property", "forward"])
    assert status == 0, capsys.readouterr().out


def test_cli_unknown_property_is_exit_2_not_a_silent_pass(capsys):
    assert main(["check", "vectorized", "--property", "forwards"]) == 2
    assert "property must be one of 'forward', 'dx'" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["many", "0", "-3"])
def test_cli_usage_error_is_exit_2(value):
    run = _run("check", "--max-examples", value)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "expected a whole number >= 1" in run.stderr


def test_cli_check_finds_a_contributors_module_in_the_current_directory(tmp_path):
    (tmp_path / "my_conv.py").write_text("from vectorized import conv2d, conv2d_backward\n")
    run = _run("check", "my_conv", "--max-examples", "5", "--property", "forward", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_cli_selftest_reports_each_variant_and_its_verdict(capsys, monkeypatch):
    """The command's wiring; that every mutant is caught is tests/test_zoo.py's job."""
    import oracle.check.selftest

    monkeypatch.setattr(oracle.check.selftest, "MUTANTS", ("db_averaged", "output_buffer_reused"))
    monkeypatch.setattr(oracle.check.selftest, "CORRECT", ("vectorized",))
    assert main(["selftest", "--max-examples", "20"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"oracle.zoo.db_averaged\s+caught\s+\d+\s+[\d.]+s\s+db: db\[0\]=", out)
    assert re.search(r"vectorized\s+passed", out)
    assert "selftest PASSED: every mutant caught, every implementation passed" in out
    monkeypatch.setattr(oracle.check.selftest, "CORRECT", ("oracle.zoo.db_averaged",))
    assert main(["selftest", "--max-examples", "20"]) == 1
    assert "selftest FAILED: oracle.zoo.db_averaged" in capsys.readouterr().out


def test_cli_bench_prints_its_table(capsys):
    pytest.importorskip("threadpoolctl")
    assert main(["bench", "--shapes", "small", "--rounds", "1", "--dtypes", "float64"]) == 0
    out = capsys.readouterr().out
    assert "vec/torch" in out and re.search(r"small\s+float64\s+forward", out)
    assert "us with a warm index cache" in out


def test_cli_bench_unknown_shape_is_exit_2():
    assert main(["bench", "--shapes", "huge"]) == 2


def test_cli_check_several_targets_exit_1_if_any_fails(tmp_path, capsys):
    status = main(["check", "vectorized", "oracle.zoo.db_averaged", "--property", "db", "--max-examples", "20",
                   "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 1
    assert "conv-oracle check vectorized" in out and "conv-oracle check oracle.zoo.db_averaged" in out
    assert out.count("PASSED: every property held") == 1 and "FAILED: db" in out

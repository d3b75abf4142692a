"""``conv-oracle``: exit statuses, one-line errors, and the check report as a user sees it, run the way a user runs
it (the console script, from a directory outside the repository) wherever the way matters."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.cli import main, property_names

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, cwd=None, env=None, timeout=600, script=False):
    """``python -m oracle ARGS`` (or the ``conv-oracle`` console script) in ``cwd`` (default: a fresh directory)."""
    command = [shutil.which("conv-oracle")] if script else [sys.executable, "-m", "oracle"]
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(autouse=True)
def _in_a_fresh_directory(tmp_path, monkeypatch):
    """Every command runs where a user's would: a directory of its own, so reports land there."""
    monkeypatch.chdir(tmp_path)


def _one_line_error(run, words):
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("conv-oracle: error: ") and run.stderr.count("\n") == 1, run.stderr
    assert words in run.stderr, run.stderr


def test_cli_check_passes_a_correct_variant_with_exit_0(capsys):
    status = main(["check", "vectorized", "--max-examples", "10", "--report-dir", "unused"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "conv-oracle check vectorized" in out and "PASSED: every property held" in out
    for name in ("forward", "dx", "dw", "db", "adjoint", "memory layouts", "call history", "NaN propagation",
                 "block sweep", "bad input"):
        assert f"ok    {name}" in out


def test_cli_check_header_names_declaration_precision_versions_seed_budget_and_convention(capsys):
    main(["check", "oracle.examples.fft_conv", "--max-examples", "5", "--seed", "7"])
    out = capsys.readouterr().out
    assert "declared:    forward only, error='normwise', no exact NaN and inf propagation" in out
    assert "precision:   float16, bfloat16, float32, float64: as each dtype implies" in out
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
    ("oracle.properties.bad_inputs", "must have a callable conv2d"),
    ("vectorized:nothing_here", "has no attribute 'nothing_here'"),
    ("my_conv.py", "target must be a module name, not a file: try 'my_conv'"),
    ("pkg/my_conv.py:Conv", "try 'pkg.my_conv:Conv'"),
    ("oracle.targets.torch:TorchConv", "oracle.targets.torch:TorchConv is a class: name an instance of it"),
    ("oracle.targets.torch:no_such_device", "'oracle.targets.torch' has no attribute 'no_such_device': PyTorch "),
])
def test_cli_check_bad_target_is_exit_2_with_one_line(target, words, tmp_path):
    _one_line_error(_run("check", target, cwd=tmp_path), words)


@pytest.mark.parametrize("declaration, words", [
    ('{"padding": "int"}', "conv_oracle_support['padding'] must be a tuple of names from ('int', 'pair', 'sides', "
                           "'valid', 'same'); got the str 'int' (write ('int',))"),
    ('{"strides": False}', "got unknown key strides"),
    ('{"layout": "NHCW/XXXX"}', "conv_oracle_support['layout'] must be 'NHWC', 'NCHW', or 'ACTIVATIONS/WEIGHTS'"),
])
def test_cli_check_bad_declaration_is_exit_2_with_one_line(declaration, words, tmp_path):
    (tmp_path / "declared.py").write_text(f"from vectorized import conv2d\nconv_oracle_support = {declaration}\n")
    _one_line_error(_run("check", "declared", cwd=tmp_path), words)


@pytest.mark.parametrize("profile", ["ci", "dev", "thorough"])
def test_cli_check_takes_every_profile(profile, capsys):
    status = main(["check", "vectorized", "--profile", profile, "--max-examples", "5", "--property", "forward"])
    assert status == 0, capsys.readouterr().out


def test_cli_unknown_property_is_exit_2_listing_the_names(capsys):
    assert main(["check", "vectorized", "--property", "forwards"]) == 2
    err = capsys.readouterr().err
    assert "--property must be one of 'forward', 'dx'" in err and "'block sweep'" in err and "got 'forwards'" in err


def test_cli_check_help_lists_the_property_names():
    run = _run("check", "--help")
    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    for name in property_names():
        assert repr(name) in text


@pytest.mark.parametrize("command, words", [("selftest", "--max-examples"), ("bench", "--dtypes"),
                                            ("bench", "--shapes"), ("explain", "--seed-article")])
def test_cli_every_command_describes_its_options(command, words):
    run = _run(command, "--help")
    assert run.returncode == 0 and words in run.stdout
    option = re.search(rf"{re.escape(words)}[^\n]*\n?\s*(.+)", run.stdout)
    assert option and option.group(1).strip(), run.stdout


@pytest.mark.parametrize("args, words", [
    (("check", "--max-examples", "many"), "expected a whole number >= 1; got 'many'"),
    (("check", "--max-examples", "0"), "expected a whole number >= 1; got '0'"),
    (("check", "vectorized", "--report-dir", "/proc/nope"), "--report-dir must be a directory it can create"),
    (("check", "vectorized", "--database", "/proc/nope"), "--database must be a directory it can create"),
    (("bench", "--dtypes", "bogus"), "argument --dtypes: invalid choice: 'bogus'"),
    (("bench", "--dtypes"), "argument --dtypes: expected at least one argument"),
    (("bench", "--shapes", "huge"), "argument --shapes: invalid choice: 'huge'"),
    (("explain", "--input", "abc", "--kernel", "3"), "argument --input: must be H,W, whole numbers >= 1; got 'abc'"),
    (("explain", "--input", "-3,3", "--kernel", "3"), "argument --input: must be H,W, whole numbers >= 1; got '-3,3'"),
    (("explain", "--input", "3,3", "--kernel", "5,5"),
     "the dilated kernel must fit in the padded input (H_out and W_out >= 1); got input 3x3 padded to 3x3, kernel "
     "5x5 dilated to 5x5 (padding=0, dilation=1)"),
    (("explain", "--input", "5", "--kernel", "3", "--png", "/nonexistent/dir/x.png"),
     "--png must be a file it can write; got '/nonexistent/dir/x.png'"),
    (("explain", "--input", "5"), "explain needs --kernel KH,KW as well as --input (or --seed-article)"),
    (("explain", "--kernel", "5"), "explain needs --input H,W as well as --kernel (or --seed-article)"),
])
def test_cli_usage_error_is_exit_2_with_one_line(args, words, tmp_path):
    _one_line_error(_run(*args, cwd=tmp_path), words)


def test_cli_seed_minus_one_prints_the_seed_it_drew(capsys):
    main(["check", "vectorized", "--seed", "-1", "--max-examples", "2", "--property", "forward"])
    drawn = re.search(r"seed (\d+)", capsys.readouterr().out)
    assert drawn and int(drawn.group(1)) >= 0


def test_cli_console_script_runs_the_seed_article_from_any_directory(tmp_path):
    run = _run("explain", "--seed-article", cwd=tmp_path, script=True)
    assert run.returncode == 0, run.stderr
    assert "2414 + 19802 + 54470 = 76686" in run.stdout


def test_cli_output_cut_short_by_a_closed_pipe_is_no_traceback(tmp_path):
    command = f"{shutil.which('conv-oracle')} explain --input 40,40 --kernel 3 | head -n 2"
    run = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert run.stdout.count("\n") == 2 and "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr


def test_cli_a_variant_raising_system_exit_is_reported_not_obeyed(tmp_path):
    (tmp_path / "exits.py").write_text("import sys\n\ndef conv2d(x, w, b=None, **options):\n    sys.exit(3)\n")
    run = _run("check", "exits", "--max-examples", "3", "--property", "forward", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "conv2d raised SystemExit: 3 at " in run.stdout and "exits.py:4 in conv2d" in run.stdout


def test_cli_check_finds_a_contributors_module_in_the_current_directory(tmp_path):
    (tmp_path / "my_conv.py").write_text("from vectorized import conv2d, conv2d_backward\n")
    run = _run("check", "my_conv", "--max-examples", "5", "--property", "forward", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_cli_selftest_reports_each_variant_and_its_verdict(capsys, monkeypatch):
    """The command's wiring; that every mutant is caught is tests/test_zoo.py's job."""
    import oracle.check.selftest

    monkeypatch.setattr(oracle.check.selftest, "MUTANTS", ("db_averaged", "output_buffer_reused"))
    monkeypatch.setattr(oracle.check.selftest, "CORRECT", {"vectorized": None, "oracle.examples.scipy_conv": "nopkg"})
    assert main(["selftest", "--max-examples", "20"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"oracle.zoo.db_averaged\s+caught\s+\d+\s+[\d.]+s\s+\S", out)
    assert re.search(r"vectorized\s+passed", out)
    assert re.search(r"oracle.examples.scipy_conv\s+skipped\s+needs nopkg, which is not installed", out)
    assert "selftest PASSED: every mutant caught, every implementation passed (1 skipped" in out
    monkeypatch.setattr(oracle.check.selftest, "CORRECT", {"oracle.zoo.db_averaged": None})
    assert main(["selftest", "--max-examples", "20"]) == 1
    assert "selftest FAILED: oracle.zoo.db_averaged" in capsys.readouterr().out


def test_cli_selftest_jobs_give_the_same_verdicts_in_the_same_order(capsys, monkeypatch):
    import oracle.check.selftest

    monkeypatch.setattr(oracle.check.selftest, "MUTANTS", ("segfault_stride_past_kernel", "db_averaged",
                                                           "output_buffer_reused"))
    monkeypatch.setattr(oracle.check.selftest, "CORRECT", {"vectorized": None, "oracle.examples.fft_conv": None,
                                                           "oracle.examples.scipy_conv": "nopkg"})
    lines = {}
    for jobs in ("1", "2"):
        assert main(["selftest", "--max-examples", "10", "--jobs", jobs]) == 0
        out = capsys.readouterr().out
        assert f"{jobs} at a time" in out
        rows = [line.split() for line in out.splitlines() if line.startswith("  oracle.") or line.startswith("  vec")]
        lines[jobs] = [[word for word in row if not re.fullmatch(r"[\d.]+s", word)] for row in rows]  # but times
    assert [row[0] for row in lines["1"]] == ["oracle.zoo.segfault_stride_past_kernel", "oracle.zoo.db_averaged",
                                              "oracle.zoo.output_buffer_reused", "vectorized",
                                              "oracle.examples.fft_conv", "oracle.examples.scipy_conv",
                                              "oracle.zoo.exits_on_import"]
    assert lines["2"] == lines["1"]


def test_cli_selftest_fails_when_an_implementation_cannot_be_loaded(capsys, monkeypatch):
    import oracle.check.selftest

    monkeypatch.setattr(oracle.check.selftest, "MUTANTS", ())
    monkeypatch.setattr(oracle.check.selftest, "CORRECT", {"vectorized": None, "no_such_variant_xyz": None})
    assert main(["selftest", "--max-examples", "5"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"no_such_variant_xyz\s+NOT LOADED", out)
    assert "selftest FAILED: no_such_variant_xyz" in out


def test_cli_bench_prints_its_table(capsys):
    pytest.importorskip("threadpoolctl")
    assert main(["bench", "--shapes", "small", "--rounds", "1", "--dtypes", "float64", "float16"]) == 0
    out = capsys.readouterr().out
    assert "vec/torch" in out and re.search(r"small\s+float64\s+forward", out)
    assert re.search(r"small\s+float16\s+backward", out)
    assert "us with a warm index cache" in out


def test_cli_bench_transposed_prints_its_rows(capsys):
    pytest.importorskip("threadpoolctl")
    assert main(["bench", "--transposed", "--shapes", "small", "strided", "--rounds", "1", "--dtypes", "float32"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("conv_transpose2d (output padding stride - 1), medians of 1")
    assert re.search(r"strided\s+float32\s+backward\s+-\s+[\d.]+ms", out) and "warm index cache" not in out


def test_cli_check_several_targets_exit_1_if_any_fails(tmp_path, capsys):
    status = main(["check", "vectorized", "oracle.zoo.db_averaged", "--property", "db", "--max-examples", "20",
                   "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 1
    assert "conv-oracle check vectorized" in out and "conv-oracle check oracle.zoo.db_averaged" in out
    assert out.count("PASSED: every property held") == 1 and "FAILED: db" in out


@pytest.fixture
def without_torch(tmp_path):
    """An environment in which ``import torch`` fails, as it does where PyTorch is not installed."""
    blocker = tmp_path / "blocker" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ModuleNotFoundError("No module named \'torch\'", name="torch")\n')
    return {"PYTHONPATH": str(blocker.parent)}


def test_cli_without_torch_says_what_it_cannot_judge(without_torch):
    run = _run("check", "naive", "--property", "forward", "--max-examples", "3", env=without_torch)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "reference:   naive (float64)" in run.stdout
    assert "WARNING:     PyTorch is not installed: the loops of naive are the truth, so a bug naive shares goes " \
           "unseen, and naive judged by itself proves nothing" in run.stdout
    assert "versions:    python" in run.stdout and "torch not installed" in run.stdout


def test_cli_reference_naive_says_it_was_chosen(capsys):
    pytest.importorskip("torch")
    assert main(["check", "vectorized", "--reference", "naive", "--property", "forward", "--property",
                 "references agree", "--max-examples", "3"]) == 0
    out = capsys.readouterr().out
    assert "WARNING:     --reference naive: the loops of naive are the truth" in out
    assert "PyTorch is not installed" not in out and "needs PyTorch" not in out
    assert "the reference is naive itself (--reference naive, or PyTorch not installed)" in out


def test_suite_without_torch_says_which_files_it_skipped(without_torch):
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_zoo.py",
                          "tests/test_vectorized.py"], capture_output=True, text=True, cwd=ROOT, timeout=600,
                         env={**os.environ, **without_torch})
    assert run.returncode == 0, run.stdout[-2000:]
    assert "PyTorch is not installed" in run.stdout
    assert "1 test files judge against PyTorch and were skipped: tests/test_zoo.py" in run.stdout

"""Reports a person reads once (issue 18): one bug, one block, each message printed once, the right property named
first; blame only where it is due; the variant's own layout; hints one declaration away; words that do not
mislead; the small defects of the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oracle import check_variant
from oracle.cli import main

pytest.importorskip("torch")


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _module(directory: Path, name: str, source: str) -> str:
    (directory / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def _blocks(text: str) -> list[str]:
    return re.findall(r"^--- (.*): ", text, re.M)


# --- 1. one bug, one block ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mutant, first, properties", [
    ("padding_wrong_side", "forward", {"forward", "dx", "dw", "memory layouts", "call history", "NaN propagation",
                                       "inf propagation", "block sweep"}),
    ("tf32_one_operand", "forward", {"forward"}),
    ("bf16_accumulated_in_bf16", "forward", {"forward"}),
    ("stale_buffer_between_calls", "call history", {"call history"}),
])
def test_reading_one_bug_is_one_block_with_the_right_property_first(mutant, first, properties):
    report = check_variant(f"oracle.zoo.{mutant}", max_examples=30, report_dir=None, jobs=2)
    text = report.text()
    groups = report.groups()
    assert len(groups) == 1, text
    assert groups[0][0].name == first, text
    assert properties <= {o.name for o in groups[0]}, text
    assert "(1 root cause above)" in text


def test_reading_a_raise_met_by_several_properties_is_printed_once(user_dir):
    target = _module(user_dir, "raises_on_groups", """\
        import vectorized


        def conv2d(x, w, b=None, *, groups=1, **options):
            if groups > 1:
                raise RuntimeError("grouped convolution is not implemented on this path, with a long story " * 3)
            return vectorized.conv2d(x, w, b, groups=groups, **options)


        def conv2d_backward(dy, x, w, *, groups=1, **options):
            if groups > 1:
                raise RuntimeError("grouped convolution is not implemented on this path, with a long story " * 3)
            return vectorized.conv2d_backward(dy, x, w, groups=groups, **options)
        """)
    report = check_variant(target, only=["forward", "dx", "shapes and dtypes", "memory layouts"], max_examples=30,
                           report_dir=None)
    text = report.text()
    assert len(report.groups()) == 1, text
    block = text.split("\n--- ", 1)[1]
    # once for each place it is raised from (conv2d's, conv2d_backward's), however many properties met it
    assert sum("with a long story grouped" in line for line in block.splitlines()) == 2, block
    assert block.count("raised at:") == 2 and block.count("hint:") == 2, block


# --- 2. blame where it is due ---------------------------------------------------------------------------------

def test_reading_layouts_and_history_say_when_the_plain_call_fails_too():
    report = check_variant("oracle.zoo.padding_wrong_side", only=["memory layouts", "call history"],
                           max_examples=40, report_dir=None)
    lines = {o.name: o.failure.line for o in report.outcomes if o.failure is not None}
    assert "with contiguous arguments too: the layout is not the cause" in lines["memory layouts"]
    assert "alone too, in a fresh call" in lines["call history"]
    assert all(o.failure.alone for o in report.outcomes if o.failure is not None)


# --- 3. the variant's own layout ------------------------------------------------------------------------------

def test_reading_an_nchw_variant_is_reported_in_nchw(user_dir):
    target = _module(user_dir, "nchw_rows", """\
        from oracle.examples import nchw_conv

        conv_oracle_support = nchw_conv.conv_oracle_support


        def conv2d(x, w, b=None, **options):
            y = nchw_conv.conv2d(x, w, b, **options)
            if y.shape[1] > 1:
                y[:, 1] = 0  # the second output channel lost
            return y
        """)
    report = check_variant(target, only=["forward"], max_examples=40, report_dir=None)
    text = report.text()
    assert re.search(r"y\[\d+,1,\d+,\d+\] \(NHWC y\[\d+,\d+,\d+,1\]\)=", text), text
    assert re.search(r"x\.shape=\(\d+, \d+, \d+, \d+\) \(NCHW; NHWC \(", text), text


# --- 4. hints -------------------------------------------------------------------------------------------------

def test_reading_an_undeclared_tf32_kernel_gets_the_declaration_that_explains_it():
    report = check_variant("oracle.zoo.tf32_one_operand", only=["forward"], max_examples=80, report_dir=None)
    assert "hint: every difference of y fits a variant that declares 'input_rounding': {'float32': 'tf32'}" in \
        report.text()


def test_reading_a_variant_that_refuses_a_half_dtype_is_told_the_key(user_dir):
    target = _module(user_dir, "no_half", """\
        import vectorized


        def conv2d(x, w, b=None, **options):
            if x.dtype.name in ("float16", "bfloat16"):
                raise RuntimeError(f'"conv2d" not implemented for {x.dtype.name!r}')
            return vectorized.conv2d(x, w, b, **options)
        """)
    text = check_variant(target, only=["forward"], max_examples=40, report_dir=None).text()
    assert "hint: conv2d raised on a case with float16: if the variant does not take it, declare 'dtypes': (" in text


# --- 5. words -------------------------------------------------------------------------------------------------

def test_reading_words_that_do_not_mislead(user_dir):
    target = _module(user_dir, "forward_only", "from vectorized import conv2d  # noqa: F401\n")
    report = check_variant(target, only=["forward", "dx"], max_examples=5, report_dir=None)
    text = report.text()
    assert "skip  dx" in text and "not offered: it has no conv2d_backward" in text
    assert "forward only (declared)" not in text
    assert "the block sweep" not in text  # the budget names no sweep that is not run
    assert "it has no conv2d_backward" in text.split("\n")[1]  # the header's declared line


def test_reading_a_sweep_no_point_fits_is_not_applicable(user_dir):
    target = _module(user_dir, "tiny_only", """\
        from vectorized import conv2d  # noqa: F401

        conv_oracle_support = {"max_batch": 1, "padding": ("valid",), "stride": False, "dilation": False,
                               "square": ("input", "kernel"), "groups": False, "dtypes": ("float64",),
                               "min_batch": 1, "leftover_rows": False}
        """)
    report = check_variant(target, only=["block sweep"], report_dir=None)
    assert "ok    block sweep" not in report.text() or "0 points" not in report.text()


def test_reading_groups_are_numbered_from_zero_as_channels_are():
    import numpy as np

    from oracle.cases.strategies import ConvCase
    from oracle.check.locate import describe

    case = ConvCase(np.zeros((1, 2, 2, 3)), np.zeros((1, 1, 1, 3)), None, np.zeros((1, 2, 2, 3)), groups=3)
    bad = np.zeros((1, 2, 2, 3), dtype=bool)
    bad[..., 0] = True
    assert "only channels 0: group 0 of groups 0..2" in "; ".join(describe("y", bad, case))


def test_reading_the_header_says_both_same_conventions():
    report = check_variant("vectorized", only=["transposed forward"], max_examples=2, report_dir=None)
    header = "\n".join(report.header())
    assert "'same' = SAME_UPPER" in header and "transposed 'same' = H_out = H*s" in header


# --- 6, 7. declarations ---------------------------------------------------------------------------------------

def test_reading_a_module_with_only_the_transposed_operation_is_checked(user_dir):
    target = _module(user_dir, "only_transposed", "from vectorized import conv_transpose2d  # noqa: F401\n")
    report = check_variant(target, only=["forward", "transposed forward"], max_examples=5, report_dir=None)
    verdicts = {o.name: (o.verdict, o.note) for o in report.outcomes}
    assert verdicts["forward"] == ("skipped", "not offered: it has no conv2d")
    assert verdicts["transposed forward"][0] == "passed"


# --- 8. small defects of the command line ---------------------------------------------------------------------

def test_reading_a_passing_check_cut_short_by_a_closed_pipe_still_exits_0(tmp_path):
    command = f"{sys.executable} -m oracle check vectorized --property forward --max-examples 5 | head -n 2"
    run = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr


def test_reading_bench_without_threadpoolctl_is_one_line(tmp_path):
    blocker = tmp_path / "blocker" / "threadpoolctl"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ModuleNotFoundError('No module named threadpoolctl', "
                                         "name='threadpoolctl')\n")
    run = subprocess.run([sys.executable, "-m", "oracle", "bench", "--shapes", "small", "--rounds", "1"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(blocker.parent)})
    assert run.returncode == 2 and run.stderr.startswith("conv-oracle: error: bench needs torch and threadpoolctl")
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("args, words", [
    (["explain", "--input", "20000,3", "--kernel", "3"], "--input must be at most 512 on each axis"),
    (["explain", "--seed-article", "--input", "3,3"], "explain --seed-article draws the article's own geometry"),
])
def test_reading_explain_says_what_it_cannot_do(args, words, capsys):
    assert main(args) == 2
    assert words in capsys.readouterr().err


def test_reading_bench_of_half_formats_alone_prints_no_empty_table(capsys):
    pytest.importorskip("threadpoolctl")
    assert main(["bench", "--shapes", "small", "--rounds", "1", "--dtypes", "float16"]) == 0
    assert "half formats in vectorized" not in capsys.readouterr().out


def test_reading_reproducers_refuse_unknown_flags_and_alone_where_it_does_nothing(user_dir):
    report = check_variant("oracle.zoo.padding_wrong_side", only=["forward"], max_examples=30,
                           report_dir=user_dir / "out")
    script = str(report.reproducers["forward"])
    for flag in ("--bogus", "--alone"):
        run = subprocess.run([sys.executable, script, flag], capture_output=True, text=True, cwd="/", timeout=300)
        assert run.returncode == 2 and "unrecognized arguments" in run.stderr, run.stderr


# --- 9. a database keeps the seed ----------------------------------------------------------------------------

def test_reading_a_database_keeps_the_seed_its_minimal_case_and_replays_it_first(tmp_path):
    options = dict(only=["forward"], max_examples=60, report_dir=None, isolate=False)
    def forward(report):
        return next(o for o in report.outcomes if o.name == "forward")

    seeded = forward(check_variant("oracle.zoo.groups_interleaved", **options))
    database = str(tmp_path / "examples")
    first = check_variant("oracle.zoo.groups_interleaved", database=database, **options)
    again = check_variant("oracle.zoo.groups_interleaved", database=database, **options)
    assert "seed 0; failures kept in the example database" in first.text()
    for report in (first, again):
        assert repr(forward(report).case) == repr(seeded.case), report.text()
    assert forward(again).first_failure_at == 1, again.text()
    assert seeded.first_failure_at > 1

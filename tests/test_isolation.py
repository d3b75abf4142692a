"""Isolation: every call into a variant runs in a worker process the oracle owns, so a crash, an exit or a hang is a
finding of the property that made the call, and the check goes on. Arrays reach the worker in their memory layout,
and what the variant does to them there (writing an input, reusing a result buffer, returning an input) is seen
by the properties as if it ran here."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from oracle.cases.layouts import LAYOUTS
from oracle.check.isolation import load_isolated
from oracle.check.runner import Interrupted, run_property, run_sweep
from oracle.check.session import check_variant
from oracle.properties import PROPERTIES
from oracle.reference.truth import get_reference
from oracle.targets.variant import VariantDied, VariantError, load

PROPERTY = {p.name: p for p in PROPERTIES}
REFERENCE = get_reference()


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    """A directory on the import path for variants written by a test (the workers find them there too)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _search(target: str, prop: str, examples: int = 100):
    variant = load_isolated(target)
    try:
        return run_property(variant, PROPERTY[prop], REFERENCE, max_examples=examples, seed_value=0)
    finally:
        variant.runtime.close()


@pytest.mark.parametrize("mutant, prop, how", [
    ("segfault_stride_past_kernel", "forward", "crashed: SIGSEGV"),
    ("abort_grouped_backward", "dx", "crashed: SIGABRT (abort)"),
    ("exit_on_empty_batch", "forward", "exited with status 0"),
])
def test_isolation_a_call_that_ends_its_worker_is_a_failure_with_how_it_ended(mutant, prop, how):
    outcome = _search(f"oracle.zoo.{mutant}", prop)
    assert outcome.verdict == "failed" and outcome.failure.stage == "died", outcome
    assert how in outcome.failure.line and outcome.failure.died.how == how
    if how.startswith("crashed"):  # faulthandler's report names the mutant's own line
        assert f"oracle/zoo/{mutant}.py" in outcome.failure.raised_at
        assert any("Fatal Python error" in line for line in outcome.failure.died.said())
    assert not outcome.history, "the minimal case dies alone in a fresh worker"


def test_isolation_minimal_case_of_a_crash_is_in_its_class():
    case = _search("oracle.zoo.segfault_stride_past_kernel", "forward").case
    assert case.geometry.stride[1] > case.geometry.kernel[1]
    assert case.x.size <= 2 and case.w.size == 1, case


def test_isolation_a_hang_is_found_in_seconds_and_named_where_it_hung():
    outcome = _search("oracle.zoo.hang_padding_past_kernel", "forward")
    assert outcome.verdict == "failed" and outcome.failure.died.hung
    assert outcome.first_failure_seconds < 60  # found in seconds, on a busy machine too
    # judged again with the full limit (20x the slowest comparable call, at least 2 s), not the shrinking one
    # (at least 0.5 s): how long the slowest call took depends on the machine, so only the floor is known here
    limit = float(re.search(r"gave no answer in ([0-9.]+) s", outcome.failure.line).group(1))
    assert limit >= 2.0, outcome.failure.line
    assert "hang_padding_past_kernel.py" in outcome.failure.raised_at and "time.sleep" in outcome.failure.raised_at
    assert outcome.case.geometry.pads[0][0] > outcome.case.geometry.kernel[0]


def test_isolation_a_crash_that_needs_an_earlier_call_is_reported_with_the_calls_that_make_it():
    outcome = _search("oracle.zoo.crash_after_smaller_call", "forward")
    assert outcome.verdict == "failed" and outcome.failure.stage == "died"
    assert "did not die alone in a fresh worker, but does after" in outcome.history
    assert outcome.calls and len(outcome.calls) >= 2 and all(c.function == "conv2d" for c in outcome.calls)
    variant = load_isolated("oracle.zoo.crash_after_smaller_call")
    try:  # the recorded calls end a fresh worker again; the last one alone does not
        assert variant.runtime.replay(outcome.calls).how == "crashed: SIGSEGV"
        assert variant.runtime.replay(outcome.calls[-1:]) is None
    finally:
        variant.runtime.close()


def test_isolation_a_crash_never_loses_the_other_verdicts(tmp_path):
    report = check_variant("oracle.zoo.segfault_stride_past_kernel", only=["forward", "dx", "db"], max_examples=30,
                           report_dir=tmp_path)
    verdicts = {o.name: o.verdict for o in report.outcomes}
    assert verdicts == {"forward": "failed", "dx": "passed", "db": "passed"}, report.text()
    assert "crashed: SIGSEGV" in report.text() and "the process said:" in report.text()
    script = report.reproducers["forward"]
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 1 and "crashed: SIGSEGV" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("source, words", [
    ("import sys\nsys.exit(0)\n", "it called sys.exit(0) while it was imported"),
    ("import os\nos._exit(3)\n", "it exited with status 3 while it was imported"),
    ("import ctypes\nctypes.string_at(0)\n", "it crashed: SIGSEGV while it was imported"),
    ("raise RuntimeError('no device')\n", "cannot import 'broken': RuntimeError: no device"),
])
def test_isolation_a_target_that_dies_while_imported_is_one_line(source, words, module_dir):
    (module_dir / "broken.py").write_text(source)
    with pytest.raises(VariantError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_isolated("broken")
    run = subprocess.run([sys.executable, "-m", "oracle", "check", "broken"], capture_output=True, text=True,
                         cwd=module_dir, timeout=120)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and words in run.stderr, run.stderr


def test_isolation_the_mutant_that_exits_while_imported_is_exit_2(tmp_path):
    run = subprocess.run([sys.executable, "-m", "oracle", "check", "oracle.zoo.exits_on_import"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2 and "called sys.exit(0) while it was imported" in run.stderr


STRIDES = '''import numpy as np

conv_oracle_support = {"validates": False}


def conv2d(x, w, b=None, **options):
    """Returns what it received, as numbers: its strides, offsets and flags."""
    return np.array([*x.strides, x.flags.writeable, x.flags.c_contiguous, x.flags.f_contiguous, *w.strides,
                     float(x.sum())], dtype=np.float64)
'''


@pytest.mark.parametrize("layout", LAYOUTS, ids=[layout.name for layout in LAYOUTS])
def test_isolation_arrays_reach_the_worker_in_their_memory_layout(layout, module_dir):
    (module_dir / "strides.py").write_text(STRIDES)
    variant = load_isolated("strides")
    try:
        x = layout.arrange(np.arange(24.0).reshape(1, 2, 3, 4), "NHWC")
        w = layout.arrange(np.arange(8.0).reshape(1, 2, 2, 2), "HWIO")
        got = variant.functions["conv2d"](x, w)
    finally:
        variant.runtime.close()
    want = [*x.strides, x.flags.writeable, x.flags.c_contiguous, x.flags.f_contiguous, *w.strides, float(x.sum())]
    assert got.tolist() == [float(v) for v in want]


@pytest.mark.parametrize("mutant, prop, words", [
    ("input_modified_in_place", "inputs unmodified", "modified its input"),
    ("output_buffer_reused", "fresh results", "reused buffer"),
    ("stale_buffer_between_calls", "call history", "is wrong after"),
])
def test_isolation_what_a_variant_does_to_memory_in_its_worker_is_seen(mutant, prop, words):
    outcome = _search(f"oracle.zoo.{mutant}", prop, examples=60)
    assert outcome.verdict == "failed" and words in outcome.failure.line, outcome.failure


ALIASING = '''from vectorized import conv2d_backward  # noqa: F401


def conv2d(x, w, b=None, **options):
    return x  # the input itself: a result that aliases it
'''


def test_isolation_a_result_that_is_its_input_in_the_worker_aliases_it_here(module_dir):
    (module_dir / "aliasing.py").write_text(ALIASING)
    outcome = _search("aliasing", "fresh results", examples=5)
    assert outcome.verdict == "failed" and "shares memory with the input x" in outcome.failure.line


RAISES = '''class ShapeError(ValueError):
    pass


def conv2d(x, w, b=None, **options):
    raise ShapeError(f"w.shape[2] must equal x.shape[3]; got {w.shape}")
'''


def test_isolation_an_error_keeps_its_name_its_bases_and_where_it_was_raised(module_dir):
    (module_dir / "raises.py").write_text(RAISES)
    variant = load_isolated("raises")
    try:
        with pytest.raises(ValueError) as caught:
            variant.functions["conv2d"](np.ones((1, 2, 2, 1)), np.ones((1, 1, 2, 1)))
    finally:
        variant.runtime.close()
    error = caught.value
    assert type(error).__name__ == "ShapeError" and "got (1, 1, 2, 1)" in str(error)
    assert error.raised_at.endswith("raises.py:6 in conv2d: raise ShapeError(f\"w.shape[2] must equal x.shape[3]; "
                                    "got {w.shape}\")")


def test_isolation_a_call_after_a_death_runs_in_a_fresh_worker(module_dir):
    variant = load_isolated("oracle.zoo.exit_on_empty_batch")
    try:
        w = np.ones((1, 1, 1, 1))
        with pytest.raises(VariantDied, match="exited with status 0"):
            variant.functions["conv2d"](np.ones((0, 2, 2, 1)), w)
        assert variant.functions["conv2d"](np.ones((1, 2, 2, 1)), w).shape == (1, 2, 2, 1)
    finally:
        variant.runtime.close()


def test_isolation_workers_are_forked_with_bfloat16_imported(module_dir):
    # importing ml_dtypes takes half a second: paid in each worker's first bfloat16 call, it counted as that call's
    # time, and every time limit (20x the slowest call) grew with it
    (module_dir / "reports_imports.py").write_text(
        "import sys\n\n\ndef conv2d(x, w, b=None, **options):\n    return 'ml_dtypes' in sys.modules\n")
    variant = load_isolated("reports_imports")
    try:
        assert variant.functions["conv2d"](np.ones((1, 2, 2, 1)), np.ones((1, 1, 1, 1))) is True
    finally:
        variant.runtime.close()


def test_isolation_ctrl_c_names_the_running_case_and_writes_its_reproducer(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "oracle", "check", "vectorized", "--max-examples", "500",
                                "--jobs", "1", "--report-dir", "reports"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(15)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert "interrupted: " in out and " was running ConvCase(" in out and "conv-oracle: interrupted" in err
    assert list((tmp_path / "reports").glob("vectorized-*.py"))


SWALLOWS_CTRL_C = """\
import os
import signal

from vectorized import conv2d as _conv2d

calls = [0]


def conv2d(x, w, b=None, **options):
    calls[0] += 1
    if calls[0] == 3:
        try:  # Ctrl-C, swallowed as Python swallows it inside a garbage-collector callback
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            pass
    return _conv2d(x, w, b, **options)
"""


@pytest.mark.parametrize("search", ["forward", "block sweep"])
def test_isolation_ctrl_c_that_the_variant_swallows_still_ends_the_search(search, module_dir):
    module = f"swallows_ctrl_c_in_{search.replace(' ', '_')}"  # a module of its own: it counts its calls
    (module_dir / f"{module}.py").write_text(SWALLOWS_CTRL_C)
    variant = load(module)
    with pytest.raises(Interrupted) as interrupted:
        if search == "block sweep":
            run_sweep(variant, REFERENCE)
        else:
            run_property(variant, PROPERTY[search], REFERENCE, max_examples=100, seed_value=0)
    assert interrupted.value.name == search


def test_isolation_nothing_is_written_into_the_working_directory(tmp_path):
    run = subprocess.run([sys.executable, "-m", "oracle", "check", "oracle.zoo.padding_wrong_side", "--property",
                          "forward", "--max-examples", "30", "--jobs", "1"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert run.returncode == 1 and "reproducer: python " in run.stdout
    assert list(tmp_path.iterdir()) == []


def test_isolation_jobs_give_the_same_report_as_one_after_another(tmp_path):
    import re

    def shape(report):
        return re.sub(r"\d+\.\d+s", "<t>", re.sub(r"\d{8}-\d{6}(-\d+)?", "<stamp>", report.text()))

    options = {"only": ["forward", "dx", "memory layouts", "call history"], "max_examples": 25,
               "report_dir": tmp_path}
    one = check_variant("oracle.zoo.padding_wrong_side", jobs=1, **options)
    two = check_variant("oracle.zoo.padding_wrong_side", jobs=2, **options)
    assert shape(one) == shape(two)

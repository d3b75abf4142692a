"""The oracle's power: every mutant of the zoo is caught, every correct implementation passes, and a planted
bug's minimal counterexample points at the bug."""

import subprocess
import sys

import numpy as np
import pytest

from oracle import properties
from oracle.check.runner import run_property
from oracle.check.selftest import CORRECT, judge
from oracle.check.session import OracleFailure, assert_variant, check_variant
from oracle.reference.truth import get_reference
from oracle.targets.variant import load
from oracle.zoo import MUTANTS

pytest.importorskip("torch")
TORCH = get_reference("torch")
PROPERTY = {p.name: p for p in properties.PROPERTIES}


@pytest.mark.parametrize("mutant", MUTANTS)
def test_zoo_mutant_is_caught(mutant):
    """At half the default budget (``benchmarks/power.py`` measures each mutant under a default check)."""
    verdict = judge(f"oracle.zoo.{mutant}", True, TORCH, max_examples=50, seed=0, shrink=False)
    assert verdict.failed, f"{mutant} passed every property"


@pytest.mark.parametrize("mutant", MUTANTS)
def test_zoo_mutant_is_wrong_only_in_its_bug_not_its_validation(mutant):
    properties.bad_input(load(f"oracle.zoo.{mutant}"))


BLOCK_MUTANTS = {
    "input_channel_tail": "C_in=6", "output_channel_tail": "C_out=9", "ragged_width_tile": "W_out=5",
    "dw_ragged_row_tile": "H_out=9", "dx_partial_batch_chunk": "N=5", "large_kernel_path": "KH=5",
    "halo_capped": "pad top=9",
}


@pytest.mark.parametrize("mutant, first", list(BLOCK_MUTANTS.items()))
def test_zoo_block_sweep_finds_each_block_bug_at_its_smallest_size(mutant, first):
    from oracle.check.runner import run_sweep

    outcome = run_sweep(load(f"oracle.zoo.{mutant}"), TORCH)
    assert outcome.verdict == "failed" and outcome.note.startswith(f"sweep point {first} ("), outcome.note


@pytest.mark.parametrize("target", list(CORRECT))
def test_zoo_correct_implementation_passes(target):
    if CORRECT[target]:
        pytest.importorskip(CORRECT[target])
    verdict = judge(target, False, TORCH, max_examples=30, seed=0, shrink=False)
    assert not verdict.failed, verdict.line


def _minimal(mutant, prop):
    outcome = run_property(load(f"oracle.zoo.{mutant}"), PROPERTY[prop], TORCH, max_examples=100, seed_value=0)
    assert outcome.verdict == "failed" and outcome.case is not None
    return outcome


def test_planted_padding_on_wrong_side_shrinks_to_asymmetric_padding():
    outcome = _minimal("padding_wrong_side", "forward")
    pads = outcome.case.geometry.pads
    assert pads[0][0] != pads[0][1] or pads[1][0] != pads[1][1]
    assert outcome.case.x.size <= 4 and np.count_nonzero(outcome.case.w) == 1


def test_planted_transposed_kernel_shrinks_to_one_off_diagonal_weight():
    outcome = _minimal("kernel_transposed", "forward")
    w = outcome.case.w
    assert np.count_nonzero(w) == 1
    p, q = np.argwhere(w)[0][:2]
    assert p != q or w.shape[0] != w.shape[1]


def test_planted_missing_batch_sum_in_dw_shrinks_to_two_images():
    outcome = _minimal("dw_missing_batch_sum", "dw")
    assert outcome.case.x.shape[0] == 2 and outcome.failure.name == "dw"


def test_planted_float32_arithmetic_in_float64_call_fails_on_real_float64_values():
    outcome = _minimal("float32_inside_float64", "forward")
    assert outcome.case.dtype == np.float64 and not outcome.case.exact
    assert outcome.failure.stage == "values"


def test_planted_input_modified_in_place_is_named():
    outcome = _minimal("input_modified_in_place", "inputs unmodified")
    assert outcome.failure.stage == "modified" and "modified its input: w[" in outcome.failure.line


def test_planted_output_buffer_reuse_is_named():
    outcome = _minimal("output_buffer_reused", "fresh results")
    assert outcome.failure.stage == "reused" and "reused buffer" in outcome.failure.line


def test_zoo_report_points_at_the_bug_and_its_reproducer_runs(tmp_path):
    report = check_variant(load("oracle.zoo.padding_wrong_side"), target="oracle.zoo.padding_wrong_side",
                           reference="torch", max_examples=60, only=["forward"], report_dir=tmp_path)
    text = report.text()
    assert "FAIL  forward" in text and "first difference:  y[" in text and "> bound" in text
    pads = report.outcomes[0].case.geometry.pads
    assert pads[0][0] != pads[0][1] or pads[1][0] != pads[1][1], pads
    script = report.reproducers["forward"]
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "but should be" in run.stdout and "  y[" in run.stdout and ", should be " in run.stdout


def test_assert_variant_fails_a_test_with_the_report():
    with pytest.raises(OracleFailure, match="FAIL  db"):
        assert_variant("oracle.zoo.db_averaged", max_examples=20, only=["db"], report_dir=None)
    report = assert_variant("vectorized", max_examples=10, only=["forward"], report_dir=None)
    assert report.passed

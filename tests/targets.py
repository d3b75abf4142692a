"""What the bundled targets' tests share: each target isolated in worker processes once per test process, its
declaration narrowed, checks whose every finding this machine's library confirms when called alone
(`tests.findings.confirm`), and the exact-sum inputs that measure a declared precision: a result summed in float32
(or wider) and rounded once is then the exact sum rounded once, element for element."""

from __future__ import annotations

import dataclasses

import numpy as np

import naive
from oracle import check_variant
from oracle.check.isolation import load_isolated
from oracle.reference.precision import FORMATS, storage_dtype
from tests.findings import confirm

BUDGET = 8
_LOADED: dict = {}


def isolated(target: str):
    """The target isolated in worker processes, loaded once for this module's tests."""
    if target not in _LOADED:
        _LOADED[target] = load_isolated(target)
    return _LOADED[target]


def narrowed(target: str, **support):
    """The target (isolated) with its declaration narrowed (fewer dtypes: fewer named edge cases, a shorter test)."""
    variant = isolated(target)
    return dataclasses.replace(variant, support=variant.support.replace(**support))


def checked(variant, only, max_examples=BUDGET, report_dir=None):
    report = check_variant(variant, only=only, max_examples=max_examples, report_dir=report_dir)
    assert not report.oracle_failed, report.text()
    return report


def confirmed(variant, only, tmp_path, max_examples=BUDGET):
    """A check whose every finding this machine's library confirms when called alone."""
    report = checked(variant, only, max_examples, report_dir=tmp_path)
    confirm(report, tmp_path)
    return report


def held(report, names):
    verdicts = {o.name: o.verdict for o in report.outcomes}
    assert all(verdicts[n] == "passed" for n in names), report.text()


def failed(report, name):
    """The outcome of ``name``, which must have failed as the variant's failure, named so in the report."""
    outcome = next(o for o in report.outcomes if o.name == name)
    assert outcome.verdict == "failed", report.text()
    assert not outcome.failure.line.startswith("ORACLE FAILURE"), report.text()
    text = report.text()
    assert f"FAIL  {name}" in text and "the oracle itself failed" not in text
    return outcome


def exact_values(rng, shape, dtype):
    """Numbers ``m * 2**e`` with ``|m| < 16``: products exact in 8 bits, sums of hundreds of them exact in float32,
    most sums not representable in a half dtype."""
    return (rng.integers(-15, 16, shape) * 2.0 ** rng.integers(-3, 2, shape)).astype(storage_dtype(dtype))


def rounded_once(variant, dtype, bias, backward=False, trials=6):
    """How many elements differ from the exact sum rounded once to ``dtype``, by result name."""
    rng, fmt, wrong = np.random.default_rng(0), FORMATS[dtype], {}
    for trial in range(trials):
        groups = 4 if trial % 2 else 1
        x, w = exact_values(rng, (2, 6, 6, 24), dtype), exact_values(rng, (3, 3, 24 // groups, 8), dtype)
        b, dy = exact_values(rng, (8,), dtype), exact_values(rng, (2, 6, 6, 8), dtype)
        options = {"stride": 1, "padding": 1, "dilation": 1, "groups": groups}
        x64, w64, b64, dy64 = (a.astype(np.float64) for a in (x, w, b, dy))
        results = {"y": (variant.run("conv2d", x, w, b if bias else None, **options),
                         naive.conv2d(x64, w64, b64 if bias else None, **options))}
        if backward:
            got, want = variant.run("conv2d_backward", dy, x, w, **options), naive.conv2d_backward(dy64, x64, w64,
                                                                                                    **options)
            results.update(zip(("dx", "dw", "db"), zip(got, want)))
        for name, (got, want) in results.items():
            wrong[name] = wrong.get(name, 0) + int((got.astype(np.float64) != fmt.round(want)).sum())
    return wrong

"""A seeded search draws the same cases wherever it runs: from a wheel, an editable install or a checkout, from any
directory, whatever literals the variant's module holds. Hypothesis mixes the constants of "local" modules (those
outside site-packages: a checkout's own source, a contributor's module) into its draws; the oracle's searches draw
without them (`oracle.check.runner.own_constants`). CI compares whole seeded reports of the wheel and the checkout
(``.ci/seeded_report.py``)."""

from __future__ import annotations

import importlib
import sys

from hypothesis import given, seed, settings

from oracle.cases.strategies import conv_cases
from oracle.check.runner import own_constants

LITERALS = '''"""A variant's module full of literals Hypothesis would like to draw."""
SIZES = (3, 5, 7, 9, 11, 13, 17, 19, 23, 29, 31, 37, 63, 65, 127, 129, 255, 257, 1023, 1025)
VALUES = (0.1, 0.3, 1.5, 2.5, 1e-7, 3e-5, 6.1e-5, 65504.0, 1e30, -2.75, 0.125, 7.25)
'''


def _draws(count: int = 40) -> list[str]:
    """The first ``count`` cases a seeded search draws (with the values that Hypothesis chose, in exact mode)."""
    drawn: list[str] = []

    @seed(1234)
    @settings(max_examples=count, database=None, derandomize=False, phases=["generate"])
    @given(case=conv_cases(exact=True))
    def record(case):
        drawn.append(f"{case!r} {case.x.ravel()[:6].tolist()} {case.w.ravel()[:6].tolist()}")

    record()
    return drawn


def _with_local_literals(tmp_path, monkeypatch):
    (tmp_path / "literal_variant.py").write_text(LITERALS)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("literal_variant")


def test_determinism_seeded_draws_ignore_the_literals_of_local_modules(tmp_path, monkeypatch):
    with own_constants():
        before = _draws()
    _with_local_literals(tmp_path, monkeypatch)
    with own_constants():
        after = _draws()
    assert before == after


def test_determinism_without_the_guard_local_literals_do_change_the_draws(tmp_path, monkeypatch):
    """The control: Hypothesis really does draw a local module's literals, so the guard above is needed."""
    with own_constants():
        guarded = _draws(200)
    _with_local_literals(tmp_path, monkeypatch)
    unguarded = _draws(200)
    assert guarded != unguarded
    sys.modules.pop("literal_variant", None)

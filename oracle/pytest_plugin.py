"""The oracle as a pytest plugin: ``pytest --conv-oracle my_package.my_conv`` collects each property of the check
as a test item of its own, so pytest runs them, ``pytest -n auto`` (pytest-xdist) spreads them over cores and
machines, and ``--junitxml`` reports them.

    pytest --conv-oracle my_conv                                  # every property of `conv-oracle check my_conv`
    pytest --conv-oracle my_conv --conv-oracle oracle.targets.jax # several targets
    pytest --conv-oracle my_conv -k "forward or dx" -n 2

An item's id is ``conv-oracle::TARGET::PROPERTY`` (spaces in a property's name as underscores), e.g.
``conv-oracle::my_conv::transposed_forward``. Each item runs what ``conv-oracle check TARGET --property PROPERTY``
runs (`oracle.check.session.check_variant`, the one implementation behind ``check``, `assert_variant` and this
plugin): the variant's declaration, the seed, the budget, its calls isolated in worker processes. A failing item
shows the check's report and writes its reproducer. A property the variant does not offer, or declares away, is a
skipped item, with the check's reason.

Options: ``--conv-oracle-property NAME`` (only that property; repeatable), ``--conv-oracle-max-examples N``
(default 100), ``--conv-oracle-seed S`` (default 0), ``--conv-oracle-report-dir DIR`` (where reproducers go;
default, as ``check``: a folder of the system's temporary directory), ``--conv-oracle-database DIR or
redis://...`` (an example database: counterexamples found by earlier runs, or by a fuzzing campaign sharing it,
replay first) and ``--conv-oracle-timeout S``.

Installed with conv-oracle (entry point ``pytest11``); without ``--conv-oracle`` it adds nothing to a run.
"""

from __future__ import annotations

from typing import Any

import pytest

PREFIX = "conv-oracle"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conv-oracle", "conv-oracle: check a 2-D convolution against the oracle")
    group.addoption("--conv-oracle", action="append", default=[], metavar="TARGET", dest="conv_oracle",
                    help="collect the oracle's properties for TARGET (package.module or package.module:attribute; "
                         "repeatable)")
    group.addoption("--conv-oracle-property", action="append", default=None, metavar="NAME",
                    dest="conv_oracle_property", help="collect only this property (repeatable), as check --property")
    group.addoption("--conv-oracle-max-examples", type=int, default=None, metavar="N",
                    help="generated cases per property (default 100)")
    group.addoption("--conv-oracle-seed", type=int, default=0, metavar="S", help="Hypothesis seed (default 0)")
    group.addoption("--conv-oracle-report-dir", default="", metavar="DIR",
                    help="where reproducers are written (default: a folder of the system's temporary directory)")
    group.addoption("--conv-oracle-database", default=None, metavar="DIR or redis://HOST:PORT[/DB]",
                    help="Hypothesis example database: failing cases kept between runs (and campaigns), replayed "
                         "first")
    group.addoption("--conv-oracle-timeout", type=float, default=None, metavar="S",
                    help="a call that gives no answer in S seconds is a hang (default: from the variant's call times)")


class _Usage(pytest.UsageError):
    """A bad ``--conv-oracle*`` option: pytest prints one line and exits 4."""


def _options(config: pytest.Config) -> dict[str, Any]:
    """The check's options, validated as ``conv-oracle check`` validates its own."""
    from oracle.check.session import DEFAULT_EXAMPLES

    examples = config.getoption("conv_oracle_max_examples")
    if examples is not None and examples < 1:
        raise _Usage(f"--conv-oracle-max-examples must be an int >= 1; got {examples}")
    timeout = config.getoption("conv_oracle_timeout")
    if timeout is not None and timeout <= 0:
        raise _Usage(f"--conv-oracle-timeout must be a number of seconds > 0; got {timeout}")
    database = config.getoption("conv_oracle_database")
    from oracle.check.jobs import EXTRA_TASKS, PROPERTY

    names = [*PROPERTY, *EXTRA_TASKS]
    unknown = sorted(set(config.getoption("conv_oracle_property") or ()) - set(names))
    if unknown:
        raise _Usage(f"--conv-oracle-property must be one of {', '.join(map(repr, names))}; got "
                     f"{', '.join(map(repr, unknown))}")
    return {"max_examples": examples or DEFAULT_EXAMPLES, "seed": config.getoption("conv_oracle_seed"),
            "report_dir": config.getoption("conv_oracle_report_dir"), "database": database, "timeout": timeout}


class TargetCollector(pytest.Collector):
    """The items of one target: one per task of its check, in the check's order."""

    def __init__(self, *, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.variant: Any = None
        self.refused: str | None = None  # why the target cannot be checked, in one line

    def collect(self) -> list[pytest.Item]:
        from oracle.check.isolation import load_isolated
        from oracle.check.jobs import task_names
        from oracle.targets.variant import VariantError

        try:
            self.variant = load_isolated(self.target, timeout=self.config.getoption("conv_oracle_timeout"))
        except VariantError as error:
            self.refused = f"--conv-oracle: {error}"
            raise _Usage(self.refused) from None
        return [PropertyItem.from_parent(self, name=name.replace(" ", "_"), task=name,
                                         callobj=_search_of(self, name))
                for name in task_names(self.variant, self.config.getoption("conv_oracle_property"))]

    def teardown(self) -> None:
        if self.variant is not None and self.variant.runtime is not None:
            self.variant.runtime.close()


def _search_of(collector: TargetCollector, task: str) -> Any:
    """What the item of ``task`` holds as its test function: for a property, the Hypothesis test of its search
    (`oracle.check.runner.property_test`), keyed by the item's node id in the example database Hypothesis uses by
    default, so that a fuzzing campaign (HypoFuzz) can run it and file what it finds where the item looks first;
    for the block sweeps and the bad-input table, a plain function."""
    from hypothesis import settings

    from oracle.check.jobs import PROPERTY
    from oracle.check.runner import property_test
    from oracle.reference.truth import get_reference

    def not_a_search() -> None:
        """A task without generated cases: run by the item, not by a fuzzer."""

    if task not in PROPERTY:
        return not_a_search
    return property_test(collector.variant, PROPERTY[task], get_reference(), seed_value=None,
                         max_examples=_options(collector.config)["max_examples"], database=settings().database,
                         database_key=f"{collector.nodeid}::{task.replace(' ', '_')}")


class PropertyItem(pytest.Function):
    """One property (or the block sweep, or the bad-input table) of one target's check. Running it runs the check
    of that property; its test function (``obj``) is the property's Hypothesis search, for engines that run
    Hypothesis tests themselves."""

    def __init__(self, *, task: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task = task

    def runtest(self) -> None:
        from oracle.check.session import OracleFailure, check_variant

        collector = self.parent
        assert isinstance(collector, TargetCollector)
        report = check_variant(collector.variant, target=collector.target, only=[self.task], jobs=1, isolate=True,
                               database_key=self.nodeid, **_options(self.config))
        # Hypothesis noted the search's failing case on this item, to offer a patch adding it to the test's source:
        # that source is this package's (oracle.check.runner), not the user's; the report's reproducer is theirs
        self.__dict__.pop("_hypothesis_failing_examples", None)
        outcome = report.outcomes[0]
        if outcome.verdict == "skipped":
            pytest.skip(f"{self.task}: {outcome.note}")
        if not report.passed:
            raise OracleFailure(report.text())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        from oracle.check.session import OracleFailure

        if isinstance(excinfo.value, OracleFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return PREFIX, None, f"{PREFIX} check {self.parent.target} --property {self.task!r}"


class RootCollector(pytest.Collector):
    """``conv-oracle``: the targets named on the command line."""

    def collect(self) -> list[pytest.Collector]:
        return [TargetCollector.from_parent(self, name=target, target=target)
                for target in dict.fromkeys(self.config.getoption("conv_oracle"))]


def _hypofuzz_compatible() -> None:
    """HypoFuzz (25.11) copies ``slice_comments`` from the shrunk result after shrinking a failure, and Hypothesis
    6.157.1 renamed it ``span_comments``: without this alias every counterexample HypoFuzz shrinks ends its worker
    before it is filed. Applied only in a process that has imported HypoFuzz."""
    from hypothesis.internal.conjecture.data import ConjectureResult

    if not hasattr(ConjectureResult, "slice_comments") and hasattr(ConjectureResult, "span_comments"):
        ConjectureResult.slice_comments = property(lambda self: self.span_comments)  # type: ignore[attr-defined]


def pytest_configure(config: pytest.Config) -> None:
    """With ``--conv-oracle-database``, that database becomes Hypothesis's default (a settings profile loaded
    here), so that the items and any engine running their searches (HypoFuzz) file and replay cases in it."""
    import sys

    if not config.getoption("conv_oracle", None):
        return
    if "hypofuzz" in sys.modules:
        _hypofuzz_compatible()
    spec = config.getoption("conv_oracle_database", None)
    if spec is None:
        return
    from hypothesis import settings

    from oracle.check.jobs import open_database

    try:
        database = open_database(spec)
    except ValueError as error:
        raise _Usage(f"--conv-oracle-database: {error}") from None
    settings.register_profile("conv-oracle-database", parent=settings.default, database=database)
    settings.load_profile("conv-oracle-database")


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect, so they select among these items too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("conv_oracle"):
        return
    _options(config)
    root = RootCollector.from_parent(session, name=PREFIX, nodeid=PREFIX)
    for target in root.collect():
        report = session.ihook.pytest_make_collect_report(collector=target)
        if report.failed:
            raise _Usage(target.refused or str(report.longrepr).strip().splitlines()[-1])
        session.ihook.pytest_collectreport(report=report)
        items.extend(report.result)

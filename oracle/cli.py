"""The ``conv-oracle`` command (also ``python -m oracle``).

    conv-oracle check [TARGET ...]   check conv variants (default: the bundled naive and vectorized)
    conv-oracle selftest             the oracle against its mutant zoo and the bundled implementations
    conv-oracle explain ...          draw the padding geometry of one convolution
    conv-oracle bench                time naive, vectorized and torch
    conv-oracle survey               every installed bundled target, one dtype at a time, as one table

Exit status: 0 every property held; 1 a counterexample was found; 2 a usage or import error (one line on stderr,
naming the argument, the rule and what it got; never a traceback for a user's mistake).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

from oracle.check.settings import PROFILES
from oracle.targets.support import DTYPES

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
DTYPE_NAMES = ("float32", "float64", "float16", "bfloat16")


def property_names() -> list[str]:
    """What ``--property`` takes: every property of the report, in its order."""
    from oracle.check.jobs import EXTRA_TASKS as EXTRA_PROPERTIES
    from oracle.properties import PROPERTIES

    return [p.name for p in PROPERTIES] + list(EXTRA_PROPERTIES)


class UsageError(Exception):
    """A user's mistake: exit 2 with this one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 already; keep its one line, drop the usage dump
        self.exit(EXIT_USAGE, f"conv-oracle: error: {message}\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0; got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0; got {text!r}")
    return value


def _cores() -> int:
    from oracle.check.jobs import default_jobs

    return default_jobs()


def _numbers(text: str, what: str, least: int) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, whole numbers >= {least}; got {text!r}") from None
    if min(values) < least:
        raise argparse.ArgumentTypeError(f"must be {what}, whole numbers >= {least}; got {text!r}")
    return values


def _size_pair(what: str, least: int = 1):
    """An argument type for ``N`` or ``N,M`` (both axes), each at least ``least``."""
    def parse(text: str) -> tuple[int, int]:
        values = _numbers(text, what, least)
        if len(values) not in (1, 2):
            raise argparse.ArgumentTypeError(f"must be {what}, whole numbers >= {least}; got {text!r}")
        return (values[0], values[-1])
    parse.__name__ = what  # argparse names the type in its own messages
    return parse


def _int_or_pair(what: str, least: int = 1):
    pair = _size_pair(what, least)

    def parse(text: str):
        a, b = pair(text)
        return a if "," not in text else (a, b)
    parse.__name__ = what
    return parse


def _parser() -> argparse.ArgumentParser:
    from oracle.bench import SHAPES

    shape_names = [shape.name for shape in SHAPES]
    parser = _Parser(prog="conv-oracle", description="A reference-vs-fast test oracle for 2-D convolution.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="check conv variants against the oracle",
                           description="Check conv variants: every property, the named edge cases, the block sweep "
                                       "and the bad-input table. Exit 0 if every property held, 1 if a "
                                       "counterexample was found, 2 on a usage or import error.")
    check.add_argument("targets", nargs="*", metavar="TARGET",
                       help="package.module or package.module:attribute (default: naive vectorized)")
    check.add_argument("--seed", type=int, default=0,
                       help="Hypothesis seed (default 0; -1 draws one, printed in the report)")
    check.add_argument("--max-examples", type=_positive, default=None,
                       help="generated cases per property (default 100; 600 with --profile thorough)")
    check.add_argument("--reference", choices=("auto", "torch", "naive"), default="auto",
                       help="the truth: PyTorch (default where installed) or naive")
    check.add_argument("--profile", choices=PROFILES, default=None, help="a Hypothesis settings profile")
    check.add_argument("--property", action="append", dest="only", metavar="NAME",
                       help="check only this property (repeatable): " + ", ".join(map(repr, property_names())))
    check.add_argument("--report-dir", default=None,
                       help="where reproducers are written (default: a folder of the system's temporary directory; "
                            "nothing is written into the working directory unless asked)")
    check.add_argument("--database", default=None, metavar="DIR or redis://HOST:PORT[/DB]",
                       help="keep failing cases between runs in Hypothesis's example database: a directory, or a "
                            "Redis server shared between machines (needs the redis package); they replay first")
    check.add_argument("--jobs", type=_positive, default=None, metavar="N",
                       help=f"run N properties at once, each in a process of its own (default: the {_cores()} cores "
                            "this process may use); the same seed gives the same report at any N")
    check.add_argument("--timeout", type=_seconds, default=None, metavar="S",
                       help="a call that gives no answer in S seconds is a hang (default: 20 times the variant's "
                            "slowest comparable call, at least 2 s)")
    check.add_argument("--in-process", action="store_true",
                       help="call the variant in this process, as a debugger needs (a crash, an exit or a hang of "
                            "the variant then ends the check)")

    survey = sub.add_parser("survey", help="check every installed bundled target, one dtype at a time, as one table",
                            description="Check every bundled target whose library is installed (and any named with "
                                        "--target), each isolated and once per storage dtype, and write the table "
                                        "of verdicts as Markdown, HTML and JSON: a row per target, a column per "
                                        "property, a mark per dtype. Exit 0 once written, 2 on a usage error.")
    survey.add_argument("--target", action="append", dest="targets", metavar="TARGET", default=[],
                        help="another target to survey (repeatable): package.module or package.module:attribute")
    survey.add_argument("--no-bundled", action="store_true", help="survey only the targets named with --target")
    survey.add_argument("--dtype", action="append", dest="dtypes", metavar="DTYPE", choices=DTYPES,
                        help="survey only this storage dtype (repeatable; default: " + ", ".join(DTYPES) + ")")
    survey.add_argument("--property", action="append", dest="only", metavar="NAME",
                        help="survey only this property (repeatable)")
    survey.add_argument("--max-examples", type=_positive, default=25,
                        help="generated cases per property and dtype (default 25)")
    survey.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0; -1 draws one)")
    survey.add_argument("--jobs", type=_positive, default=None, metavar="N",
                        help=f"run N properties at once (default: the {_cores()} cores this process may use)")
    survey.add_argument("--timeout", type=_seconds, default=None, metavar="S",
                        help="a call that gives no answer in S seconds is a hang (default: from the target's own "
                             "call times)")
    survey.add_argument("--out", default=None, metavar="DIR",
                        help="where survey.md, survey.html, survey.json and the reports go (default: a new folder "
                             "of the system's temporary directory)")

    selftest = sub.add_parser("selftest", help="run the mutant zoo: every mutant caught, every correct one passes",
                              description="Run the oracle against its zoo of buggy variants (each must be caught) "
                                          "and the bundled correct implementations (each must pass). Exit 0 if so.")
    selftest.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0; -1 draws one)")
    selftest.add_argument("--max-examples", type=_positive, default=100,
                          help="generated cases per variant (default 100)")
    selftest.add_argument("--reference", choices=("auto", "torch", "naive"), default="auto",
                          help="the truth: PyTorch (default where installed) or naive")
    selftest.add_argument("--jobs", type=_positive, default=None, metavar="N",
                          help="variants judged side by side, each in a process of its own (default: the number of "
                               "cores); the verdicts are the same at any N")

    explain = sub.add_parser("explain", help="draw the geometry of a convolution (padding, windows, dx)",
                             description="Draw the geometry of one convolution: the padded input, where windows "
                                         "start, the output size worked out, unread rows, windows of padding only, "
                                         "'same' under every convention, and how vectorized computes dx.")
    explain.add_argument("--seed-article", action="store_true",
                         help="the seed article's example: 6x8x3 image of 0..143, 5x3 filter, padding (2, 1), "
                              "window (4, 3)")
    explain.add_argument("--input", type=_size_pair("H,W"), metavar="H,W", help="input size")
    explain.add_argument("--kernel", type=_size_pair("KH,KW"), metavar="KH,KW", help="kernel size")
    explain.add_argument("--stride", type=_int_or_pair("S or SH,SW"), default=1, metavar="S or SH,SW")
    explain.add_argument("--dilation", type=_int_or_pair("D or DH,DW"), default=1,
                         metavar="D or DH,DW")
    explain.add_argument("--padding", default="0", metavar="P | PH,PW | PT,PB,PL,PR | same | valid")
    explain.add_argument("--window", type=_size_pair("I,J", least=0), metavar="I,J",
                         help="the output position drawn whole")
    explain.add_argument("--transposed", action="store_true",
                         help="the transposed convolution: where each output pixel's contributions come from, the "
                              "rows output padding adds and what padding crops")
    explain.add_argument("--output-padding", type=_int_or_pair("OP or OPH,OPW", least=0), default=0,
                         metavar="OP or OPH,OPW", help="output padding of the transposed convolution (default 0)")
    explain.add_argument("--png", metavar="FILE", help="also draw it as a PNG (needs matplotlib)")

    bench = sub.add_parser("bench", help="time naive, vectorized and torch on named shapes",
                           description="Time naive, vectorized and PyTorch, forward and backward, with every "
                                       "thread pool pinned, in interleaved rounds; print medians and ratios.")
    bench.add_argument("--rounds", type=_positive, default=7, help="interleaved rounds (default 7)")
    bench.add_argument("--threads", type=_positive, default=1, help="threads for numpy's BLAS and torch (default 1)")
    bench.add_argument("--shapes", nargs="+", choices=shape_names, default=None, metavar="SHAPE",
                       help=f"shapes to time (default all): {', '.join(shape_names)}")
    bench.add_argument("--dtypes", nargs="+", choices=DTYPE_NAMES, default=["float32", "float64"], metavar="DTYPE",
                       help=f"dtypes to time (default float32 float64): {', '.join(DTYPE_NAMES)}")
    bench.add_argument("--transposed", action="store_true",
                       help="time conv_transpose2d (output padding stride - 1) instead of conv2d")
    return parser


EXPLAIN_GEOMETRY = {"input": None, "kernel": None, "stride": 1, "dilation": 1, "padding": "0", "output_padding": 0}
"""The options of ``explain`` that give a geometry, with their defaults (``--seed-article`` has its own)."""
EXPLAIN_LARGEST = 512
"""The largest input side ``explain`` draws (every row and column is a character)."""

VALUE_OPTIONS = {"--input", "--kernel", "--stride", "--dilation", "--padding", "--window", "--seed"}


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--input -3,3`` as ``--input=-3,3``: argparse takes a value that starts with '-' for an option, and its
    message about it ('expected one argument') would hide the real one about the value."""
    joined, i = [], 0
    while i < len(argv):
        if argv[i] in VALUE_OPTIONS and i + 1 < len(argv) and re.match(r"^-\d", argv[i + 1]):
            joined.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            joined.append(argv[i])
            i += 1
    return joined


def _writable_directory(text: str, option: str, rule: str = "a directory it can create and write to") -> str:
    """``text``, a directory created and known to be writable, or a `UsageError` naming ``option``."""
    try:
        Path(text).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=text):
            pass
    except OSError as error:
        raise UsageError(f"{option} must be {rule}; got {text!r} ({type(error).__name__}: "
                         f"{error.strerror or error})") from None
    return text


def _database(text: str | None):
    """A Hypothesis example database from ``--database``: a directory, or ``redis://...``."""
    if text is None:
        return None
    if text.startswith(("redis://", "rediss://", "unix://")):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError:
            raise UsageError(f"--database {text} needs the redis package: pip install redis") from None
        client = redis.Redis.from_url(text)
        try:
            client.ping()
        except redis.RedisError as error:
            raise UsageError(f"--database must name a Redis server that answers; got {text!r} ({error})") from None
        return RedisExampleDatabase(client)
    from hypothesis.database import DirectoryBasedExampleDatabase

    return DirectoryBasedExampleDatabase(_writable_directory(
        text, "--database", "a directory it can create and write to, or redis://HOST:PORT"))


def _seed(value: int) -> int:
    return random.SystemRandom().randrange(2**32) if value == -1 else value


def _known_properties(only: list[str] | None) -> None:
    """``--property`` names, each one the report has (a usage error naming the others otherwise)."""
    names = property_names()
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise UsageError(f"--property must be one of {', '.join(map(repr, names))}; got "
                         f"{', '.join(map(repr, unknown))}")


def _check(args: argparse.Namespace) -> int:
    from oracle.check.isolation import load_isolated
    from oracle.check.report import stderr_progress
    from oracle.check.session import DEFAULT_EXAMPLES, check_variant
    from oracle.targets.variant import VariantError, load

    _known_properties(args.only)
    report_dir = _writable_directory(args.report_dir, "--report-dir") if args.report_dir is not None else ""
    database = _database(args.database)
    targets = args.targets or ["naive", "vectorized"]
    jobs = args.jobs or _cores()
    threads = max(1, _cores() // jobs) if jobs > 1 else None  # each job's workers compute on its share of the cores
    variants = []
    try:
        for target in targets:
            variants.append(load(target) if args.in_process else
                            load_isolated(target, timeout=args.timeout, threads=threads))
    except VariantError as error:
        for variant in variants:
            if variant.runtime is not None:
                variant.runtime.close()
        raise UsageError(str(error)) from None
    examples = args.max_examples or (600 if args.profile == "thorough" else DEFAULT_EXAMPLES)
    seed = _seed(args.seed)
    status = EXIT_OK
    out = _Out()
    try:
        for target, variant in zip(targets, variants):
            checked = target if args.in_process else variant  # a string: runner processes load it themselves
            report = check_variant(checked, target=target, reference=args.reference, max_examples=examples,
                                   seed=seed, profile=args.profile, only=args.only, report_dir=report_dir,
                                   database=database if database is None or jobs == 1 else args.database,
                                   progress=stderr_progress(), echo=out, jobs=jobs, timeout=args.timeout,
                                   isolate=not args.in_process)
            out(report.tail())
            out("")
            if not report.passed:
                status = EXIT_FOUND
    finally:
        for variant in variants:
            if variant.runtime is not None:
                variant.runtime.close()
    return status


class _Out:
    """Print a line now; once the reader has gone (``| head``), print nothing more but let the check finish, so
    that its exit status is still its verdict."""

    def __init__(self) -> None:
        self.gone = False

    def __call__(self, line: str) -> None:
        if self.gone:
            return
        try:
            print(line, flush=True)
        except BrokenPipeError:
            self.gone = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def _explain(args: argparse.Namespace) -> int:
    from oracle.explain import explain, parse_padding, save_png

    values = weights = None
    if args.seed_article:
        from oracle.examples.seed_article import seed_filter, seed_image

        given = [f"--{name.replace('_', '-')}" for name, default in EXPLAIN_GEOMETRY.items()
                 if getattr(args, name) != default]
        if given:
            raise UsageError(f"explain --seed-article draws the article's own geometry (6x8 input, 5x3 filter, padding "
                             f"(2, 1)) and takes only --window and --png; got {', '.join(given)}")

        size, kernel, padding = (6, 8), (5, 3), (2, 1)
        window = args.window or (4, 3)
        values, weights = seed_image()[0], seed_filter()[:, :, :, 0]
    else:
        if args.input is None or args.kernel is None:
            missing = ("--input H,W and --kernel KH,KW" if args.input is None and args.kernel is None
                       else "--kernel KH,KW as well as --input" if args.kernel is None
                       else "--input H,W as well as --kernel")
            raise UsageError(f"explain needs {missing} (or --seed-article)")
        size, kernel, window = args.input, args.kernel, args.window
        if max(size) > EXPLAIN_LARGEST:
            raise UsageError(f"--input must be at most {EXPLAIN_LARGEST} on each axis (explain draws every row and "
                             f"column); got --input {size[0]},{size[1]}")
        padding = parse_padding(args.padding)
    if args.transposed:
        from oracle.explain import explain_transposed

        if args.seed_article or args.png or args.window:
            raise UsageError("explain --transposed takes --input, --kernel, --stride, --dilation, --padding and "
                             "--output-padding only")
        print(explain_transposed(size, kernel, stride=args.stride, padding=padding,
                                 output_padding=args.output_padding, dilation=args.dilation))
        return EXIT_OK
    if args.output_padding != 0:
        raise UsageError(f"--output-padding needs --transposed; got --output-padding {args.output_padding}")
    text = explain(size, kernel, stride=args.stride, padding=padding, dilation=args.dilation, window=window,
                   values=values, weights=weights)
    if args.png:
        try:
            save_png(args.png, size, kernel, stride=args.stride, padding=padding, dilation=args.dilation,
                     window=window, values=values, dashed_stride=(2, 2) if args.seed_article else None)
        except OSError as error:
            raise UsageError(f"--png must be a file it can write; got {args.png!r} "
                             f"({type(error).__name__}: {error.strerror or error})") from None
    print(text)
    if args.png:
        print(f"\nwrote {args.png}")
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    try:
        import threadpoolctl  # noqa: F401
        import torch  # noqa: F401

        from oracle import bench
    except ImportError as error:
        raise UsageError(f"bench needs torch and threadpoolctl: pip install 'conv-oracle[bench]' ({error})") from None
    shapes = [s for s in bench.SHAPES if args.shapes is None or s.name in args.shapes]
    bench.run(shapes, tuple(args.dtypes), rounds=args.rounds, threads=args.threads, transposed=args.transposed)
    if "float64" in args.dtypes and (args.shapes is None or "small" in args.shapes) and not args.transposed:
        warm, cold = bench.small_latency()
        print(f"small forward+backward (vectorized, float64): {warm:.0f} us with a warm index cache, "
              f"{cold:.0f} us cold")
    return EXIT_OK


def _survey(args: argparse.Namespace) -> int:
    from oracle.check.session import default_report_dir
    from oracle.survey import render, run
    from oracle.survey.run import installed_bundled

    _known_properties(args.only)
    targets = ([] if args.no_bundled else installed_bundled()) + [t for t in args.targets]
    if not targets:
        raise UsageError("survey needs a target: no bundled target's library is installed here, and --no-bundled "
                         "was given without --target; got none")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(_writable_directory(args.out, "--out")) if args.out is not None else (
        default_report_dir().parent / f"{default_report_dir().name.replace('reports', 'survey')}-{stamp}")
    dtypes = tuple(d for d in DTYPES if d in args.dtypes) if args.dtypes else DTYPES
    jobs = args.jobs or _cores()
    out_lines = _Out()
    out_lines(f"conv-oracle survey: {len(targets)} targets, {', '.join(dtypes)}; {args.max_examples} cases per "
              f"property and dtype, seed {args.seed}")
    survey = run(targets, out, dtypes=dtypes, only=args.only, max_examples=args.max_examples, seed=_seed(args.seed),
                 jobs=jobs, timeout=args.timeout, told=out_lines)
    paths = render.write(survey, out)
    out_lines("")
    out_lines(render.markdown(survey).rstrip("\n"))
    out_lines("")
    for kind, path in paths.items():
        out_lines(f"{kind + ':':10}{path}")
    return EXIT_OK


def _selftest(args: argparse.Namespace) -> int:
    from oracle.check import selftest

    verdicts = selftest.run(reference=args.reference, max_examples=args.max_examples, seed=_seed(args.seed),
                            jobs=args.jobs or _cores())
    return EXIT_OK if all(v.right for v in verdicts) else EXIT_FOUND


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit status."""
    args = _parser().parse_args(_join_negative_values(sys.argv[1:] if argv is None else list(argv)))
    commands = {"check": _check, "selftest": _selftest, "explain": _explain, "bench": _bench,
                "survey": _survey}
    try:
        return commands[args.command](args)
    except (UsageError, ValueError, TypeError) as error:
        print(f"conv-oracle: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FOUND
    except KeyboardInterrupt:
        print("conv-oracle: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The ``conv-oracle`` command (also ``python -m oracle``).

    conv-oracle check [TARGET ...]   check conv variants (default: the bundled naive and vectorized)
    conv-oracle selftest             the oracle against its mutant zoo and the bundled implementations
    conv-oracle explain ...          draw the padding geometry of one convolution
    conv-oracle bench                time naive, vectorized and torch

Exit status: 0 every property held; 1 a counterexample was found; 2 a usage or import error.
"""

from __future__ import annotations

import argparse
import sys

from oracle.check.settings import PROFILES

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


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


def _pair(text: str) -> tuple[int, int]:
    values = [int(v) for v in text.replace(" ", "").split(",")]
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise argparse.ArgumentTypeError(f"expected N or N,M; got {text!r}")


def _int_or_pair(text: str):
    a, b = _pair(text)
    return a if "," not in text else (a, b)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="conv-oracle", description="A reference-vs-fast test oracle for 2-D convolution.")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="check conv variants against the oracle")
    check.add_argument("targets", nargs="*", metavar="TARGET",
                       help="package.module or package.module:attribute (default: naive vectorized)")
    check.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0; -1 for a random one)")
    check.add_argument("--max-examples", type=_positive, default=None,
                       help="generated cases per property (default 200; 600 with --profile thorough)")
    check.add_argument("--reference", choices=("auto", "torch", "naive"), default="auto",
                       help="the truth: PyTorch (default where installed) or naive")
    check.add_argument("--profile", choices=PROFILES, default=None, help="a Hypothesis settings profile")
    check.add_argument("--property", action="append", dest="only", metavar="NAME",
                       help="check only this property (repeatable)")
    check.add_argument("--report-dir", default="conv-oracle-reports", help="where reproducers are written")

    selftest = sub.add_parser("selftest", help="run the mutant zoo: every mutant caught, every correct one passes")
    selftest.add_argument("--seed", type=int, default=0)
    selftest.add_argument("--max-examples", type=_positive, default=100)
    selftest.add_argument("--reference", choices=("auto", "torch", "naive"), default="auto")

    explain = sub.add_parser("explain", help="draw the geometry of a convolution (padding, windows, dx)")
    explain.add_argument("--seed-article", action="store_true",
                         help="the seed article's example: 6x8x3 image of 0..143, 5x3 filter, padding (2, 1), "
                              "window (4, 3)")
    explain.add_argument("--input", type=_pair, metavar="H,W", help="input size")
    explain.add_argument("--kernel", type=_pair, metavar="KH,KW", help="kernel size")
    explain.add_argument("--stride", type=_int_or_pair, default=1, metavar="S or SH,SW")
    explain.add_argument("--dilation", type=_int_or_pair, default=1, metavar="D or DH,DW")
    explain.add_argument("--padding", default="0", metavar="P | PH,PW | PT,PB,PL,PR | same | valid")
    explain.add_argument("--window", type=_pair, metavar="I,J", help="the output position drawn whole")
    explain.add_argument("--png", metavar="FILE", help="also draw it as a PNG (needs matplotlib)")

    bench = sub.add_parser("bench", help="time naive, vectorized and torch on named shapes")
    bench.add_argument("--rounds", type=_positive, default=7)
    bench.add_argument("--threads", type=_positive, default=1)
    bench.add_argument("--shapes", nargs="*", default=None, help="shape names (default: all)")
    bench.add_argument("--dtypes", nargs="*", default=["float32", "float64"])
    return parser


def _check(args: argparse.Namespace) -> int:
    from oracle.check.report import DEFAULT_EXAMPLES, check_variant, stderr_progress
    from oracle.targets.variant import VariantError, load

    targets = args.targets or ["naive", "vectorized"]
    try:
        variants = [load(t) for t in targets]
    except VariantError as error:
        print(f"conv-oracle: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    examples = args.max_examples or (600 if args.profile == "thorough" else DEFAULT_EXAMPLES)
    seed = None if args.seed == -1 else args.seed
    status = EXIT_OK
    for target, variant in zip(targets, variants):
        try:
            report = check_variant(variant, target=target, reference=args.reference, max_examples=examples,
                                   seed=seed, profile=args.profile, only=args.only, report_dir=args.report_dir,
                                   progress=stderr_progress(), echo=lambda line: print(line, flush=True))
        except ValueError as error:
            print(f"conv-oracle: error: {error}", file=sys.stderr)
            return EXIT_USAGE
        print(report.tail())
        print()
        if not report.passed:
            status = EXIT_FOUND
    return status


def _explain(args: argparse.Namespace) -> int:
    from oracle.explain import explain, parse_padding, save_png

    values = weights = None
    if args.seed_article:
        from examples.seed_article import seed_filter, seed_image

        size, kernel, padding = (6, 8), (5, 3), (2, 1)
        window = args.window or (4, 3)
        values, weights = seed_image()[0], seed_filter()[:, :, :, 0]
        stride, dilation = args.stride, args.dilation
    else:
        if args.input is None or args.kernel is None:
            print("conv-oracle: error: explain needs --input H,W and --kernel KH,KW (or --seed-article)",
                  file=sys.stderr)
            return EXIT_USAGE
        size, kernel, window = args.input, args.kernel, args.window
        stride, dilation = args.stride, args.dilation
        try:
            padding = parse_padding(args.padding)
        except ValueError as error:
            print(f"conv-oracle: error: {error}", file=sys.stderr)
            return EXIT_USAGE
    try:
        print(explain(size, kernel, stride=stride, padding=padding, dilation=dilation, window=window,
                      values=values, weights=weights))
        if args.png:
            save_png(args.png, size, kernel, stride=stride, padding=padding, dilation=dilation, window=window,
                     values=values, dashed_stride=(2, 2) if args.seed_article else None)
            print(f"\nwrote {args.png}")
    except (ValueError, TypeError) as error:
        print(f"conv-oracle: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    try:
        from oracle import bench
    except ImportError as error:
        print(f"conv-oracle: error: bench needs torch and threadpoolctl ({error})", file=sys.stderr)
        return EXIT_USAGE
    shapes = bench.SHAPES if not args.shapes else [s for s in bench.SHAPES if s.name in args.shapes]
    if not shapes:
        print(f"conv-oracle: error: --shapes must name some of {[s.name for s in bench.SHAPES]}", file=sys.stderr)
        return EXIT_USAGE
    bench.run(shapes, tuple(args.dtypes), rounds=args.rounds, threads=args.threads)
    warm, cold = bench.small_latency()
    print(f"small forward+backward (vectorized, float64): {warm:.0f} us with a warm index cache, {cold:.0f} us cold")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args)
    if args.command == "selftest":
        from oracle.check import selftest

        verdicts = selftest.run(reference=args.reference, max_examples=args.max_examples,
                                seed=None if args.seed == -1 else args.seed)
        return EXIT_OK if all(v.right for v in verdicts) else EXIT_FOUND
    if args.command == "explain":
        return _explain(args)
    return _bench(args)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark naive, vectorized and PyTorch on the named shapes: ``python benchmarks/bench.py [--rounds R]``.

The same as ``conv-oracle bench``; see `oracle.bench` for the method (threads pinned, interleaved rounds,
medians, ratios to torch and to a bare matrix product, peak memory per call).
"""

import sys

from oracle.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))

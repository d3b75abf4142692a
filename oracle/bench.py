"""``conv-oracle bench``: time naive, vectorized and PyTorch, forward and backward, on named shapes (``conv2d``, or
with ``--transposed`` ``conv_transpose2d``).

Method: numpy's BLAS and torch are pinned to the same thread count (threadpoolctl, ``torch.set_num_threads``);
each round times every contender once per shape, in turn (interleaved, so that drift hits all alike), and the
table reports the median over rounds. Each contender's time is also divided by that of a bare matrix product of
the im2col size, ``(N*H_out*W_out, KH*KW*C_in) @ (KH*KW*C_in, C_out)``, the technique's own floor. Peak memory is
the peak of numpy's allocations during one call (tracemalloc), with vectorized's scratch buffers released first so
that they count. ``naive`` runs only where it takes under a second.
"""

from __future__ import annotations

import gc
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import vectorized
from oracle.reference.precision import storage_dtype


@dataclass(frozen=True)
class Shape:
    name: str
    n: int
    size: int
    c_in: int
    c_out: int
    k: int
    stride: int
    padding: int


SHAPES = (
    Shape("small", 2, 7, 3, 4, 3, 1, 1),
    Shape("cifar", 32, 32, 3, 32, 3, 1, 1),
    Shape("mid", 32, 16, 64, 64, 3, 1, 1),
    Shape("strided", 16, 32, 32, 64, 3, 2, 1),
    Shape("bigK", 8, 28, 16, 16, 7, 1, 3),
)


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) if repeat > 1 else times[0]


def _peak_bytes(fn: Callable[[], object]) -> int:
    """Peak numpy allocation during one call, scratch buffers included (they are released first)."""
    vectorized.release_scratch()
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _tensor(a: np.ndarray, order: tuple[int, ...]):
    """An NHWC/HWIO array as a contiguous NCHW/OIHW tensor of its own dtype (bfloat16 through float32, exactly)."""
    import torch

    if a.dtype.name == "bfloat16":
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16).permute(*order).contiguous()
    return torch.from_numpy(a).permute(*order).contiguous()


def _contenders(shape: Shape, dtype: np.dtype, with_naive: bool):
    """``{(name, pass): callable}`` for one shape and dtype, on fixed random data. The bare matrix product is
    float32's for the half formats: numpy has no fast half product, and `vectorized` computes them in float32."""
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((shape.n, shape.size, shape.size, shape.c_in)).astype(dtype)
    w = rng.standard_normal((shape.k, shape.k, shape.c_in, shape.c_out)).astype(dtype)
    options = {"stride": shape.stride, "padding": shape.padding}
    y = vectorized.conv2d(x, w, **options)
    dy = rng.standard_normal(y.shape).astype(dtype)
    m, kk = y.shape[0] * y.shape[1] * y.shape[2], shape.k * shape.k * shape.c_in
    product = np.float32 if dtype.name in ("float16", "bfloat16") else dtype
    a = rng.standard_normal((m, kk)).astype(product)
    bw = rng.standard_normal((kk, shape.c_out)).astype(product)

    xt, wt, dyt = _tensor(x, (0, 3, 1, 2)), _tensor(w, (3, 2, 0, 1)), _tensor(dy, (0, 3, 1, 2))
    torch_options = (
        [shape.stride] * 2, [shape.padding] * 2, [1, 1], False, [0, 0], 1, [True, True, True]
    )

    def torch_forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(xt, wt, None, shape.stride, shape.padding)

    def torch_backward():
        return torch.ops.aten.convolution_backward(dyt, xt, wt, [shape.c_out], *torch_options)

    table = {
        ("matmul", "forward"): lambda: a @ bw,
        ("vectorized", "forward"): lambda: vectorized.conv2d(x, w, **options),
        ("vectorized", "backward"): lambda: vectorized.conv2d_backward(dy, x, w, **options),
        ("torch", "forward"): torch_forward,
        ("torch", "backward"): torch_backward,
    }
    if with_naive:
        import naive

        table[("naive", "forward")] = lambda: naive.conv2d(x, w, **options)
        table[("naive", "backward")] = lambda: naive.conv2d_backward(dy, x, w, **options)
    return table


def _transposed_contenders(shape: Shape, dtype: np.dtype, with_naive: bool):
    """The transposed convolution of the same shape (``x (N, size, size, C_in)``, ``w (k, k, C_out, C_in)``, output
    padding ``stride - 1``): vectorized's and PyTorch's ``conv_transpose2d``. The bare product is that of the
    products that are not zero, ``(N*H*W, C_in) @ (C_in, KH*KW*C_out)``."""
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((shape.n, shape.size, shape.size, shape.c_in)).astype(dtype)
    w = rng.standard_normal((shape.k, shape.k, shape.c_out, shape.c_in)).astype(dtype)
    options = {"stride": shape.stride, "padding": shape.padding, "output_padding": shape.stride - 1}
    y = vectorized.conv_transpose2d(x, w, **options)
    dy = rng.standard_normal(y.shape).astype(dtype)
    product = np.float32 if dtype.name in ("float16", "bfloat16") else dtype
    a = rng.standard_normal((shape.n * shape.size**2, shape.c_in)).astype(product)
    bw = rng.standard_normal((shape.c_in, shape.k**2 * shape.c_out)).astype(product)
    xt, wt, dyt = _tensor(x, (0, 3, 1, 2)), _tensor(w, (3, 2, 0, 1)), _tensor(dy, (0, 3, 1, 2))
    torch_options = ([shape.stride] * 2, [shape.padding] * 2, [1, 1], True, [shape.stride - 1] * 2, 1,
                     [True, True, True])

    def torch_forward():
        with torch.no_grad():
            return torch.nn.functional.conv_transpose2d(xt, wt, None, shape.stride, shape.padding, shape.stride - 1)

    def torch_backward():
        return torch.ops.aten.convolution_backward(dyt, xt, wt, [shape.c_out], *torch_options)

    table = {
        ("matmul", "forward"): lambda: a @ bw,
        ("vectorized", "forward"): lambda: vectorized.conv_transpose2d(x, w, **options),
        ("vectorized", "backward"): lambda: vectorized.conv_transpose2d_backward(dy, x, w, **options),
        ("torch", "forward"): torch_forward,
        ("torch", "backward"): torch_backward,
    }
    if with_naive:
        import naive

        table[("naive", "forward")] = lambda: naive.conv_transpose2d(x, w, **options)
        table[("naive", "backward")] = lambda: naive.conv_transpose2d_backward(dy, x, w, **options)
    return table


def run(shapes=SHAPES, dtypes=("float32", "float64"), rounds: int = 7, threads: int = 1,
        naive_limit: float = 1.0, out=print, transposed: bool = False) -> list[dict]:
    """Time every contender on every shape and dtype; print the table through ``out``; return its rows.
    ``transposed``: time ``conv_transpose2d`` instead of ``conv2d``."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    torch.set_num_threads(threads)
    rows = []
    with threadpool_limits(limits=threads):
        blas = ", ".join(f"{p['internal_api']} {p.get('version') or ''} ({p['num_threads']} thr)".strip()
                         for p in threadpool_info())
        out(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, numpy {np.__version__}, "
            f"torch {torch.__version__}, threads={threads}; pools: {blas}")
        what = "conv_transpose2d (output padding stride - 1), " if transposed else ""
        out(f"{what}medians of {rounds} interleaved rounds (each the best of 3 calls); ratios: / torch, / bare matmul")
        out(f"{'shape':8} {'dtype':8} {'pass':8} {'naive':>9} {'vectorized':>11} {'torch':>9} {'matmul':>9} "
            f"{'vec/torch':>9} {'vec/mm':>7} {'peak MiB':>9}")
        for shape in shapes:
            for dtype in map(storage_dtype, dtypes):
                contenders = _transposed_contenders if transposed else _contenders
                naive_ok = shape.n * shape.size**2 * shape.c_in * shape.c_out * shape.k**2 < 2e5 * naive_limit
                table = contenders(shape, dtype, with_naive=naive_ok)
                for fn in table.values():
                    fn()  # warm caches (index arrays, torch kernels)
                samples: dict[tuple[str, str], list[float]] = {key: [] for key in table}
                for _ in range(rounds):
                    for key, fn in table.items():
                        samples[key].append(_median_time(fn, 1 if key[0] == "naive" else 3))
                med = {key: statistics.median(v) for key, v in samples.items()}
                for pass_ in ("forward", "backward"):
                    vec, tor, mm = med[("vectorized", pass_)], med[("torch", pass_)], med[("matmul", "forward")]
                    nv = med.get(("naive", pass_))
                    peak = _peak_bytes(table[("vectorized", pass_)]) / 2**20
                    row = {"shape": shape.name, "dtype": dtype.name, "pass": pass_, "naive": nv, "vectorized": vec,
                           "torch": tor, "matmul": mm, "peak_mib": peak}
                    rows.append(row)
                    naive_text = f"{nv * 1e3:8.2f}ms" if nv is not None else f"{'-':>9}"
                    out(f"{shape.name:8} {dtype.name:8} {pass_:8} {naive_text} {vec * 1e3:9.3f}ms "
                        f"{tor * 1e3:7.3f}ms {mm * 1e3:7.3f}ms {vec / tor:9.2f} {vec / mm:7.2f} {peak:9.2f}")
    ratios = []
    for r in rows:
        base = next((q for q in rows if q["dtype"] == "float32" and q["shape"] == r["shape"]
                     and q["pass"] == r["pass"]), None)
        if r["dtype"] in ("float16", "bfloat16") and base is not None:
            ratios.append(f"  {r['shape']:8} {r['dtype']:8} {r['pass']:8} {r['vectorized'] / base['vectorized']:5.2f}")
    if ratios:  # only where float32 was timed too
        out("half formats in vectorized (float32 products and sums, one rounding), time / its float32 time:")
        for line in ratios:
            out(line)
    return rows


def small_latency(repeat: int = 2000) -> tuple[float, float]:
    """Forward plus backward on the ``small`` shape in microseconds: ``(warm, cold)`` index cache (median)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 7, 3))
    w = rng.standard_normal((3, 3, 3, 4))
    dy = rng.standard_normal((2, 7, 7, 4))

    def step():
        vectorized.conv2d(x, w, padding=1)
        vectorized.conv2d_backward(dy, x, w, padding=1)

    step()
    warm = [_median_time(step, 1) for _ in range(repeat)]
    cold = []
    for _ in range(max(repeat // 10, 50)):
        vectorized.clear_caches()
        cold.append(_median_time(step, 1))
    return statistics.median(warm) * 1e6, statistics.median(cold) * 1e6

"""The tolerance model is tight enough to catch a computation one format too coarse, and never fails a correct
implementation: ours, and PyTorch's own kernels in float16, bfloat16, float32 and float64, which share no code with
them. Each new bound is shown to be reached, in part, by a kernel that computes as it declares.

PyTorch's kernels differ by machine (oneDNN picks them by CPU features), and a library can be wrong on one: where
PyTorch misses a bound by far (`FAR`, a factor no subtlety of the error model explains), the test says so and is
skipped on that machine as a finding about PyTorch, which ``conv-oracle check oracle.targets.torch`` reports with an
upstream reproducer. A miss by less than `FAR` fails the test: that would be the oracle's bound, too tight."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings

from oracle import properties
from oracle.cases.edge_cases import EDGE_CASES
from oracle.cases.strategies import ConvCase, conv_cases, fit, precision_of
from oracle.properties.compare import Mismatch, within
from oracle.reference import tolerance
from oracle.reference.precision import FORMATS, Precision, storage_dtype
from oracle.reference.truth import get_reference, truth
from oracle.targets.support import Support
from oracle.targets.variant import from_object

torch = pytest.importorskip("torch")
from oracle.targets import torch as torch_target  # noqa: E402

TORCH = get_reference("torch")
VALUES = {"forward": properties.forward, "dx": properties.gradient(0), "dw": properties.gradient(1),
          "db": properties.gradient(2)}


FAR = 16.0
"""A miss by this many times the bound is a wrong result, not a bound a little too tight."""


def _torch_judged(check, variant, case) -> None:
    """Run ``check`` on PyTorch; a miss by `FAR` times the bound or more is PyTorch's (skip: a finding on this
    machine); any other failure is the oracle's."""
    try:
        check(variant, case, TORCH)
    except Mismatch as failure:
        if failure.values is not None and failure.bad is not None:
            actual, expected, bound = failure.values
            idx = tuple(np.argwhere(failure.bad)[0])
            total = float(np.broadcast_to(bound.total, expected.shape)[idx])
            err = abs(float(actual[idx]) - float(expected[idx]))
            if not np.isfinite(err) or err >= FAR * total:
                pytest.skip(f"PyTorch is wrong on this machine (a finding, not the oracle's): {failure.line}")
        raise


def _case(edge, dtype, seed=0, support=None, **changes) -> ConvCase:
    x, w, b, dy = edge.arrays(dtype, seed=seed)
    options = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, **edge.options}
    case = ConvCase(x, w, b, dy, **options).replace(**changes)
    return fit(case, support or Support()) or case


def _ratio(actual, expected) -> float:
    """The largest error as a fraction of its element's bound (finite elements with a nonzero bound)."""
    a = np.asarray(actual, dtype=np.float64)
    e, bound = expected.value, np.broadcast_to(expected.bound.total, expected.value.shape)
    finite = np.isfinite(a) & np.isfinite(e) & (bound > 0)
    return float(np.max(np.abs(a - e)[finite] / bound[finite], initial=0.0))


def test_tolerance_gamma_is_the_textbook_bound():
    u = tolerance.unit_roundoff(np.float32)
    assert u == 2.0**-24 and tolerance.unit_roundoff(np.float64) == 2.0**-53
    assert tolerance.unit_roundoff(np.float16) == 2.0**-11 and tolerance.unit_roundoff("bfloat16") == 2.0**-8
    assert tolerance.gamma(10, u) == pytest.approx((1 + u) ** 10 - 1, rel=1e-12)
    assert 10 * u <= tolerance.gamma(10, u) <= 10 * u / (1 - 10 * u)  # within Higham's textbook gamma_n
    assert tolerance.gamma(2**25, u) == pytest.approx(np.expm1(2**25 * np.log1p(u)))  # finite where n*u >= 1


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32"])
def test_tolerance_formats_round_to_nearest_even_once(name):
    """`Format.round` agrees with numpy's own single roundings (float16, float32) and with ml_dtypes from float32
    (one rounding there), and stays within ``u`` of the value everywhere, subnormals and ties included."""
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.standard_normal(5000) * 10.0 ** rng.integers(-8, 6, 5000),
                             [1 + 2**-11, 1 + 3 * 2**-11, 2.0**-20, 65519.0, 65520.0, -70000.0]])
    fmt = FORMATS[name]
    rounded = fmt.round(values)
    if name != "bfloat16":
        with np.errstate(over="ignore"):
            assert np.array_equal(rounded, values.astype(name).astype(np.float64))
    else:
        singles = values.astype(np.float32)
        assert np.array_equal(fmt.round(singles), singles.astype(storage_dtype("bfloat16")).astype(np.float64))
    normal = np.isfinite(rounded) & (np.abs(values) >= fmt.smallest_normal)
    assert np.all(np.abs(rounded - values)[normal] <= fmt.u * np.abs(values)[normal])


def test_tolerance_tf32_keeps_ten_mantissa_bits():
    rng = np.random.default_rng(1)
    values = rng.standard_normal(1000).astype(np.float32).astype(np.float64)
    rounded = FORMATS["tf32"].round(values)
    bits = rounded.astype(np.float32).view(np.uint32)
    assert np.all(bits & 0x1FFF == 0)  # the 13 lowest of float32's 23 mantissa bits are gone
    assert np.all(np.abs(rounded - values) <= 2.0**-11 * np.abs(values))


@settings(max_examples=120)
@given(case=conv_cases(exact=False, support={"dtypes": ("float32", "float64")}))
def test_tolerance_never_fails_pytorch_float32_and_float64(case):
    variant = from_object(torch_target)
    for check in VALUES.values():
        _torch_judged(check, variant, case)


@settings(max_examples=120)
@given(case=conv_cases(support={**torch_target.conv_oracle_support, "dtypes": ("float16", "bfloat16")}))
def test_tolerance_never_fails_pytorch_float16_and_bfloat16_as_they_compute(case):
    """PyTorch's CPU half kernels, forward and autograd backward, as declared: float32 sums, one rounding forward,
    partial sums that may be rounded to the half format backward (`oracle.targets.torch`)."""
    variant = from_object(torch_target)
    for check in VALUES.values():
        _torch_judged(check, variant, case)


def _rounds_per_tap(x, w, b=None, **options):
    """A half kernel's backward as PyTorch's CPU half path computes it on some CPUs: each kernel tap's products
    summed in float32, then added into a dx held in the half format (rounded at every tap). Forward: float32 sums,
    one rounding (as `vectorized` does)."""
    import vectorized

    return vectorized.conv2d(x, w, b, **options)


def _rounds_per_tap_backward(dy, x, w, **options):
    import vectorized

    storage = FORMATS[x.dtype.name]
    exact = vectorized.conv2d_backward(dy.astype(np.float32), x.astype(np.float32), w.astype(np.float32),
                                       **options)
    kh, kw = w.shape[:2]
    dx = np.zeros(x.shape)
    for p in range(kh):
        for q in range(kw):
            tap = np.zeros(w.shape, dtype=np.float32)
            tap[p, q] = w[p, q].astype(np.float32)
            part = vectorized.conv2d_backward(dy.astype(np.float32), x.astype(np.float32), tap, **options).dx
            dx = storage.round(dx + storage.round(part.astype(np.float64)))
    return vectorized.Conv2dGrads(dx.astype(x.dtype), exact.dw.astype(x.dtype), exact.db.astype(x.dtype))


PER_TAP = SimpleNamespace(__name__="rounds per tap", conv2d=_rounds_per_tap, conv2d_backward=_rounds_per_tap_backward,
                          conv_oracle_support={"rounds_partials": ("dx",), "validates": False})


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_tolerance_half_bounds_are_reached_in_part(dtype):
    """Tight, not just safe: a kernel that computes as declared uses a measurable part of each bound (forward, float32
    sums and one rounding: the rounding is most of it; a dx rounded at every kernel tap: a fraction of the blocks'
    allowance)."""
    variant = from_object(PER_TAP)
    worst = {"y": 0.0, "dx": 0.0}
    for seed in range(4):
        for edge in EDGE_CASES[:8]:
            case = _case(edge, dtype, seed, variant.support)
            expected = truth(TORCH, case, backward=True)
            y = variant.run("conv2d", case.x, case.w, case.b, **case.options)
            dx = variant.run("conv2d_backward", case.dy, case.x, case.w, **case.options)[0]
            for name, value in (("y", y), ("dx", dx)):
                ratio = _ratio(value, expected[name])
                assert ratio <= 1.0, (name, edge.name, ratio)
                worst[name] = max(worst[name], ratio)
    assert worst["y"] > 0.3, worst
    assert worst["dx"] > 0.02, worst


def test_tolerance_partial_sums_rounded_per_tap_need_their_declaration():
    """Declared as rounding once (what a half kernel is assumed to do), a dx rounded to float16 after every kernel
    tap fails: the declaration is what lets it pass, not a loose bound."""
    declared = from_object(PER_TAP)
    undeclared = from_object(SimpleNamespace(conv2d=_rounds_per_tap, conv2d_backward=_rounds_per_tap_backward,
                                             conv_oracle_support={"validates": False}))
    worst = 0.0
    for seed in range(4):
        for edge in EDGE_CASES[:8]:
            case = _case(edge, "float16", seed)
            dx = declared.run("conv2d_backward", case.dy, case.x, case.w, **case.options)[0]
            worst = max(worst, _ratio(dx, truth(TORCH, case, backward=True).dx))
            assert within(dx, *(lambda e: (e.value, e.bound))(
                truth(TORCH, fit(case, declared.support), backward=True).dx)).all()
    assert worst > 2.0, f"undeclared, a per-tap dx stays within {worst:.2f} of the round-once bound"
    assert undeclared.support.rounds_partials == ()


def _tf32_variant(declared: bool):
    """A float32 kernel on tensor cores: both operands rounded to TF32, products summed in float32."""
    import vectorized

    def conv2d(x, w, b=None, **options):
        if x.dtype != np.float32:
            return vectorized.conv2d(x, w, b, **options)
        tf32 = FORMATS["tf32"]
        return vectorized.conv2d(tf32.round(x).astype(np.float32), tf32.round(w).astype(np.float32), b, **options)

    support = {"dtypes": ("float32",), **({"input_rounding": "tf32"} if declared else {})}
    return from_object(SimpleNamespace(__name__=f"tf32 {'declared' if declared else 'undeclared'}", conv2d=conv2d,
                                       conv_oracle_support=support))


@settings(max_examples=60)
@given(case=conv_cases(exact=False, support={"dtypes": ("float32",), "input_rounding": "tf32"}))
def test_tolerance_tf32_kernel_passes_when_it_declares_tf32(case):
    properties.forward(_tf32_variant(declared=True), case, TORCH)


def test_tolerance_tf32_kernel_fails_by_far_when_it_declares_plain_float32():
    variant = _tf32_variant(declared=False)
    worst = 0.0
    for edge in EDGE_CASES[:10]:
        case = _case(edge, "float32", seed=2, support=variant.support)
        y = variant.run("conv2d", case.x, case.w, case.b, **case.options)
        worst = max(worst, _ratio(y, truth(TORCH, case).y))
    assert worst > 100, f"TF32 errors are only {worst:.1f} times the float32 bound"


@pytest.mark.parametrize("storage, coarser", [("float16", "float16"), ("bfloat16", "bfloat16"),
                                              ("float32", "tf32"), ("float64", "float32")])
def test_tolerance_one_format_too_coarse_exceeds_the_bound_by_far(storage, coarser):
    """Summing in a format one step too coarse (half sums in the half format, float32 sums with TF32 products,
    float64 sums in float32) errs a wide factor past the bound of the declared computation."""
    rng = np.random.default_rng(4)
    worst = 0.0
    for _ in range(20):
        x = rng.standard_normal((1, 4, 4, 16))
        w = rng.standard_normal((3, 3, 16, 2))
        x, w = (FORMATS[storage].round(a) for a in (x, w))
        case = ConvCase(x.astype(storage_dtype(storage)), w.astype(storage_dtype(storage)), None,
                        np.zeros((1, 2, 2, 2), dtype=storage_dtype(storage)))
        expected = truth(TORCH, case).y
        # sequential sum, every partial sum rounded to the coarser format: 144 terms
        terms = np.einsum("hwc,hwco->hwco", x[0, :3, :3], w).reshape(-1, 2)
        fmt, acc = FORMATS[coarser], np.zeros(2)
        for t in terms:
            acc = fmt.round(acc + fmt.round(t))
        computed = FORMATS[storage].round(acc)
        bound = expected.bound.total[0, 0, 0]
        worst = max(worst, float(np.max(np.abs(computed - expected.value[0, 0, 0]) / bound)))
    assert worst > 4, f"one format too coarse errs only {worst:.1f} times the bound"


@pytest.mark.parametrize("case", EDGE_CASES, ids=lambda c: c.name)
def test_tolerance_holds_under_heavy_cancellation(case):
    """Large values of both signs whose sums cancel to almost nothing: the bound scales with |x|*|w|."""
    import vectorized

    x, w, b, _ = case.arrays(np.float32, seed=3)
    x = (x * 1e4 + np.sign(x) * 3e4).astype(np.float32)
    w = (np.where(np.arange(w.size).reshape(w.shape) % 2, 1.0, -1.0) + w * 1e-3).astype(np.float32)
    conv = _case(case, "float32").replace(x=x, w=w, b=b)
    y = vectorized.conv2d(x, w, b, **conv.options)
    assert within(y, truth(TORCH, conv).y.value, truth(TORCH, conv).y.bound).all()


def test_tolerance_catches_float32_arithmetic_in_a_float64_call():
    import oracle.zoo.float32_inside_float64 as mutant

    case = _case(EDGE_CASES[0], "float64")
    y = mutant.conv2d(case.x, case.w, case.b, **case.options)
    ratio = _ratio(y, truth(TORCH, case).y)
    assert ratio > 1e3, f"float32 errors are only {ratio:.1f} times the float64 bound"
    with pytest.raises(Mismatch, match=r"y\[.*\]=.*, but should be .* \(\|err\| .* > bound .*\)"):
        properties.forward(from_object(mutant), case, TORCH)


def test_tolerance_is_tight_not_just_safe():
    """Rounding a single float32 product is already most of its bound: the bound is not a loose rtol."""
    import naive

    edge = next(c for c in EDGE_CASES if c.name == "kernel_1x1_one_channel")
    worst = 0.0
    for seed in range(10):
        case = _case(edge, "float32", seed)
        dx = naive.conv2d_backward(case.dy, case.x, case.w, **case.options).dx
        worst = max(worst, _ratio(dx, truth(TORCH, case, backward=True).dx))
    assert 0.5 < worst <= 1.0


def test_tolerance_exact_mode_is_exact_where_every_partial_sum_fits_the_format():
    """Small integers: a float16 sum is exact while it stays within 2**11, so the bound is 0 there; past that,
    even integers round, and the element gets the real bound."""
    precision = precision_of(Support(), "float16")
    small = tolerance.elementwise(np.array([2048.0]), np.array([12.0]), 100, precision, exact=True)
    large = tolerance.elementwise(np.array([5000.0]), np.array([12.0]), 100, precision, exact=True)
    assert small.total[0] == 0 and large.total[0] > 0
    assert Precision("float16").u_output == 2.0**-11 and Precision("float32").u_output == 0


def test_tolerance_float16_overflow_is_inf_and_clamping_is_caught():
    """Past 65504 (plus half an ulp) a float16 result must be inf of the exact value's sign; a kernel that
    saturates to 65504 instead fails with a line that says so."""
    import oracle.zoo.float16_overflow_clamped as mutant
    import vectorized

    x = np.full((1, 1, 2, 1), 256.0, dtype=np.float16)
    w = np.full((1, 2, 1, 1), 256.0, dtype=np.float16)
    case = ConvCase(x, w, None, np.zeros((1, 1, 1, 1), dtype=np.float16))
    expected = truth(TORCH, case).y
    assert expected.bound.inf is not None and expected.bound.inf[0, 0, 0, 0] == tolerance.INF
    assert np.isposinf(vectorized.conv2d(x, w)).all()
    assert within(vectorized.conv2d(x, w), expected.value, expected.bound).all()
    with pytest.raises(Mismatch, match=r"y\[0,0,0,0\]=65504, but should be \+inf \(the exact 131072 overflows\)"):
        properties.forward(from_object(mutant), case, TORCH)


@pytest.mark.parametrize("scale", [2.0**-560, 2.0**520], ids=["tiny", "huge"])
def test_tolerance_normwise_bound_scales_with_the_norms_at_any_magnitude(scale):
    """The normwise bound is ``c u log2(L) ||x|| ||w||``: scaling ``x`` scales it, even where the squares of the
    values underflow or overflow float64 (norms are taken scaled, so FFT's spread of tiny values stays inside it).
    Found as a false alarm: an FFT convolution of values near 1e-170 was held to a bound of 2.2e-308."""
    from oracle.examples import fft_conv

    edge = next(c for c in EDGE_CASES if c.name == "asymmetric_padding")
    support = from_object(fft_conv).support
    case = _case(edge, "float64", support=support)
    precision = precision_of(support, "float64")
    plain = truth(TORCH, case, backward=True, precision=precision)
    b = None if case.b is None else case.b * scale
    scaled = truth(TORCH, case.replace(x=case.x * scale, b=b), backward=True, precision=precision)
    for name, factor in (("y", scale), ("dx", 1.0), ("dw", scale)):  # x scaled: y and dw scale with it, dx not
        expected, bound = getattr(plain, name).bound.total, getattr(scaled, name).bound.total
        assert np.allclose(bound, expected * factor, rtol=1e-12, atol=0), name
    y = fft_conv.conv2d(case.x * scale, case.w, b, **case.options)
    assert within(y, scaled.y.value, scaled.y.bound).all()

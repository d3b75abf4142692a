"""The tolerance model is tight enough to catch float32 arithmetic in a float64 call, and never fails a correct
implementation: ours, and PyTorch's own float32 kernels, which share no code with them."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings

from oracle import properties
from oracle.cases.edge_cases import EDGE_CASES
from oracle.cases.strategies import conv_cases
from oracle.properties.compare import Mismatch
from oracle.reference import tolerance
from oracle.reference.truth import get_reference, truth
from oracle.targets.variant import Support, from_object

torch = pytest.importorskip("torch")
TORCH = get_reference("torch")


def _torch_variant():
    """PyTorch's conv2d in the input's own dtype (float32 kernels included), wrapped in design.md's layouts."""
    from oracle.geometry import Geometry

    def run(x, w, b, options, dy=None):
        F = torch.nn.functional
        g = Geometry.of(x.shape[1:3], w.shape[:2], stride=options["stride"], padding=options["padding"],
                        dilation=options["dilation"])
        (pt, pb), (pl, pr) = g.pads
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_()
        wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1))).requires_grad_()
        bt = None if b is None else torch.from_numpy(b.copy())
        y = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wt, bt, stride=g.stride, dilation=g.dilation,
                     groups=options["groups"])
        if dy is None:
            return y.detach().numpy().transpose(0, 2, 3, 1).copy()
        dyt = torch.from_numpy(np.ascontiguousarray(dy.transpose(0, 3, 1, 2)))
        dx, dw = torch.autograd.grad(y, (xt, wt), dyt)
        return (dx.numpy().transpose(0, 2, 3, 1).copy(), dw.numpy().transpose(2, 3, 1, 0).copy(),
                dy.sum(axis=(0, 1, 2)))

    return from_object(SimpleNamespace(
        __name__="torch-in-its-own-dtype",
        conv2d=lambda x, w, b=None, **o: run(x, w, b, o),
        conv2d_backward=lambda dy, x, w, **o: run(x, w, None, o, dy),
        conv_oracle_support=Support(max_batch=2),
    ))


def test_tolerance_gamma_is_the_textbook_bound():
    u = tolerance.unit_roundoff(np.float32)
    assert u == 2.0**-24 and tolerance.unit_roundoff(np.float64) == 2.0**-53
    assert tolerance.gamma(10, u) == pytest.approx(10 * u / (1 - 10 * u), rel=1e-15)
    assert tolerance.gamma(2**25, u) == float("inf")


@settings(max_examples=120)
@given(case=conv_cases(exact=False))
def test_tolerance_never_fails_pytorch_float32_and_float64(case):
    variant = _torch_variant()
    for prop in properties.PROPERTIES[:4]:
        prop.check(variant, case, TORCH)


@pytest.mark.parametrize("case", EDGE_CASES, ids=lambda c: c.name)
def test_tolerance_holds_under_heavy_cancellation(case):
    """Large values of both signs whose sums cancel to almost nothing: the bound scales with |x|*|w|."""
    import vectorized

    x, w, b, dy = case.arrays(np.float32, seed=3)
    x = (x * 1e4 + np.sign(x) * 3e4).astype(np.float32)
    w = np.where(np.arange(w.size).reshape(w.shape) % 2, 1.0, -1.0).astype(np.float32) + w * 1e-3
    expected = truth(TORCH, x, w, b, dy, case.options)
    y = vectorized.conv2d(x, w.astype(np.float32), b, **case.options)
    assert np.all(np.abs(y - expected.y) <= expected.y_bound)


def test_tolerance_catches_float32_arithmetic_in_a_float64_call():
    import oracle.zoo.float32_inside_float64 as mutant

    case = EDGE_CASES[0]
    x, w, b, dy = case.arrays(np.float64)
    expected = truth(TORCH, x, w, b, dy, case.options)
    y = mutant.conv2d(x, w, b, **case.options)
    ratio = np.max(np.abs(y - expected.y) / expected.y_bound)
    assert ratio > 1e3, f"float32 errors are only {ratio:.1f} times the float64 bound"
    with pytest.raises(Mismatch, match=r"y\[.*\]=.*, but should be .* \(\|err\| .* > bound .*\)"):
        properties.forward(from_object(mutant), _as_case(case, x, w, b, dy), TORCH)


def test_tolerance_is_tight_not_just_safe():
    """Rounding a single float32 product is already most of its bound: the bound is not a loose rtol."""
    import naive

    case = next(c for c in EDGE_CASES if c.name == "kernel_1x1_one_channel")
    worst = 0.0
    for seed in range(10):
        x, w, b, dy = case.arrays(np.float32, seed=seed)
        expected = truth(TORCH, x, w, b, dy, case.options)
        dx = naive.conv2d_backward(dy, x, w, **case.options).dx
        worst = max(worst, float(np.max(np.abs(dx - expected.dx) / expected.dx_bound)))
    assert 0.5 < worst <= 1.0


def _as_case(edge, x, w, b, dy):
    from oracle.cases.strategies import ConvCase

    options = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, **edge.options}
    return ConvCase(x, w, b, dy, **options)

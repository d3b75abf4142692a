r"""How close is close enough: one error bound per element, from floating-point error analysis.

Every element of a convolution's result, forward or backward, is a sum of ``n`` products:

    y[n, i, j, o]  = b[o] + sum over KH*KW*Cg products x*w           n = KH*KW*Cg (+1 with a bias)
    dx[n, h, v, c] =        sum over at most KH*KW*Cog products dy*w n = KH*KW*(C_out // groups)
    dw[p, q, c, o] =        sum over N*H_out*W_out products dy*x     n = N*H_out*W_out
    db[o]          =        sum over N*H_out*W_out terms dy          n = N*H_out*W_out

Let ``A = sum |terms|``: the same convolution run on absolute values (``conv(|x|, |w|) + |b|`` forward,
``conv_backward(|dy|, |x|, |w|)`` backward), and ``y`` the exact result. A variant computes one storage dtype as
it declares (`oracle.reference.precision.Precision`): it rounds each input to an *input format* (unit roundoff
``u_i``; 0 when the inputs are used as stored), sums the products in an *accumulation format* (``u_a``), and
rounds the sum once to the *result format* (``u_o``; 0 when the sum is returned in the accumulation format).
Step by step (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §2.2, eq. 3.5 and §3.1):

1. Input rounding. ``x~ = x(1 + d1)``, ``w~ = w(1 + d2)``, ``|d| <= u_i``, so each product is off by at most
   ``(2 u_i + u_i^2) |x w|``, and the exact sum of the rounded products by

       E_in = (2 u_i + u_i^2) * A.

2. Accumulation. Any order of summation of ``n`` products in the accumulation format, with or without fused
   multiply-adds, is within ``gamma_n(u_a)`` of the sum of their absolute values, which is at most
   ``(1 + u_i)^2 A``; ``gamma_n(u) = (1 + u)^n - 1`` (every term passes through at most ``n`` roundings, each a
   factor ``1 + d``, ``|d| <= u``; Higham's ``n u / (1 - n u)`` bounds it from above while ``n u < 1``):

       E_acc = gamma_n(u_a) * (1 + u_i)^2 * A.

3. Output rounding. The computed sum ``s`` is within ``E_in + E_acc`` of ``y``; rounding it to nearest in the result
   format adds at most ``u_o |s|``, plus half the smallest subnormal ``eta_o`` where the result underflows:

       E_out = u_o * (|y| + E_in + E_acc) + eta_o.

4. The reference. The truth is a float64 computation (``u_r = 2**-53``) of ``y`` and of ``A`` themselves, off by
   ``gamma_n(u_r) A`` and ``gamma_n(u_r)`` relatively; products that underflow the accumulation format, even when
   flushed to zero, cost at most ``n * tiny_a`` (``tiny_a`` its smallest normal number).

The bound of an element is the sum of the four terms, with ``A`` taken as ``(1 + gamma_n(u_r)) A``:

    bound = E_in + E_acc + E_out + gamma_n(u_r) A + n tiny_a.

For float32 and float64 used as stored (``u_i = u_o = 0``, ``u_a`` the dtype's own) this is the bound of a plain
float sum, ``(gamma_n(u) + gamma_n(u_r)) A``: an implementation that accumulates in float64 and rounds once is
inside it too. For float16 and bfloat16 summed in float32 it is dominated by the one final rounding, ``u_o |y|``,
where values do not cancel; a half kernel that sums in its own format instead makes errors near
``gamma_n(u_o) A`` and fails wherever values cancel or ``n`` is large. TF32 inputs (``u_i = 2**-11``) cost
``2**-10 A``, a thousand times the float32 bound: a float32 kernel that secretly uses TF32 fails unless it
declares it. ``tests/test_tolerance.py`` shows each of these, and that PyTorch's own kernels reach a measurable
fraction of their bound and never exceed it.

**Overflow.** The result format's largest finite value rounds up to inf at ``O = max + ulp(max) / 2``. Where
``|y| - E >= O`` (``E`` everything but ``E_out``) every correct computation gives inf of ``y``'s sign; where only
``|y| + E >= O`` it may give inf or a finite value within the bound. Where ``A`` itself reaches the accumulation
format's overflow a partial sum may overflow, and inf or NaN is allowed (a float16 accumulation; float32 sums of
half products never get there). A result rounded to another format and held in the storage dtype
(``output_rounding: "bfloat16"`` for float16 storage) overflows at the smaller of the two formats' ``O``.
`Bound.inf` records which.

**Partial sums.** Some kernels sum block by block into a result held in the storage format: each block's sum
(in the accumulation format) is rounded to it and added there, rounded again (PyTorch's CPU half backward: per
kernel tap into ``dx``, per image into ``dw`` and ``db``). With ``B`` blocks that is at most ``2B`` roundings of
partial sums each at most ``A'``, the whole sum of absolute values of the rounded products, so the final rounding
``E_out`` is replaced by

    E_blocks = gamma_2B(u_o) * (1 + u_i)^2 * (1 + gamma_n(u_a)) * A + B * eta_o,

with ``B`` the kernel taps ``KH*KW`` for ``y`` and ``dx``, and ``N`` images for ``dw`` and ``db``. A variant declares
it with ``rounds_partials``; partial sums held in the storage format may overflow where ``A`` does.

**A bias added apart.** A library that adds the bias in an operation of its own rounds the sum of products to the
result format first, then the sum with the bias again (``bias: "rounded apart"``). The first rounding adds at most
``u_o |s| <= u_o (1 + gamma_n(u_a)) (1 + u_i)^2 A`` to ``y``'s bound.

**Exact values.** Small integers are exact in every format down to bfloat16 (8 bits). A sum of them is exact as
long as every partial sum is: where ``A <= 2**p`` for ``p`` the precision of the accumulation format and of the
result format (the smaller), the element must equal the reference to the bit (bound 0); elsewhere, even in exact
mode, it gets the bound above.

**Normwise.** Some methods (FFT, Winograd) are stable only normwise: an element's error scales with the norms of
whole images and filters, not with its own ``A``. For a convolution computed by FFTs of length ``L``,
``||fl(x * w) - x * w||_2 <= c * u * log2(L) * ||x||_2 * ||w||_2`` (Higham, ch. 24); summed over the input
channels of a group and bounded by Cauchy-Schwarz, each output element gets

    E_acc(y[n, :, :, o]) = c * u_a * log2(L) * ||x[n, :, :, group of o]||_F * ||w[:, :, :, o]||_F

(and alike for ``dx`` from ``dy`` and ``w``, ``dw`` from ``x`` and ``dy``), with the output rounding as above. A
variant declares ``error="normwise"`` to be judged so; a direct method never is, so its bound stays elementwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from oracle.reference.precision import FORMATS, Precision

NORMWISE_CONSTANT = 4.0
U_REFERENCE = 2.0**-53
FINITE, INF, MAYBE_INF = 0, 1, 2
"""Values of `Bound.inf`: the element must be finite, must be inf (of the reference's sign), or may be either."""


def unit_roundoff(dtype: np.dtype | type | str) -> float:
    """``u``: 2**-24 for float32, 2**-53 for float64, 2**-11 for float16, 2**-8 for bfloat16."""
    return FORMATS[dtype if isinstance(dtype, str) else np.dtype(dtype).name].u


def gamma(n: int, u: float) -> float:
    """``(1 + u)**n - 1``: the relative error bound of a sum of ``n`` products (each term of a float sum is carried
    through at most ``n`` roundings, each a factor ``1 + d`` with ``|d| <= u``). It is at most the textbook
    ``gamma_n = n*u / (1 - n*u)`` and, unlike it, finite for every ``n``: a half-precision sum of thousands of terms
    still gets a bound, loose as it must be."""
    return math.expm1(n * math.log1p(u))


class Budget(NamedTuple):
    """The terms per element of each result of one convolution (see the module docstring)."""

    y: int
    dx: int
    dw: int
    db: int


def budget(x_shape, w_shape, out_hw, groups: int, bias: bool) -> Budget:
    kh, kw, c_group, c_out = w_shape
    n_out = x_shape[0] * out_hw[0] * out_hw[1]
    return Budget(kh * kw * c_group + int(bias), kh * kw * (c_out // groups), n_out, n_out)


@dataclass(frozen=True)
class Bound:
    """The bound of every element of one result: ``total``, its named ``parts`` (for reports), and ``inf``
    (`FINITE`, `INF` or `MAYBE_INF` per element, see the module docstring). All broadcast to the result's
    shape."""

    total: np.ndarray
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    inf: np.ndarray | None = None

    def describe(self, index: tuple[int, ...]) -> str:
        """``2.4e-02 = rounding to float16 2.4e-02 + sums in float32 (27 terms) 3.1e-06 + ...`` at ``index``."""
        total = float(np.broadcast_to(self.total, self.total.shape)[index])
        if total == 0:
            return "0 (exact)"
        terms = [f"{name} {float(part[index]):.1e}" for name, part in self.parts.items() if float(part[index]) > 0]
        return f"{total:.1e}" + (f" = {' + '.join(terms)}" if len(terms) > 1 else "")


def _exact_where(abs_result: np.ndarray, precision: Precision) -> np.ndarray:
    bits = min(precision.summed.precision, precision.result.precision)
    return abs_result <= 2.0**bits


def elementwise(abs_result: np.ndarray, magnitude: np.ndarray, n: int, precision: Precision, *,
                exact: bool = False, largest_input: float = 2.0, blocks: int = 0) -> Bound:
    """The bound of each element of a sum of ``n`` products whose absolute values sum to ``abs_result`` and whose
    exact value has magnitude ``magnitude`` (the reference's ``|y|``), computed as ``precision`` declares.

    ``exact``: the inputs are small integers, so elements whose every partial sum is exact get bound 0.
    ``largest_input`` bounds the inputs' magnitudes, for the underflow of inputs rounded into subnormals.
    ``blocks``: the sum is made of this many block sums, each rounded to the result format and added into a
    result held there (module docstring, Partial sums); 0 for one rounding at the end.
    """
    a = np.asarray(abs_result, dtype=np.float64) * (1 + gamma(n, U_REFERENCE))
    y = np.abs(np.asarray(magnitude, dtype=np.float64))
    u_i, u_a, u_o = precision.u_inputs, precision.summed.u, precision.u_output
    e_in = (2 * u_i + u_i * u_i) * a
    e_acc = gamma(n, u_a) * (1 + u_i) ** 2 * a
    e_ref = gamma(n, U_REFERENCE) * a
    tiny = n * precision.summed.smallest_normal
    if u_i:
        tiny += n * FORMATS[precision.inputs].smallest_subnormal * 2 * largest_input
    parts = {"inputs rounded to " + precision.inputs: e_in,
             f"sums in {precision.accumulation} ({n} terms)": e_acc + tiny + e_ref}  # with the reference's own
    if u_o and blocks:
        parts[f"partial sums rounded to {precision.result.name} ({blocks} blocks)"] = (
            gamma(2 * blocks, u_o) * (1 + u_i) ** 2 * (1 + gamma(n, u_a)) * a
            + blocks * precision.result.smallest_subnormal)
    elif u_o:
        eta = precision.result.smallest_subnormal / 2
        parts[f"rounding to {precision.result.name}"] = u_o * (y + e_in + e_acc) + eta
    if u_o and precision.bias_apart:  # the sum of products rounded before the bias is added: a second rounding
        parts["the bias added after rounding"] = u_o * (1 + gamma(n, u_a)) * (1 + u_i) ** 2 * a
    total = sum(parts.values())
    if exact:
        exact_elements = _exact_where(np.asarray(abs_result, dtype=np.float64), precision)
        total = np.where(exact_elements, 0.0, total)
        parts = {k: np.where(exact_elements, 0.0, v) for k, v in parts.items()}
    return Bound(np.asarray(total, dtype=np.float64), parts,
                 _overflow(y, a, e_in + e_acc + e_ref + tiny, precision, partials=bool(blocks)))


def normwise(a_norms: np.ndarray, b_norms: np.ndarray, length: int, magnitude: np.ndarray,
             precision: Precision, bias: np.ndarray | None = None) -> Bound:
    """``c * u_a * log2(L) * a * b`` plus the output rounding: ``a`` and ``b`` are the Frobenius norms that meet in
    each element, already broadcast to the result's shape (see the module docstring); ``|bias|``, added in the
    accumulation format, adds ``u_a * |bias|``."""
    y = np.abs(np.asarray(magnitude, dtype=np.float64))
    scale = NORMWISE_CONSTANT * precision.summed.u * max(1.0, math.log2(max(length, 2)))
    e_acc = scale * np.asarray(a_norms, np.float64) * np.asarray(b_norms, np.float64)
    if bias is not None:
        e_acc = e_acc + precision.summed.u * np.abs(np.asarray(bias, np.float64))
    e_acc = np.broadcast_to(e_acc + precision.summed.smallest_normal, y.shape)
    parts = {f"normwise sums in {precision.accumulation} (L={length})": e_acc}
    if precision.u_output:
        parts[f"rounding to {precision.result.name}"] = (precision.u_output * (y + e_acc)
                                                         + precision.result.smallest_subnormal / 2)
    return Bound(np.asarray(sum(parts.values()), dtype=np.float64), parts, _overflow(y, e_acc, e_acc, precision))


def _overflow(y: np.ndarray, a: np.ndarray, error: np.ndarray, precision: Precision,
              partials: bool = False) -> np.ndarray | None:
    """`FINITE`, `INF` or `MAYBE_INF` per element (module docstring, Overflow); None when nothing can overflow.
    With ``partials`` the partial sums are held in the result format too."""
    limit = precision.result.overflow
    if precision.output_format:  # rounded to another format, then held in the storage dtype: its range too
        limit = min(limit, precision.stored.overflow)
    partial = a >= min(precision.summed.overflow, limit if partials else math.inf) / 2
    high = y + error >= limit
    if not (high.any() or partial.any()):
        return None
    inf = np.where(high, MAYBE_INF, FINITE).astype(np.int8)
    inf[(y - error >= limit) & ~partial] = INF
    inf[partial] = MAYBE_INF
    return inf

"""Floating-point formats and how a variant computes in them: storage, input rounding, accumulation, output.

A `Format` is a binary floating-point format: ``precision`` significand bits (the implicit bit included), the
largest finite value and the smallest normal and subnormal ones. Its unit roundoff ``u = 2**-precision`` bounds the
relative error of rounding to nearest. ``tf32`` is float32's range with float16's precision: what tensor cores
multiply when PyTorch's ``allow_tf32`` is set.

A `Precision` is what a variant declares for one storage dtype (`oracle.targets.support.Support`): the format
its inputs are rounded to before multiplying, the format it sums the products in, and whether it rounds the
result to the storage dtype. `oracle.reference.tolerance` turns it into a bound per element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Format:
    """A binary floating-point format (IEEE 754 style, with subnormals)."""

    name: str
    precision: int
    max: float
    smallest_normal: float
    smallest_subnormal: float

    @property
    def u(self) -> float:
        """Unit roundoff: rounding to nearest has relative error at most ``u``."""
        return 2.0 ** -self.precision

    @property
    def overflow(self) -> float:
        """The smallest magnitude that rounds to inf: ``max`` plus half an ulp of ``max``."""
        return self.max + 2.0 ** (math.frexp(self.max)[1] - self.precision - 1)

    def round(self, a: np.ndarray) -> np.ndarray:
        """``a`` rounded to this format, to nearest with ties to even, in float64 (inf past `overflow`).

        Computed from float64 directly: casting through float32 (as ml_dtypes does for bfloat16) would round
        twice.
        """
        a = np.asarray(a, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            _, exponent = np.frexp(a)
            quantum = np.maximum(np.ldexp(1.0, exponent - self.precision), self.smallest_subnormal)
            rounded = np.rint(a / quantum) * quantum
            return np.where(np.abs(a) >= self.overflow, np.copysign(np.inf, a), np.where(np.isfinite(a), rounded, a))

    def representable(self, a: np.ndarray) -> bool:
        """Whether every element of ``a`` is a value of this format."""
        a = np.asarray(a, dtype=np.float64)
        return bool(np.array_equal(self.round(a), a, equal_nan=True))


FORMATS = {
    "float64": Format("float64", 53, float(np.finfo(np.float64).max), 2.0**-1022, 2.0**-1074),
    "float32": Format("float32", 24, float(np.finfo(np.float32).max), 2.0**-126, 2.0**-149),
    "tf32": Format("tf32", 11, float(np.finfo(np.float32).max), 2.0**-126, 2.0**-136),
    "float16": Format("float16", 11, 65504.0, 2.0**-14, 2.0**-24),
    "bfloat16": Format("bfloat16", 8, float.fromhex("0x1.fep127"), 2.0**-126, 2.0**-133),
}


def storage_dtype(name: str) -> np.dtype:
    """The numpy dtype of a storage format name (bfloat16 from ml_dtypes)."""
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            raise TypeError("bfloat16 needs the ml_dtypes package: pip install ml_dtypes") from None
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


@dataclass(frozen=True)
class Precision:
    """How a variant computes one storage dtype: inputs rounded to ``inputs`` (``"none"``: as stored), products
    summed in ``accumulation``, the result rounded to ``storage`` when ``output_rounding`` (to the format
    ``output_format`` names instead, where it names one, and still returned in the storage dtype), else returned in
    the accumulation format. ``partials``: the results whose block sums are rounded into a storage-format result,
    block by block (`oracle.targets.support.Support.rounds_partials`). ``bias_apart``: the bias is added to the sum
    of products after it was rounded, and rounded again. ``error`` is ``"elementwise"`` or ``"normwise"`` (see
    `oracle.reference.tolerance`). ``results``: how results other than ``y`` differ, as ``((name, Precision),
    ...)`` (`of` reads them)."""

    storage: str
    inputs: str = "none"
    accumulation: str = ""
    output_rounding: bool = True
    error: str = "elementwise"
    partials: tuple[str, ...] = ()
    output_format: str = ""
    bias_apart: bool = False
    results: tuple[tuple[str, Precision], ...] = ()

    def __post_init__(self) -> None:
        if not self.accumulation:
            plain = {"float16": "float32", "bfloat16": "float32"}.get(self.storage, self.storage)
            object.__setattr__(self, "accumulation", plain)
        if self.output_format == self.storage:
            object.__setattr__(self, "output_format", "")
        if self.u_output == 0:  # sums already in the result's format: nothing to round, in blocks or at the end
            object.__setattr__(self, "partials", ())
            object.__setattr__(self, "bias_apart", False)

    def of(self, result: str) -> Precision:
        """How ``result`` (``"y"``, ``"dx"``, ``"dw"``, ``"db"``) is computed."""
        return dict(self.results).get(result, self)

    @property
    def result_dtype(self) -> np.dtype:
        """The dtype of every result: the storage dtype, or the accumulation format's without output rounding."""
        return storage_dtype(self.storage if self.output_rounding else self.accumulation)

    @property
    def stored(self) -> Format:
        return FORMATS[self.storage]

    @property
    def summed(self) -> Format:
        return FORMATS[self.accumulation]

    @property
    def result(self) -> Format:
        """The format results are rounded to: the storage dtype's, the one declared instead, or the accumulation
        format's where they are not rounded."""
        if not self.output_rounding:
            return FORMATS[self.accumulation]
        return FORMATS[self.output_format or self.storage]

    @property
    def u_inputs(self) -> float:
        """Relative error of rounding one stored input to the input format: 0 where every stored value is one of
        its values (float16 into tf32, bfloat16 into float32), else its unit roundoff."""
        if self.inputs == "none":
            return 0.0
        target, stored = FORMATS[self.inputs], self.stored
        if target.precision >= stored.precision and target.max >= stored.max:
            return 0.0
        return target.u

    @property
    def u_output(self) -> float:
        """Relative error of rounding the sum to the result format (0 when the sum is already in it)."""
        return self.result.u if self.result.precision < self.summed.precision else 0.0

    @property
    def usual(self) -> bool:
        """Whether it computes as the storage dtype implies (whatever its error analysis, elementwise or normwise)."""
        return self == Precision(self.storage, error=self.error)

    @property
    def plain(self) -> bool:
        """Whether this is what the storage dtype alone implies (no input rounding, the usual accumulation, one
        rounding, element by element)."""
        return self == Precision(self.storage)

    def describe(self) -> str:
        """``storage float16, inputs as stored, sums in float32, result rounded to float16`` (and how other results
        differ)."""
        text = f"storage {self.storage}, {self._how()}"
        for name, other in self.results:
            text += f"; {name}: {other._how()}"
        return text

    def _how(self) -> str:
        inputs = "inputs as stored" if self.inputs == "none" else f"inputs rounded to {self.inputs}"
        if not self.output_rounding:
            result = f"result returned unrounded, in {self.accumulation}"
        else:
            result = f"result rounded to {self.result.name}"
            if self.output_format:
                result += f" (held in {self.storage})"
        partials = f", partial sums of {'/'.join(self.partials)} rounded to {self.storage}" if self.partials else ""
        bias = ", the bias added after rounding (rounded twice)" if self.bias_apart else ""
        return f"{inputs}, sums in {self.accumulation}{partials}{bias}, {result}"

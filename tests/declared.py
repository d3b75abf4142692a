"""Small variants with exactly the limits real libraries have (issue 10), each with a planted bug to switch on.

Each is `vectorized` behind the limit it declares: it refuses what lies outside (as the library does), so a case
the oracle should not have drawn fails loudly; and with ``bug=True`` it is wrong somewhere inside its declared
support.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

import vectorized
from oracle.geometry import Geometry, same_input_pads, same_lower_pads
from vectorized.gather import correlate

QUICK = {"dtypes": ("float32", "float64")}
"""Every variant here takes float32 and float64 only: half formats are the precision tests' business, and the
checks stay quick."""


class Limited:
    """`vectorized` behind a limit: ``refuse(x, w, options)`` returns a message for what it does not take."""

    conv_oracle_support: ClassVar[dict] = {}

    def __init__(self, bug: bool = False) -> None:
        self.bug = bug
        self.__name__ = f"{type(self).__name__}{' (bug)' if bug else ''}"

    def refuse(self, x, w, options) -> str | None:
        return None

    def options(self, x, w, options) -> dict:
        """The options `vectorized` is called with (a convention translated, a bug planted)."""
        return options

    def _refused(self, x, w, options) -> None:
        """The contract's argument checking (borrowed from vectorized), then the limit."""
        vectorized.conv2d(x, w, None, **options)
        if (message := self.refuse(x, w, options)) is not None:
            raise ValueError(message)

    def conv2d(self, x, w, b=None, **options):
        self._refused(x, w, options)
        return vectorized.conv2d(x, w, b, **self.options(x, w, options))

    def conv2d_backward(self, dy, x, w, **options):
        self._refused(x, w, options)
        return vectorized.conv2d_backward(dy, x, w, **self.options(x, w, options))


def _geometry(x, w, options, same="upper") -> Geometry:
    return Geometry.of(x.shape[1:3], w.shape[:2], stride=options.get("stride", 1), same=same,
                       padding=options.get("padding", 0), dilation=options.get("dilation", 1))


class IntStride(Limited):
    """numpy-ml: one int stride and dilation for both axes (a pair is a TypeError there). Bug: the dilation is
    ignored when the stride is above 1."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "stride": "int", "dilation": "int"}

    def refuse(self, x, w, options):
        for name in ("stride", "dilation"):
            if not isinstance(options.get(name, 1), int):
                raise TypeError(f"{name} must be of type int; got {options[name]!r}")
        return None

    def options(self, x, w, options):
        if self.bug and options.get("stride", 1) > 1:
            return {**options, "dilation": 1}
        return options


class Square(Limited):
    """The seed author's Convolution2D: square inputs and square kernels only. Bug: the kernel is transposed."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "square": ("input", "kernel")}

    def refuse(self, x, w, options):
        if (x.ndim == 4 and x.shape[1] != x.shape[2]) or (w.ndim == 4 and w.shape[0] != w.shape[1]):
            return f"x and w must be square; got x.shape={x.shape}, w.shape={w.shape}"
        return None

    def conv2d(self, x, w, b=None, **options):
        return super().conv2d(x, w.transpose(1, 0, 2, 3) if self.bug else w, b, **options)


class SameLower(Limited):
    """'same' with the odd pixel of padding first (SAME_LOWER). Bug: it pads SAME_UPPER after all."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "same": "lower"}

    def options(self, x, w, options):
        if options.get("padding") != "same" or self.bug:
            return options
        g = _geometry(x, w, {**options, "padding": 0})
        pads = tuple(same_lower_pads(n, k, s, d) for n, k, s, d in zip(g.size, g.kernel, g.stride, g.dilation))
        return {**options, "padding": pads}


class SameInput(Limited):
    """numpy-ml's 'same': H_out = H at every stride, the odd pixel after. Bug: the padding on the second axis is
    computed from the first axis's sizes."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "same": "input"}

    def options(self, x, w, options):
        if options.get("padding") != "same":
            return options
        g = _geometry(x, w, {**options, "padding": 0})
        pads = [same_input_pads(n, k, s, d) for n, k, s, d in zip(g.size, g.kernel, g.stride, g.dilation)]
        if self.bug:
            pads[1] = pads[0]
        return {**options, "padding": tuple(pads)}


class Symmetric(Limited):
    """Symmetric padding only (pt == pb, pl == pr). Bug: all the padding goes on top and left."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "asymmetric_padding": False}

    def refuse(self, x, w, options):
        if x.ndim == 4 and w.ndim == 4 and not isinstance(options.get("padding", 0), str):
            g = _geometry(x, w, options)
            if any(a != b for a, b in g.pads):
                return f"padding must be symmetric; got padding={options['padding']!r}"
        return None

    def options(self, x, w, options):
        if not self.bug or isinstance(options.get("padding", 0), str):
            return options
        (pt, pb), (pl, pr) = _geometry(x, w, options).pads
        return {**options, "padding": ((pt + pb, 0), (pl + pr, 0))}


class Tiling(Limited):
    """mygrad: the stride must tile the padded input exactly. Bug: the output loses its last column."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "leftover_rows": False}

    def refuse(self, x, w, options):
        if x.ndim == 4 and w.ndim == 4:
            g = _geometry(x, w, options)
            if any((p - e) % s for p, e, s in zip(g.padded, g.span, g.stride)):
                return "Stride and kernel dimensions are incompatible"
        return None

    def conv2d(self, x, w, b=None, **options):
        y = super().conv2d(x, w, b, **options)
        if self.bug and y.shape[2] > 1:
            y[:, :, -1] = 0
        return y


class NonEmpty(Limited):
    """numpy-ml's backward, the seed layer: N >= 1 only. Bug: dw drops the last image."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "min_batch": 1}

    def refuse(self, x, w, options):
        if x.ndim == 4 and x.shape[0] == 0:
            return f"x must hold at least one image; got x.shape={x.shape}"
        return None

    def conv2d_backward(self, dy, x, w, **options):
        grads = super().conv2d_backward(dy, x, w, **options)
        if self.bug and x.shape[0] > 1:
            dw = super().conv2d_backward(dy[:-1], x[:-1], w, **options).dw
            return vectorized.Conv2dGrads(grads.dx, dw, grads.db)
        return grads


class Unchecked:
    """A thin adapter that checks nothing: bad arguments end in whatever numpy raises deep inside, or in a wrong
    answer. Bug: the bias is added twice."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "validates": False}

    def __init__(self, bug: bool = False) -> None:
        self.bug = bug
        self.__name__ = f"Unchecked{' (bug)' if bug else ''}"

    def conv2d(self, x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1):
        g = Geometry.of(x.shape[1:3], w.shape[:2], stride=stride, padding=padding, dilation=dilation)
        work = np.float64 if x.dtype == np.float64 else np.float32
        if x.shape[0] == 0:
            return np.zeros((0, *g.out, w.shape[3]), dtype=x.dtype)
        xp = np.pad(x.astype(work), ((0, 0), *g.pads, (0, 0)))
        y = correlate(xp, np.ascontiguousarray(w, dtype=work), groups, g.stride, g.dilation, g.out)
        if b is not None:
            y += b.astype(work) * (2 if self.bug else 1)
        return y.astype(x.dtype)


class NoDilation(Limited):
    """No dilation: it refuses any dilation but 1 with NotImplementedError, which is all the bad-input table may ask
    of it about dilation."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "dilation": False}

    def refuse(self, x, w, options):
        if options.get("dilation", 1) != 1:
            raise NotImplementedError("dilation is not supported")
        return None


class BackwardWithoutDilation(Limited):
    """TensorFlow's CPU gradients: the forward pass takes a dilation, the backward pass refuses one. Bug: the
    forward pass dilates the rows only."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "dilation": {"backward": False}}

    def conv2d_backward(self, dy, x, w, **options):
        if _pair(options.get("dilation", 1)) != (1, 1):
            raise ValueError("Current CPU implementations do not yet support dilation rates larger than 1")
        return super().conv2d_backward(dy, x, w, **options)

    def options(self, x, w, options):
        dh, _ = _pair(options.get("dilation", 1))
        return {**options, "dilation": (dh, 1)} if self.bug and _pair(options.get("dilation", 1)) != (1, 1) \
            else options


class SameWithoutDilation(Limited):
    """ONNX Runtime's auto_pad, PaddlePaddle's 'SAME': 'same' only without dilation. Bug: its 'same' puts the odd
    pixel of padding first."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "same_dilation": False}

    def refuse(self, x, w, options):
        if options.get("padding") == "same" and _pair(options.get("dilation", 1)) != (1, 1):
            return f"'same' padding takes no dilation; got dilation={options['dilation']!r}"
        return None

    def options(self, x, w, options):
        if options.get("padding") != "same" or not self.bug:
            return options
        g = _geometry(x, w, {**options, "padding": 0})
        pads = tuple(same_lower_pads(n, k, s, d) for n, k, s, d in zip(g.size, g.kernel, g.stride, g.dilation))
        return {**options, "padding": pads}


class StrideOrDilation(Limited):
    """Keras: never a stride and a dilation above 1 together. Bug: the column stride is dropped where the rows are
    dilated."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "stride_dilation": False}

    def refuse(self, x, w, options):
        if any(s > 1 and d > 1 for s, d in zip(_pair(options.get("stride", 1)), _pair(options.get("dilation", 1)))):
            return "`strides > 1` not supported in conjunction with `dilation_rate > 1`"
        return None

    def conv2d(self, x, w, b=None, **options):
        y = super().conv2d(x, w, b, **options)
        if self.bug and _pair(options.get("stride", 1))[1] > 1:
            y = y + 1  # a wrong path wherever the columns are strided
        return y


class AnyError(Limited):
    """A framework that raises its own errors (RuntimeError, in its own words) for bad arguments: it declares
    ``validates: "any error"``. Bug: groups that do not divide the channels give zeros instead of an error."""

    conv_oracle_support: ClassVar[dict] = {**QUICK, "validates": "any error"}

    def _refused(self, x, w, options):
        try:
            super()._refused(x, w, options)
        except (ValueError, TypeError) as error:
            groups = options.get("groups", 1)
            if self.bug and "groups" in str(error) and isinstance(groups, int) and groups > 1:
                raise _Garbage from None
            raise RuntimeError(f"invalid argument: {error}") from None

    def conv2d(self, x, w, b=None, **options):
        try:
            return super().conv2d(x, w, b, **options)
        except _Garbage:
            return np.zeros((1, 1, 1, 1), dtype=x.dtype)

    def conv2d_backward(self, dy, x, w, **options):
        try:
            return super().conv2d_backward(dy, x, w, **options)
        except _Garbage:
            return vectorized.Conv2dGrads(np.zeros_like(x), np.zeros_like(w), np.zeros(1, dtype=x.dtype))


class _Garbage(Exception):
    """Where `AnyError`'s bug returns zeros instead of raising."""


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


LIMITS = [IntStride, Square, SameLower, SameInput, Symmetric, Tiling, NonEmpty, Unchecked, BackwardWithoutDilation,
          SameWithoutDilation, StrideOrDilation, AnyError, NoDilation]
"""Each limit; all but the last two have a bug that a search of every property catches (`AnyError`'s bug is in
what it raises, for the bad-input table; `NoDilation` has none)."""

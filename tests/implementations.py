"""The bundled implementations as the suite sees them: `naive`, `vectorized`, and `vectorized` forced to
process one image per batch chunk (its chunked path)."""

from types import SimpleNamespace

import naive
import vectorized


def _chunked():
    def conv2d(x, w, b=None, **options):
        return vectorized.conv2d(x, w, b, chunk_bytes=1, **options)

    def conv2d_backward(dy, x, w, **options):
        return vectorized.conv2d_backward(dy, x, w, chunk_bytes=1, **options)

    def conv_transpose2d(x, w, b=None, **options):
        return vectorized.conv_transpose2d(x, w, b, chunk_bytes=1, **options)

    return SimpleNamespace(__name__="vectorized[chunk_bytes=1]", conv2d=conv2d, conv2d_backward=conv2d_backward,
                           conv_transpose2d=conv_transpose2d,
                           conv_transpose2d_backward=vectorized.conv_transpose2d_backward)


IMPLEMENTATIONS = {"naive": naive, "vectorized": vectorized, "vectorized_chunked": _chunked()}

"""Bug: input channels summed in blocks of 4, and the tail loop after the last full block stops one channel short
when the tail has 2 or 3 channels (pytorch#21597's class: wrong for 6 input channels, right for 8, 12 or 16)."""

from oracle.zoo._base import check_forward, vectorized


def conv2d(x, w, b=None, **options):
    check_forward(x, w, b, options)
    c_in = x.shape[3]
    if c_in > 4 and c_in % 4 in (2, 3):
        x = x.copy()
        x[..., c_in - 1] = 0  # the last channel of the tail is never read
    return vectorized.conv2d(x, w, b, **options)


conv2d_backward = vectorized.conv2d_backward

"""Bug: the module ends the process while it is imported (a library that calls ``sys.exit`` when it finds no device,
say). It has no call to judge: ``conv-oracle check oracle.zoo.exits_on_import`` must say, in one line, that it
cannot be imported, and exit 2."""

import sys

sys.exit(0)


def conv2d(x, w, b=None, **options):  # never reached
    raise AssertionError("unreachable")

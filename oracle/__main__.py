"""``python -m oracle``: the ``conv-oracle`` command."""

import sys

from oracle.cli import main

sys.exit(main())

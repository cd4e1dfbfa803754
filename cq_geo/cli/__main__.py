"""``python -m cq_geo.cli``: the same as the ``cq-geo`` command."""

import sys

from .main import main

sys.exit(main())

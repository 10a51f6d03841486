"""``python -m fuzz``: see ``fuzz/run.py``."""

import sys

from .run import main

sys.exit(main())

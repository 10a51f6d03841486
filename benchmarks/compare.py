"""cardseq against what a Python user would otherwise reach for: `cardseq bench`, run
from a checkout (the comparison itself is cardseq/bench/).

    python benchmarks/compare.py [--quick] [--out DIR] [--postgres-url URL] [--no-postgres]
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from cardseq.cli import main

if __name__ == "__main__":
    main(["bench", *sys.argv[1:]], prog_name="benchmarks/compare.py")

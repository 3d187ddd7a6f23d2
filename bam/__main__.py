"""``python -m bam`` is the same as the ``bam`` console script."""

import sys

from bam.cli import main

if __name__ == "__main__":
    sys.exit(main())

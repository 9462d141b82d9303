"""``python -m datagen``: the ``code-synthesis datagen`` command on its own."""

import sys

from datagen.cli import main

if __name__ == "__main__":  # guarded: extraction workers are spawned and re-import __main__
    sys.exit(main())

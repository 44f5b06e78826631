"""Entry point of ``python -m custom_components.e450.iec62056``."""

import sys

from ..wire.commands.iec62056 import main

if __name__ == "__main__":
    sys.exit(main())

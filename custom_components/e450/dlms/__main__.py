"""Entry point of ``python -m custom_components.e450.dlms``."""

import sys

from ..wire.commands.dlms import main

if __name__ == "__main__":
    sys.exit(main())

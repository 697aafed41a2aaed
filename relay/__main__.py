"""``python -m relay`` is the ``esp32-relay`` command."""

import sys

from .cli import main

sys.exit(main())

"""``python -m cio_browser.relay``: see :mod:`cio_browser.relay.cli`."""

import sys

from .cli import main

sys.exit(main())

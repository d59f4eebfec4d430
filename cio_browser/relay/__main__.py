"""``python -m cio_browser.relay``: see :mod:`cio_browser.relay.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

"""cio_browser's first-party relay: the Track API key stays on the server, and raw events still arrive.

An ASGI application (Starlette + httpx) that a site runs next to its pages:

* forwards the few Track API routes the destination sends, adding the ``Authorization`` header itself, so the
  page holds no key (page setting ``relay: "/cio"``);
* maps analytics.js events the page could not map itself (``POST /events``: a visit shorter than Python's start,
  or a browser where Python cannot run) with the destination's own mapping, under CPython.

Run it with ``python -m cio_browser.relay --port 8080`` or mount :func:`create_app` in a Starlette/FastAPI or
Django (ASGI) application. It needs the ``relay`` extra (``pip install "cio_browser[relay]"``); browser code
never imports this package, and the browser wheel does not carry it.
"""

from __future__ import annotations

from .app import Relay, create_app
from .config import ENV_VARS, RelayConfig, RelayConfigError

__all__ = ["ENV_VARS", "Relay", "RelayConfig", "RelayConfigError", "create_app"]

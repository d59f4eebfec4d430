"""``python -m cio_browser.relay [--host H] [--port N]``: the relay under uvicorn, configured from ``CIO_*``.

A bad configuration exits with status 2 and one line listing every problem (never the key). For more than one
process per machine use uvicorn itself: ``uvicorn --factory cio_browser.relay:create_app --workers 4``.
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from .app import create_app
from .config import ENV_VARS, RelayConfig, RelayConfigError
from .serve import bind, uvicorn_config

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    variables = "\n".join(f"  {name:<20} {meaning}" for name, meaning in ENV_VARS.items())
    parser = argparse.ArgumentParser(
        prog="python -m cio_browser.relay",
        description="cio_browser relay: forwards the destination's Track API calls with the key added "
                    "server-side, and maps raw analytics.js events (POST /events).",
        epilog="environment variables:\n" + variables, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)

    try:
        config = RelayConfig.from_env()
    except RelayConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    print(f"cio_browser relay for site {config.site_id} -> {config.upstream} listening on http://{host}:{port}",
          flush=True)
    uvicorn.Server(uvicorn_config(create_app(config), log_level=args.log_level)).run(sockets=[sock])
    return 0

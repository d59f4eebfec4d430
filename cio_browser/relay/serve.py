"""Serving an ASGI app with uvicorn on a socket this process bound itself (port 0 works: the OS picks one).

Used by the command line, the demo runner, the tests and the benchmark, so all of them run the relay exactly
as production does: real HTTP through uvicorn, not an in-process transport.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

__all__ = ["ServerThread", "bind", "uvicorn_config"]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (SO_REUSEADDR, so a restart does not wait for TIME_WAIT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Any, **extra: Any) -> uvicorn.Config:
    """uvicorn settings the relay always runs with: its own access log (uvicorn's logs paths, which hold ids),
    no ``Server`` header, the caller's logging configuration left alone."""
    return uvicorn.Config(app, access_log=False, log_config=None, server_header=False, **extra)


class ServerThread:
    """uvicorn in a background thread: ``with ServerThread(app) as s: … s.url …``."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None,
                 **extra: Any):
        self.sock = sock if sock is not None else bind(host, port)
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = uvicorn.Server(uvicorn_config(app, **extra))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name=f"uvicorn:{self.port}")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

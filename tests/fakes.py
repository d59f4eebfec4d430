"""Test doubles for the engine's ports: a manual clock, scripted answers, in-memory storage."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cio_browser.delivery.engine import Engine, NetworkError, Response, new_key
from cio_browser.delivery.storage import MemoryStorage
from cio_browser.request import Request

T0 = 1_700_000_000_000.0


@dataclass(order=True)
class Timer:
    at: float
    seq: int
    callback: Any = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class FakeArchive:
    """IndexedDB stand-in: async put/get/keys over a dict; ``fail`` makes every put refuse."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.fail = False

    async def put(self, key: str, value: str) -> bool:
        if self.fail:
            return False
        self.data[key] = value
        return True

    async def get(self, key: str) -> str | None:
        return self.data.get(key)

    async def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))

    async def remove(self, key: str) -> bool:
        return self.data.pop(key, None) is not None


class FakePorts:
    def __init__(self, storage: MemoryStorage | None = None, now: float = T0, archive: FakeArchive | None = None):
        self.storage = storage or MemoryStorage()
        self.archive = archive
        self.clock = now
        self.timers: list[Timer] = []
        self._seq = itertools.count()
        self.sent: list[tuple[Request, bool]] = []
        self.script: deque[Response | Exception] = deque()
        self.logs: list[tuple[str, str]] = []
        self.is_online = True
        self.tasks: list[asyncio.Future] = []
        #: when set, answers every request not covered by ``script`` (e.g. "503 until t, then 200")
        self.responder: Any = None
        #: (fake time, status or 0 for a network error) of every request, in order
        self.timeline: list[tuple[float, int]] = []

    def now_ms(self) -> float:
        return self.clock

    def random(self) -> float:
        return 0.5

    def online(self) -> bool:
        return self.is_online

    def send(self, request: Request, keepalive: bool = False):
        self.sent.append((request, keepalive))
        at = self.clock
        if self.script:
            outcome = self.script.popleft()
        elif self.responder is not None:
            outcome = self.responder(request)
        else:
            outcome = Response(200, {}, "{}")

        self.timeline.append((at, 0 if isinstance(outcome, Exception) else outcome.status))

        async def answer() -> Response:
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        return answer()

    def spawn(self, coro) -> None:
        self.tasks.append(asyncio.ensure_future(coro))

    def schedule(self, delay_ms: float, callback) -> Timer:
        t = Timer(self.clock + delay_ms, next(self._seq), callback)
        self.timers.append(t)
        return t

    def cancel(self, handle: Timer) -> None:
        handle.cancelled = True

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))

    # ---- test helpers ------------------------------------------------------------------------------------
    def answer(self, *outcomes: Response | Exception | int) -> None:
        for o in outcomes:
            self.script.append(Response(o, {}, "{}") if isinstance(o, int) else o)

    async def run(self, advance_ms: float = 0.0) -> None:
        """Let tasks finish, firing timers due within ``advance_ms`` of the current time, in order."""
        end = self.clock + advance_ms
        while True:
            for _ in range(20):
                await asyncio.sleep(0)
            due = sorted(t for t in self.timers if not t.cancelled and t.at <= end)
            if not due:
                break
            t = due[0]
            self.timers.remove(t)
            self.clock = max(self.clock, t.at)
            t.callback()
        self.clock = max(self.clock, end)

    def bodies(self) -> list[Any]:
        return [r.body for r, _ in self.sent]

    def errors(self) -> list[str]:
        return [m for level, m in self.logs if level == "error"]


class Glue:
    """Stores events the way www/cio-browser.js does and hands them to the engine."""

    def __init__(self, engine: Engine, ports: FakePorts):
        self.engine, self.ports, self.seq = engine, ports, 0

    def keep(self, *events: dict[str, Any]) -> list[str]:
        keys = []
        for ev in events:
            key = new_key(self.engine.ns, self.ports.clock, self.seq, 0.25)
            self.seq += 1
            text = json.dumps(ev)
            self.ports.storage.set(key, text)
            keys.append(key)
            self.engine.accept([(key, text, False)])
        return keys


def track(name: str, mid: str, **props: Any) -> dict[str, Any]:
    return {"type": "track", "event": name, "messageId": mid, "userId": "u1", "anonymousId": "anon-1",
            "timestamp": "2023-06-01T08:00:00.000Z", "properties": props}


__all__ = ["FakeArchive", "FakePorts", "Glue", "NetworkError", "Response", "T0", "track"]

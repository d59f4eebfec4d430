"""The browser edge: the only module that imports ``js`` / ``pyodide``.

It gives the pure :class:`~cio_browser.delivery.engine.Engine` its ports (localStorage, fetch, timers,
console, Web Locks, page lifecycle) and exposes a small object the JS glue calls. Imports of ``js`` happen
inside functions so ``import cio_browser`` keeps working under CPython.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from .constants import PLUGIN_NAME
from .delivery.engine import Engine, NetworkError, Response, new_key
from .request import Request
from .settings import Settings, SettingsError

__all__ = ["BrowserDestination", "MirroredStorage", "install", "start", "start_worker"]


class LocalStorage:
    """:class:`~cio_browser.delivery.storage.Storage` over ``window.localStorage``."""

    def __init__(self) -> None:
        import js

        self._ls = js.localStorage
        self._keys = js.Object.keys

    def get(self, key: str) -> str | None:
        return self._ls.getItem(key)

    def set(self, key: str, value: str) -> bool:
        try:
            self._ls.setItem(key, value)
            return True
        except Exception:  # QuotaExceededError, SecurityError
            return False

    def remove(self, key: str) -> None:
        self._ls.removeItem(key)

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self._keys(self._ls).to_py() if k.startswith(prefix))


class MirroredStorage:
    """Storage for the Web Worker: a copy of the page's keys, with every write posted back to the page.

    Workers have no localStorage; the page owns it (it must write events synchronously, before Python is even
    running). The worker reads its mirror and the page applies the writes in order.
    """

    def __init__(self, initial: dict[str, str], post: Callable[[list[list[str | None]]], None],
                 defer: Callable[[Callable[[], None]], Any]):
        self.data = dict(initial)
        self._post = post
        self._defer = defer
        self._ops: list[list[str | None]] = []

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> bool:
        self.data[key] = value
        self._queue(["set", key, value])
        return True

    def remove(self, key: str) -> None:
        self.data.pop(key, None)
        self._queue(["remove", key, None])

    def _queue(self, op: list[str | None]) -> None:
        """Writes go to the page in one message per task, not one per key (the page's main thread pays)."""
        if not self._ops:
            self._defer(self._flush)
        self._ops.append(op)

    def _flush(self) -> None:
        ops, self._ops = self._ops, []
        if ops:
            self._post(ops)

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))


class BrowserPorts:
    """Engine ports backed by the page or worker: fetch, setTimeout, console, navigator.onLine."""

    def __init__(self, storage: Any = None) -> None:
        import js
        from pyodide.ffi import create_once_callable, to_js

        self.js = js
        self._to_js = to_js
        self._once = create_once_callable
        self.storage = storage if storage is not None else LocalStorage()

    def now_ms(self) -> float:
        return float(self.js.Date.now())

    def random(self) -> float:
        return float(self.js.Math.random())

    def online(self) -> bool:
        return bool(self.js.navigator.onLine)

    def send(self, request: Request, keepalive: bool = False) -> Awaitable[Response]:
        init = {"method": request.method, "headers": request.headers, "mode": "cors", "credentials": "omit",
                "keepalive": keepalive}
        if request.body is not None:
            init["body"] = request.json()
        try:
            promise = self.js.fetch(request.url, self._to_js(init, dict_converter=self.js.Object.fromEntries))
        except Exception as exc:  # fetch threw synchronously (bad URL, CSP connect-src)
            return _failed(NetworkError(str(exc)))
        return _answer(promise)

    def spawn(self, coro: Awaitable[Any]) -> None:
        asyncio.ensure_future(coro)

    def schedule(self, delay_ms: float, callback: Callable[[], None]) -> Any:
        return self.js.setTimeout(self._once(callback), max(0, int(delay_ms)))

    def cancel(self, handle: Any) -> None:
        self.js.clearTimeout(handle)

    def log(self, level: str, message: str) -> None:
        getattr(self.js.console, level if level in ("error", "warn", "info", "debug") else "log")(message)


async def _failed(exc: Exception) -> Response:
    raise exc


async def _answer(promise: Any) -> Response:
    try:
        resp = await promise
        text = await resp.text()
    except Exception as exc:  # JsException: TypeError "Failed to fetch" (offline, CORS, reset)
        raise NetworkError(str(exc)) from None
    headers = {}
    retry_after = resp.headers.get("retry-after")
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return Response(int(resp.status), headers, str(text))


class BrowserDestination:
    """What the JS glue holds: hand over stored events, flush, read counters."""

    def __init__(self, settings: Settings | None, engine: Engine | None, error: str | None = None):
        self.settings = settings
        self.engine = engine
        self.error = error
        self._proxies: list[Any] = []

    def accept(self, batch: Any) -> None:
        """``batch``: JS array of [key, json, memoryOnly] the glue stored; never raises into the page."""
        if self.engine is None:
            return  # settings are broken: events stay stored for a page with working settings
        try:
            records = batch.to_py() if hasattr(batch, "to_py") else batch
            records = [(str(k), None if t is None else str(t), bool(m)) for k, t, m in records]
            storage = self.engine.ports.storage
            if isinstance(storage, MirroredStorage):  # the page stored these; keep the worker's copy true
                storage.data.update({k: t for k, t, m in records if t is not None and not m})
            self.engine.accept(records)
        except Exception as exc:
            self.engine.ports.log("error", f"Customer.io: could not take events ({type(exc).__name__}: {exc})")

    async def flush(self) -> Any:
        if self.engine is None:
            return None
        stats = await self.engine.flush()
        return json.dumps(stats)

    def kick(self) -> None:
        if self.engine is not None:
            self.engine.kick()

    def leave(self) -> None:
        if self.engine is not None:
            self.engine.on_page_leave()

    def mirror(self, key: str, value: str | None) -> None:
        """Worker mode: another tab changed a key of ours; keep the mirror true and take new events."""
        if self.engine is None or not isinstance(self.engine.ports.storage, MirroredStorage):
            return
        data = self.engine.ports.storage.data
        if value is None:
            data.pop(str(key), None)
        else:
            data[str(key)] = str(value)
            if str(key).startswith(self.engine.ns + ":in:"):
                self.accept([(str(key), str(value), False)])

    def stats_json(self) -> str:
        if self.engine is None:
            return json.dumps({"error": self.error})
        return json.dumps(self.engine.stats())

    def aside_json(self) -> str:
        return json.dumps(self.engine.set_aside_records() if self.engine else [], ensure_ascii=False)

    def clear(self) -> None:
        if self.engine is not None:
            self.engine.clear()


def _parse(settings_json: Any, origin: str) -> Settings:
    raw = json.loads(settings_json) if isinstance(settings_json, str) else settings_json
    endpoint = raw.get("endpoint") if isinstance(raw, dict) else None
    if isinstance(endpoint, str) and endpoint.startswith("/"):
        # a path on the page's own origin (a first-party proxy such as "/cio")
        raw = {**raw, "endpoint": origin + endpoint}
    return Settings.from_dict(raw)


def _make(settings_json: Any, storage: Any = None) -> BrowserDestination:
    """Settings + engine, or a destination that keeps events but reports its settings error once."""
    import js

    try:
        settings = _parse(settings_json, str(js.location.origin))
    except (SettingsError, ValueError) as exc:
        message = str(exc) if isinstance(exc, SettingsError) else f"Customer.io settings: {exc}"
        js.console.error(message + ". Events are kept in this browser and sent once the settings are fixed.")
        return BrowserDestination(None, None, message)
    ports = BrowserPorts(storage)
    if not settings.enabled:
        Engine(settings, ports, leader=False).clear()
        return BrowserDestination(settings, None, "disabled")
    has_locks = bool(getattr(js.navigator, "locks", None))
    return BrowserDestination(settings, Engine(settings, ports, leader=not has_locks))


def _listen(dest: BrowserDestination, target: Any, name: str, fn: Callable[[Any], Any]) -> None:
    from pyodide.ffi import create_proxy

    proxy = create_proxy(fn)
    dest._proxies.append(proxy)
    target.addEventListener(name, proxy)


def _lead(dest: BrowserDestination) -> None:
    """Deliver only while holding the origin's Web Lock: one tab sends, the next takes over when it closes."""
    import js
    from pyodide.ffi import create_proxy

    engine = dest.engine
    assert engine is not None
    if not getattr(js.navigator, "locks", None):
        engine.resume()
        return

    def hold(lock: Any) -> Any:
        engine.become_leader()
        return js.Promise.new(create_proxy(lambda resolve, reject: None))  # held until the page goes away

    proxy = create_proxy(hold)
    dest._proxies.append(proxy)
    js.navigator.locks.request(engine.ns + ":sender", proxy)


def start(settings_json: str, glue: Any = None) -> BrowserDestination:
    """Boot the destination on the page's main thread (called once by the JS glue after Pyodide is ready)."""
    import js

    dest = _make(settings_json)
    engine = dest.engine
    if engine is None:
        return dest
    prefix = engine.ns + ":in:"

    def on_storage(ev: Any) -> None:
        key = ev.key
        if engine.leader and key is not None and str(key).startswith(prefix) and ev.newValue is not None:
            engine.accept([(str(key), str(ev.newValue), False)])

    _listen(dest, js.window, "storage", on_storage)
    _listen(dest, js.window, "online", lambda ev: engine.kick())
    _listen(dest, js.window, "pagehide", lambda ev: engine.on_page_leave())
    _listen(dest, js.document, "visibilitychange",
            lambda ev: engine.on_page_leave() if js.document.visibilityState == "hidden" else None)
    _lead(dest)
    return dest


def start_worker(settings_json: str, storage_json: str, post: Any) -> BrowserDestination:
    """Boot the destination inside a Web Worker; ``post`` sends storage writes back to the page."""
    import js
    from pyodide.ffi import create_once_callable, to_js

    def send(ops: list[list[str | None]]) -> None:
        post(to_js({"type": "storage", "ops": ops}, dict_converter=js.Object.fromEntries))

    def defer(fn: Callable[[], None]) -> None:
        js.setTimeout(create_once_callable(fn), 0)

    dest = _make(settings_json, MirroredStorage(json.loads(storage_json), send, defer))
    if dest.engine is not None:
        engine = dest.engine
        _listen(dest, js.self, "online", lambda ev: engine.kick())
        _hand_over_leave_plan(engine, post, defer)
        _lead(dest)
    return dest


def _hand_over_leave_plan(engine: Engine, post: Any, defer: Callable[[Callable[[], None]], None]) -> None:
    """Worker mode: post the page the requests it should send itself on ``pagehide`` (at most once per task)."""
    import js
    from pyodide.ffi import to_js

    state = {"queued": False, "last": None}

    def publish() -> None:
        state["queued"] = False
        plan = json.dumps(engine.leave_plan())
        if plan != state["last"]:
            state["last"] = plan
            post(to_js({"type": "leave-plan", "requests": plan}, dict_converter=js.Object.fromEntries))

    def changed() -> None:
        if not state["queued"]:
            state["queued"] = True
            defer(publish)

    engine.leave_listener = changed


def install(settings: Any, analytics: Any = None) -> BrowserDestination:
    """PyScript entry point: build the ``Customer.io`` destination in Python and register it.

    Events are stored with the same keys the JS glue uses, so both paths share one queue format.
    """
    import js
    from pyodide.ffi import create_proxy, to_js

    if isinstance(settings, Settings):
        raw = settings.to_dict()
    else:
        raw = settings.to_py() if hasattr(settings, "to_py") else dict(settings)
    dest = start(json.dumps(raw))
    ns = dest.settings.storage_namespace if dest.settings else "cio_browser:v1:proxy"
    counter = {"seq": 0}

    def keep(ctx: Any) -> Any:
        try:
            if dest.engine is None and dest.error == "disabled":
                return ctx
            try:
                text = str(js.JSON.stringify(ctx.event))
            except Exception as exc:
                text = json.dumps({"__cio_unserializable": str(exc), "event": None})
            key = new_key(ns, float(js.Date.now()), counter["seq"], float(js.Math.random()))
            counter["seq"] += 1
            try:
                js.localStorage.setItem(key, text)
                memory_only = False
            except Exception:
                memory_only = True
            dest.accept([(key, text, memory_only)])
        except Exception as exc:
            js.console.error(f"Customer.io: could not keep an event ({exc})")
        return ctx

    keep_proxy = create_proxy(keep)
    methods = {m: keep_proxy for m in ("track", "identify", "page", "screen", "group", "alias")}
    plugin = to_js({"name": PLUGIN_NAME, "type": "destination", "version": "0.1.0",
                    "isLoaded": create_proxy(lambda *a: True),
                    "load": create_proxy(lambda *a: js.Promise.resolve(None)), **methods},
                   dict_converter=js.Object.fromEntries)
    dest._proxies.extend([keep_proxy, plugin])
    target = analytics if analytics is not None else js.window.analytics
    target.register(plugin)
    return dest

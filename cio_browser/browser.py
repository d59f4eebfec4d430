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

__all__ = ["BrowserDestination", "install", "start"]


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


class BrowserPorts:
    """Engine ports backed by the page: fetch, setTimeout, console, navigator.onLine."""

    def __init__(self) -> None:
        import js
        from pyodide.ffi import create_once_callable, to_js

        self.js = js
        self._to_js = to_js
        self._once = create_once_callable
        self.storage = LocalStorage()

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
            self.engine.accept([(str(k), None if t is None else str(t), bool(m)) for k, t, m in records])
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

    def stats_json(self) -> str:
        if self.engine is None:
            return json.dumps({"error": self.error})
        return json.dumps(self.engine.stats())

    def aside_json(self) -> str:
        return json.dumps(self.engine.aside if self.engine else [], ensure_ascii=False)

    def clear(self) -> None:
        if self.engine is not None:
            self.engine.clear()


def start(settings_json: str, glue: Any = None) -> BrowserDestination:
    """Boot the destination for this page (called once by the JS glue after Pyodide is ready)."""
    import js
    from pyodide.ffi import create_proxy

    try:
        raw = json.loads(settings_json) if isinstance(settings_json, str) else settings_json
        endpoint = raw.get("endpoint") if isinstance(raw, dict) else None
        if isinstance(endpoint, str) and endpoint.startswith("/"):
            # a path on the page's own origin (a first-party proxy such as "/cio")
            raw = {**raw, "endpoint": str(js.location.origin) + endpoint}
        settings = Settings.from_dict(raw)
    except (SettingsError, ValueError) as exc:
        message = str(exc) if isinstance(exc, SettingsError) else f"Customer.io settings: {exc}"
        js.console.error(message + ". Events are kept in this browser and sent once the settings are fixed.")
        return BrowserDestination(None, None, message)
    ports = BrowserPorts()
    if not settings.enabled:
        engine = Engine(settings, ports, leader=False)
        engine.clear()
        return BrowserDestination(settings, None, "disabled")
    has_locks = bool(getattr(js.navigator, "locks", None))
    engine = Engine(settings, ports, leader=not has_locks)
    dest = BrowserDestination(settings, engine)
    prefix = settings.storage_namespace + ":in:"

    def on_storage(ev: Any) -> None:
        key = ev.key
        if engine.leader and key is not None and str(key).startswith(prefix) and ev.newValue is not None:
            engine.accept([(str(key), str(ev.newValue), False)])

    listeners = {
        "storage": on_storage,
        "online": lambda ev: engine.kick(),
        "pagehide": lambda ev: engine.on_page_leave(),
        "visibilitychange": lambda ev: engine.on_page_leave() if js.document.visibilityState == "hidden" else None,
    }
    for name, fn in listeners.items():
        proxy = create_proxy(fn)
        dest._proxies.append(proxy)
        target = js.document if name == "visibilitychange" else js.window
        target.addEventListener(name, proxy)
    if has_locks:
        # One tab per origin delivers; the lock is held until the page goes away, then the next tab gets it.
        def hold(lock: Any) -> Any:
            engine.become_leader()
            return js.Promise.new(create_proxy(lambda resolve, reject: None))

        proxy = create_proxy(hold)
        dest._proxies.append(proxy)
        js.navigator.locks.request(settings.storage_namespace + ":sender", proxy)
    else:
        engine.resume()
    return dest


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

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

from .config import Config
from .config import load as load_config
from .delivery.engine import Engine, NetworkError, Response
from .delivery.inventory import Inventory
from .layout import LOCK, inbox_key
from .preview import check_settings, mask_headers, preview, request_fingerprints
from .request import Request
from .settings import Settings, SettingsError, canonical_name, namespace_of

#: Requests kept in the page's request log (newest last) for the Event Tester and debugging.
REQUEST_LOG_SIZE = 300
#: A worker that outlives its page (page_left) waits this long for the delivery lock before it ends: the lock is
#: granted within milliseconds when it is free; when another tab holds it, that tab delivers our events.
LEAD_GRACE_MS = 1000
#: ... and delivers for at most this long. Chromium keeps such a worker alive for about 30 s; what is still due
#: after this (a Retry-After, a back-off) stays stored for the next page.
OUTLIVE_MS = 20_000
#: ... then waits this long for the tab's next page of this site to take it over (page_back) before it ends: a
#: visitor's next page is then ready at once and removes from storage what this worker delivered meanwhile.
REUSE_WAIT_MS = 5_000

__all__ = ["BrowserDestination", "MirroredStorage", "install", "start", "start_worker"]


class LocalStorage:
    """:class:`~cio_browser.delivery.storage.Storage` over ``window.localStorage``."""

    def __init__(self) -> None:
        import js

        self._ls = js.localStorage
        self._keys = js.Object.keys

    def get(self, key: str) -> str | None:
        value = self._ls.getItem(key)   # null for a missing key: JsNull, which is not None
        return None if _absent(value) else str(value)

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


class RequestLog:
    """The requests this destination really sent and what came back, key masked (``cioBrowser.requests()``).

    Why here and not at the endpoint: it shows exactly what left the browser, whether requests go to
    Customer.io, a relay or the local endpoint, and each entry names its items (:func:`request_fingerprints`)
    so a tool can link it to the call that caused it.
    """

    def __init__(self, size: int = REQUEST_LOG_SIZE) -> None:
        self.size = size
        self.entries: list[dict[str, Any]] = []
        self.seq = 0

    def sent(self, request: Request, at_ms: float, keepalive: bool) -> dict[str, Any]:
        self.seq += 1
        entry = {"seq": self.seq, "at": at_ms, "method": request.method, "url": request.url,
                 "headers": mask_headers(dict(request.headers)), "body": request.body, "keepalive": keepalive,
                 "items": request_fingerprints(request.method, request.url, request.body),
                 "status": None, "answer": None, "error": None}
        self.entries.append(entry)
        del self.entries[: max(0, len(self.entries) - self.size)]
        return entry

    def since(self, seq: int) -> list[dict[str, Any]]:
        """Entries with ``seq`` above the given one (a tool re-asks from its oldest unanswered entry)."""
        return [e for e in self.entries if e["seq"] > seq]


class JsArchive:
    """:class:`~cio_browser.delivery.engine.Archive` over www/cio-store.mjs (IndexedDB), handed in by the glue."""

    def __init__(self, store: Any) -> None:
        self._store = store

    async def put(self, key: str, value: str) -> bool:
        return bool(await self._store.put(key, value))

    async def get(self, key: str) -> str | None:
        value = await self._store.get(key)
        return None if _absent(value) else str(value)

    async def keys(self, prefix: str) -> list[str]:
        found = await self._store.keys(prefix)
        return sorted(str(k) for k in (found.to_py() if hasattr(found, "to_py") else found))

    async def remove(self, key: str) -> bool:
        """Drop a record ("send again" took it back into the queue)."""
        return bool(await self._store.remove(key))


class BrowserPorts:
    """Engine ports backed by the page or worker: fetch, setTimeout, console, navigator.onLine, IndexedDB."""

    def __init__(self, storage: Any = None, archive: Any = None, relay_fetch: Any = None) -> None:
        import js
        from pyodide.ffi import create_once_callable, to_js

        self.js = js
        self._to_js = to_js
        self._once = create_once_callable
        self.storage = storage if storage is not None else LocalStorage()
        self.archive = JsArchive(archive) if archive is not None else None
        self._relay_fetch = relay_fetch  # main-thread boot: the glue's fetch-in-a-worker (www/cio-fetch.mjs)
        self.requests = RequestLog()

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
        entry = self.requests.sent(request, self.now_ms(), keepalive)
        if self._relay_fetch is not None and not keepalive:   # keepalive must leave from the page itself
            try:
                return _relayed(self._relay_fetch(request.url, self._to_js(
                    init, dict_converter=self.js.Object.fromEntries)), entry)
            except Exception:
                pass  # fall back to the page's own fetch
        try:
            promise = self.js.fetch(request.url, self._to_js(init, dict_converter=self.js.Object.fromEntries))
        except Exception as exc:  # fetch threw synchronously (bad URL, CSP connect-src)
            entry.update(status=0, error=str(exc))
            return _failed(NetworkError(str(exc)))
        return _answer(promise, entry)

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


async def _relayed(promise: Any, entry: dict[str, Any]) -> Response:
    """The answer www/cio-fetch.mjs posted back: {status, retryAfter, text} or {error}."""
    answer = await promise
    error = getattr(answer, "error", None)
    if not _absent(error):
        entry.update(status=0, error=str(error))
        raise NetworkError(str(error))
    headers = {}
    retry_after = getattr(answer, "retryAfter", None)
    if not _absent(retry_after):
        headers["retry-after"] = str(retry_after)
    entry.update(status=int(answer.status), answer=str(answer.text), retry_after=headers.get("retry-after"))
    return Response(int(answer.status), headers, str(answer.text))


async def _answer(promise: Any, entry: dict[str, Any]) -> Response:
    try:
        resp = await promise
        text = await resp.text()
    except Exception as exc:  # JsException: TypeError "Failed to fetch" (offline, CORS, reset)
        entry.update(status=0, error=str(exc))
        raise NetworkError(str(exc)) from None
    headers = {}
    retry_after = resp.headers.get("retry-after")
    if isinstance(retry_after, str):  # JS null arrives as pyodide's jsnull, not None
        headers["retry-after"] = retry_after
    entry.update(status=int(resp.status), answer=str(text), retry_after=headers.get("retry-after"))
    return Response(int(resp.status), headers, str(text))


class BrowserDestination:
    """What the JS glue holds: hand over stored events, flush, read counters."""

    def __init__(self, settings: Settings | None, engine: Engine | None, error: str | None = None,
                 inventory: Inventory | None = None):
        self.settings = settings
        self.engine = engine
        self.error = error
        self.inventory = inventory   # without an engine: what is stored, for stats() and setAside()
        self._proxies: list[Any] = []
        self._release_lead: list[Any] = []   # resolving these gives the delivery lock back (worker mode)
        self._lock_request: Any = None      # AbortController of a lock request not granted yet
        self._leaving = False
        self._visit = 0                     # pages this worker has served (page_back counts them)

    def accept(self, batch: Any) -> None:
        """``batch``: JS array of [key, json, memoryOnly] the glue stored; never raises into the page."""
        try:
            records = batch.to_py() if hasattr(batch, "to_py") else batch
            records = [(str(k), None if _absent(t) else str(t), bool(m)) for k, t, m in records]
            storage = self.engine.ports.storage if self.engine else getattr(self.inventory, "storage", None)
            if isinstance(storage, MirroredStorage):  # the page stored these; keep the worker's copy true
                storage.data.update({k: t for k, t, m in records if t is not None and not m})
            if self.engine is None:
                return  # settings are broken: events stay stored for a page with working settings
            self.engine.accept(records)
        except Exception as exc:
            import js

            js.console.error(f"Customer.io: could not take events ({type(exc).__name__}: {exc})")

    async def flush(self) -> Any:
        if self.engine is None:
            return None
        stats = await self.engine.flush()
        return json.dumps(stats)

    def kick(self) -> None:
        """The page is back online (the glue forwards the page's ``online`` event to the worker)."""
        if self.engine is not None:
            self.engine.back_online()

    def leave(self) -> None:
        if self.engine is not None:
            self.engine.on_page_leave()

    def page_left(self) -> None:
        """Worker mode, the page is gone but this worker lives on (a SharedWorker with an extended lifetime).

        Deliver what this worker holds (its page's events, and what was stored before), then give the delivery
        lock back so another tab can lead, and wait :data:`REUSE_WAIT_MS` for the tab's next page to take this
        worker over (:meth:`page_back`); if none does, end the worker. Whatever is not delivered by then stays
        in storage and goes out from the next page, with the same ids.
        """
        if not self._leaving:
            self._leaving = True
            asyncio.ensure_future(self._outlive(self._visit))

    async def _outlive(self, visit: int) -> None:
        import js

        engine = self.engine
        try:
            if engine is not None and not engine.blocked:
                waited = 0
                while not engine.leader and waited < LEAD_GRACE_MS and self._visit == visit:
                    await asyncio.sleep(0.05)
                    waited += 50
                if engine.leader and self._visit == visit:
                    await engine.flush(timeout_ms=OUTLIVE_MS)
        finally:
            if self._visit == visit:   # no page took this worker over while it delivered
                self._give_back_lead()
        await asyncio.sleep(REUSE_WAIT_MS / 1000)
        if self._visit == visit:
            js.self.close()

    def _give_back_lead(self) -> None:
        if self._lock_request is not None:
            self._lock_request.abort()
            self._lock_request = None
        for release in self._release_lead:
            release()
        self._release_lead.clear()
        if self.engine is not None:
            self.engine.step_down()

    def page_back(self, storage_json: str) -> None:
        """Worker mode: the tab's next page took this worker over (same name, same settings) after its page left.

        ``storage_json``: that page's storage as it will be once it has applied the writes this worker made while
        no page was there (the JS glue sends those first). Events it holds that this worker does not know (stored
        by other tabs meanwhile, or by the new page before it connected) are taken; then the worker leads again
        when the delivery lock is free, as on a fresh boot.
        """
        self._visit += 1
        self._leaving = False
        engine = self.engine
        if engine is None or not isinstance(engine.ports.storage, MirroredStorage):
            return
        truth = json.loads(storage_json)
        data = engine.ports.storage.data
        for key in [k for k in data if k not in truth]:
            self.mirror(key, None)
        for key, value in truth.items():
            if data.get(key) != value:
                self.mirror(key, value)
        if not self._release_lead and self._lock_request is None:
            _lead(self)
        engine.unblock()   # a new page tries refused settings again, as a reload did

    def mirror(self, key: str, value: str | None) -> None:
        """Worker mode: another tab changed a key of ours; keep the mirror true and take new events."""
        if self.engine is None or not isinstance(self.engine.ports.storage, MirroredStorage):
            return
        data = self.engine.ports.storage.data
        if _absent(value):   # removed: JavaScript's null, which must not become the text "jsnull"
            data.pop(str(key), None)
        else:
            data[str(key)] = str(value)
            if str(key).startswith(self.engine.ns + ":in:"):
                self.accept([(str(key), str(value), False)])

    def stats_json(self) -> str:
        """The engine's counters; without an engine (settings invalid or delivery off) the same counters, zero
        except what is stored, plus the error."""
        if self.engine is not None:
            return json.dumps(self.engine.stats())
        stats = Engine.idle_stats()
        if self.inventory is not None:
            stats.update(self.inventory.counts())
        stats["error"] = self.error
        return json.dumps(stats)

    async def aside_json(self) -> str:
        if self.engine is not None:
            records = await self.engine.set_aside_records()
        else:
            records = self.inventory.records() if self.inventory is not None else []
        return json.dumps(records, ensure_ascii=False)

    def clear(self) -> None:
        if self.engine is not None:
            self.engine.clear()

    # ---- tools (the Event Tester, a site's own debugging): JSON strings in and out --------------------------
    def preview_json(self, event_json: str, settings_json: str = "") -> str:
        """``cioBrowser.preview(event[, settings])``: matched actions, payloads and requests; sends nothing.

        Without ``settings`` it uses the running settings; with them, settings not applied yet (the tester's
        editor), made absolute against this page's origin as at start-up.
        """
        import js

        try:
            settings = (_parse(settings_json, str(js.location.origin)).settings if settings_json
                        else self.settings)
        except (SettingsError, ValueError) as exc:
            return json.dumps({"settings_error": str(exc)})
        if settings is None:
            return json.dumps({"settings_error": self.error})
        try:
            event = json.loads(event_json)
            return json.dumps(preview(event, settings, now_ms=int(js.Date.now())), ensure_ascii=False)
        except Exception as exc:  # a tool call must answer, never throw into the page
            return json.dumps({"error": f"{type(exc).__name__}: {exc}"})

    def check_settings_json(self, settings_json: str) -> str:
        """``cioBrowser.checkSettings(settings)``: every problem, as start-up would report them."""
        import js

        try:
            raw = json.loads(settings_json)
        except ValueError as exc:
            return json.dumps({"ok": False, "problems": [f"not valid JSON: {exc}"], "settings": None})
        return json.dumps(check_settings(_absolute(raw, str(js.location.origin))), ensure_ascii=False)

    def requests_json(self, since: str = "0") -> str:
        """``cioBrowser.requests(since)``: requests sent by this page's destination, key masked."""
        if self.engine is None or not isinstance(getattr(self.engine.ports, "requests", None), RequestLog):
            return "[]"
        return json.dumps(self.engine.ports.requests.since(int(since or 0)), ensure_ascii=False)

    async def resend_json(self, ids_json: str) -> str:
        """``cioBrowser.resend([id, …])``: set-aside records (their ``id``) go back into the queue as new stored
        events, mapped again with the running settings. Answers ``{"resent": n, "kept": [reasons]}``."""
        if self.engine is None:
            return json.dumps({"resent": 0, "kept": [f"the settings are not usable: {self.error}"]})
        engine = self.engine
        resent, kept = 0, []
        for record_id in json.loads(ids_json):
            text = await engine.take_back(str(record_id))
            if text is None:
                kept.append(f"{record_id}: no such set-aside record in this workspace")
                continue
            key = inbox_key(engine.ns, engine.ports.now_ms(), resent, engine.ports.random())
            engine.ports.storage.set(key, text)
            engine.accept([(key, text, False)])
            resent += 1
        return json.dumps({"resent": resent, "kept": kept})


def _absolute(raw: Any, origin: str) -> Any:
    """Settings with URL paths on the page's own origin made absolute (a first-party proxy or relay, "/cio")."""
    for name in ("endpoint", "relay"):
        value = raw.get(name) if isinstance(raw, dict) else None
        if isinstance(value, str) and value.startswith("/"):
            raw = {**raw, name: origin + value}
    return raw


def _namespace_of(settings_json: Any) -> str:
    """The namespace the glue stored under for settings Python could not accept (settings.namespace_of)."""
    try:
        raw = json.loads(settings_json) if isinstance(settings_json, str) else settings_json
    except ValueError:
        raw = None
    return namespace_of(raw)


def _parse(settings_json: Any, origin: str) -> Config:
    raw = json.loads(settings_json) if isinstance(settings_json, str) else settings_json
    return load_config(_absolute(raw, origin))


def _absent(value: Any) -> bool:
    """None, or JavaScript's null (which newer Pyodide versions hand over as a ``JsNull`` object)."""
    return value is None or type(value).__name__ == "JsNull"


def _glue(glue: Any, name: str) -> Any:
    value = getattr(glue, name, None) if glue is not None else None
    return None if _absent(value) else value


def _make(settings_json: Any, storage: Any = None, glue: Any = None) -> BrowserDestination:
    """Settings + engine, or a destination that keeps events but reports its settings error once.

    ``glue`` (from the JS loader): ``archive`` (www/cio-store.mjs, IndexedDB) and ``settingsError`` (the
    loader could not even parse data-settings; it has said so on the console, without echoing the text).
    """
    import js

    storage = storage if storage is not None else LocalStorage()
    glue_error = _glue(glue, "settingsError")
    try:
        if glue_error is not None:
            raise SettingsError([str(glue_error)])
        config = _parse(settings_json, str(js.location.origin))
    except (SettingsError, ValueError) as exc:
        message = str(exc) if isinstance(exc, SettingsError) else f"Customer.io settings: {exc}"
        if glue_error is None:
            js.console.error(message + ". Events are kept in this browser and sent once the settings are fixed.")
        return BrowserDestination(None, None, message, inventory=Inventory(storage, _namespace_of(settings_json)))
    settings = config.settings
    for note in config.notes:
        js.console.warn(note)
    ports = BrowserPorts(storage, _glue(glue, "archive"), _glue(glue, "fetch"))
    if not settings.enabled:
        Engine(settings, ports, leader=False, subscriptions=config.subscriptions).clear()
        return BrowserDestination(settings, None, "disabled")
    has_locks = bool(getattr(js.navigator, "locks", None))
    return BrowserDestination(settings, Engine(settings, ports, leader=not has_locks,
                                               subscriptions=config.subscriptions))


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
        engine.become_leader()   # no Web Locks: every page delivers (and a worker taken over leads again)
        return

    def hold(lock: Any) -> Any:
        dest._lock_request = None
        engine.become_leader()
        # held until the page goes away, or until page_left() has delivered what this worker holds
        return js.Promise.new(create_proxy(lambda resolve, reject: dest._release_lead.append(resolve)))

    proxy = create_proxy(hold)
    dest._proxies.append(proxy)
    # abortable while not granted: a worker whose page left must not start leading afterwards (page_left)
    dest._lock_request = js.AbortController.new()
    options = js.Object.fromEntries(js.Array.of(js.Array.of("signal", dest._lock_request.signal)))
    js.navigator.locks.request(engine.ns + LOCK, options, proxy).catch(_ignore)


def _ignore(reason: Any) -> None:
    """A lock request given up on (AbortError): nothing to do."""


def start(settings_json: str, glue: Any = None) -> BrowserDestination:
    """Boot the destination on the page's main thread (called once by the JS glue after Pyodide is ready)."""
    import js

    dest = _make(settings_json, glue=glue)
    engine = dest.engine
    if engine is None:
        return dest
    prefix = engine.ns + ":in:"

    def on_storage(ev: Any) -> None:
        key = ev.key
        if engine.leader and not _absent(key) and str(key).startswith(prefix) and not _absent(ev.newValue):
            engine.accept([(str(key), str(ev.newValue), False)])

    _listen(dest, js.window, "storage", on_storage)
    _listen(dest, js.window, "online", lambda ev: engine.back_online())
    _listen(dest, js.window, "pagehide", lambda ev: engine.on_page_leave())
    _listen(dest, js.document, "visibilitychange",
            lambda ev: engine.on_page_leave() if js.document.visibilityState == "hidden" else None)
    _lead(dest)
    return dest


def start_worker(settings_json: str, storage_json: str, post: Any, glue: Any = None) -> BrowserDestination:
    """Boot the destination inside a Web Worker; ``post`` sends storage writes back to the page.

    ``glue.outlives``: the worker is one that may outlive its page (see :meth:`BrowserDestination.page_left`), so
    the page sends nothing itself when it leaves and needs no leave plan.
    """
    import js
    from pyodide.ffi import create_once_callable, to_js

    def send(ops: list[list[str | None]]) -> None:
        post(to_js({"type": "storage", "ops": ops}, dict_converter=js.Object.fromEntries))

    def defer(fn: Callable[[], None]) -> None:
        js.setTimeout(create_once_callable(fn), 0)

    dest = _make(settings_json, MirroredStorage(json.loads(storage_json), send, defer), glue)
    if dest.engine is not None:
        engine = dest.engine
        _listen(dest, js.self, "online", lambda ev: engine.back_online())
        if not _glue(glue, "outlives"):
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


def install(settings: Any, analytics: Any = None, glue_url: str | None = None) -> BrowserDestination:
    """PyScript entry point: run the ``Customer.io`` destination in this page's Python.

    The plugin itself (storing each event, opt-out, the unserialisable-event marker, the storage-full message) is
    the JS glue's, not a second copy: this adds ``cio-browser.js`` (``glue_url``, default ``/cio-browser.js`` on
    the page's origin) with ``data-boot="external"`` and, once it has run, attaches this destination to it. The
    glue registers the plugin with ``window.analytics`` (or with ``analytics`` when one is passed).
    """
    import js
    from pyodide.ffi import create_once_callable, create_proxy

    if isinstance(settings, Settings):
        raw = settings.to_dict(include_api_key=True)   # checked at start-up like any dict
    else:
        raw = settings.to_py() if hasattr(settings, "to_py") else dict(settings)
    dest = start(json.dumps(raw))
    handle = create_proxy(dest)
    dest._proxies.append(handle)
    script = js.document.createElement("script")
    script.src = glue_url or str(js.location.origin) + "/cio-browser.js"
    # The glue needs the site (its namespace), relay and enabled, never the key: the DOM is any script's to read.
    script.dataset.settings = json.dumps({k: v for k, v in raw.items() if canonical_name(k) != "api_key"})
    script.dataset.boot = "external"
    if analytics is not None:
        script.dataset.register = "false"

    def loaded(ev: Any) -> None:
        api = js.window.cioBrowser
        if analytics is not None:
            analytics.register(api.plugin)
        api.attach(handle)

    def failed(ev: Any) -> None:
        js.console.error(f"Customer.io: could not load {script.src}; the destination is not registered.")

    script.addEventListener("load", create_once_callable(loaded))
    script.addEventListener("error", create_once_callable(failed))
    js.document.head.appendChild(script)
    return dest

"""The destination's delivery engine: stored events in, Customer.io requests out, nothing lost in between.

Life of an event
----------------
1. The JS glue writes the raw event JSON to storage under ``<ns>:in:<sortkey>`` and hands the key here.
2. :meth:`Engine.accept` maps it (pure mapping, :func:`cio_browser.mapping.map_event`) into items. Items
   Customer.io would refuse, or that are too large, are *set aside*: written to ``<ns>:aside:…`` with the
   reason and reported once on the console. The raw event stays in storage until every item is settled.
3. The send loop batches ready items (count, bytes, time), sends, and classifies the answer
   (:mod:`.policy`): delivered → the event's storage key is removed; retry → exponential backoff with
   jitter, ``Retry-After`` pauses everything; rejected → set aside with Customer.io's message; credentials
   refused → delivery pauses with one clear error, everything kept.
4. A reload re-reads ``<ns>:in:`` keys and maps them again (mapping is deterministic), so a kept event is
   resumed with the same entity ``id`` (its messageId) and Customer.io can de-duplicate a repeat.

Only one tab per origin delivers (the *leader*, chosen by the browser's Web Locks in
:mod:`cio_browser.browser`); other tabs just store, and the leader picks their events up.

All I/O goes through :class:`Ports`, so the engine runs unchanged under CPython tests with fakes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..constants import (
    BATCH_BYTES_BUDGET,
    BATCH_PATH,
    KEEPALIVE_BYTES_BUDGET,
    MAX_ITEM_BYTES,
)
from ..errors import InvalidEvent
from ..mapping import map_event
from ..request import Item, Request, byte_size, encode
from ..settings import Settings
from .policy import Outcome, backoff_ms, classify, retry_after_ms
from .storage import Storage

#: Set-aside records kept in storage at most; older ones are evicted (with a console warning) so a broken
#: site cannot fill the origin's storage quota and stop *new* events from being kept.
MAX_ASIDE_RECORDS = 500
#: Largest raw event copied into a set-aside record (the rest is summarised).
MAX_ASIDE_EVENT_CHARS = 16 * 1024


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""


class NetworkError(Exception):
    """The request got no HTTP answer (offline, DNS, CORS, connection reset)."""


class Ports(Protocol):
    """Everything the engine needs from its host (browser or test)."""

    storage: Storage

    def now_ms(self) -> float: ...
    def random(self) -> float: ...
    def online(self) -> bool: ...
    def send(self, request: Request, keepalive: bool = False) -> Awaitable[Response]:
        """Start the request *now* (synchronously) and return an awaitable of its answer."""
        ...
    def spawn(self, coro: Awaitable[Any]) -> None: ...
    def schedule(self, delay_ms: float, callback: Callable[[], None]) -> Any: ...
    def cancel(self, handle: Any) -> None: ...
    def log(self, level: str, message: str) -> None: ...


@dataclass(eq=False)
class Pending:
    """One mapped item waiting for Customer.io."""

    key: str                  # storage key of the source event
    index: int                # position of the item among the event's items
    item: Item
    size: int                 # UTF-8 bytes of the item's JSON body
    label: str                # human name of the event for console messages
    attempts: int = 0
    not_before: float = 0.0
    inflight: bool = False
    solo: bool = False        # send alone: a batch it was in got an unattributed 400


def new_key(ns: str, now_ms: float, seq: int, rand: float) -> str:
    """Storage key for a new event; sorts by creation time, then by order within this page."""
    return f"{ns}:in:{_b36(int(now_ms)).rjust(9, '0')}-{_b36(seq).rjust(4, '0')}-{_b36(int(rand * 36**6))}"


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def sortkey_ms(key: str) -> float | None:
    """Creation time encoded in a storage key (`…:in:<base36 ms>-…`), or None if the key is foreign."""
    try:
        return float(int(key.rsplit(":", 1)[1].split("-", 1)[0], 36))
    except (IndexError, ValueError):
        return None


def event_label(event: Any) -> str:
    """`track "Signed Up" (messageId ajs-…)`: how console messages name an event."""
    if not isinstance(event, dict):
        return f"event of type {type(event).__name__}"
    kind = event.get("type") if isinstance(event.get("type"), str) else "event"
    name = event.get("event") if kind == "track" else event.get("name")
    mid = event.get("messageId")
    out = kind
    if isinstance(name, str) and name:
        out += f" {json.dumps(name[:80], ensure_ascii=False)}"
    if isinstance(mid, str) and mid:
        out += f" (messageId {mid[:80]})"
    return out


class Engine:
    """Maps, keeps, batches and delivers events for one Customer.io workspace on one origin."""

    def __init__(self, settings: Settings, ports: Ports, *, leader: bool = True):
        self.settings = settings
        self.ports = ports
        self.ns = settings.storage_namespace
        self.leader = leader
        self.pending: list[Pending] = []
        self._open: dict[str, set[int]] = {}       # event key -> item indices not settled yet
        self._memory: dict[str, str] = {}          # events storage refused: kept in this page only
        self._known: set[str] = set()
        self._timer: Any = None
        self._timer_at: float | None = None
        self._sending = False
        self._flushing = False                     # flush(): ignore the batching interval until drained
        self.paused_until = 0.0                    # Retry-After window for the whole workspace
        self.blocked: str | None = None            # credentials/endpoint refused: stop until reload
        self.aside: list[dict[str, Any]] = []
        self.counters: dict[str, int] = {"accepted": 0, "delivered": 0, "requests": 0, "retries": 0}
        self.aside_counts: dict[str, int] = {}
        #: Told (cheaply, no arguments) whenever what :meth:`leave_plan` returns may have changed. Worker mode
        #: uses it to hand the page the mapped requests, which the page sends itself when it is closed.
        self.leave_listener: Callable[[], None] | None = None

    # ---- intake ------------------------------------------------------------------------------------------
    def accept(self, records: list[tuple[str, str | None, bool]]) -> None:
        """Take events the glue stored: (storage key, JSON text, kept-in-memory-only)."""
        for key, text, memory_only in records:
            if memory_only and text is not None:
                self._memory[key] = text
            if not self.leader and not memory_only:
                continue  # the leader tab delivers it; it is safe in shared storage meanwhile
            self._ingest(key, text)
        self._kick()
        self._changed()

    def resume(self) -> None:
        """Pick up every stored event (this page's, earlier pages', other tabs'): on boot and on leadership."""
        for key in self.ports.storage.keys(self.ns + ":in:"):
            self._ingest(key, None)
        for key in list(self._memory):
            self._ingest(key, None)
        self._kick()
        self._changed()

    def become_leader(self) -> None:
        self.leader = True
        self.resume()

    def _ingest(self, key: str, text: str | None) -> None:
        if key in self._known:
            return
        if text is None:
            text = self._memory.get(key)
            if text is None:
                text = self.ports.storage.get(key)
            if text is None:
                return  # another tab's leader already delivered it
        self._known.add(key)
        self.counters["accepted"] += 1
        try:
            event = json.loads(text)
        except (ValueError, RecursionError) as exc:
            self._set_aside_event(key, "event", text, InvalidEvent(f"the event is not valid JSON ({exc})",
                                                                   rule="input"))
            return
        label = event_label(event)
        if isinstance(event, dict) and "__cio_unserializable" in event:
            label = event_label(event.get("event"))
            problem = str(event.get("__cio_unserializable"))
            self._set_aside_event(key, label, text, InvalidEvent(
                f"the event cannot be sent as JSON: {problem}", field=problem.split(":", 1)[0], rule="json"))
            return
        if not isinstance(event, dict):
            self._set_aside_event(key, label, text, InvalidEvent("an event must be a JSON object", rule="input"))
            return
        try:
            result = map_event(event, self.settings, batch=self.settings.batching, now_ms=self.ports.now_ms())
        except InvalidEvent as exc:
            self._set_aside_event(key, label, text, exc)
            return
        except Exception as exc:  # a bug in the mapping must not cost the event or reach the page
            self._set_aside_event(key, label, text, InvalidEvent(
                f"internal mapping error {type(exc).__name__}: {exc}", rule="internal"))
            return
        meta = self._read_meta(key)
        open_items: set[int] = set()
        self._open[key] = open_items
        for exc in result.errors:
            self._report_aside(key, label, text, exc, reason="invalid", index=None)
        for index, item in enumerate(result.items):
            size = byte_size(item.body)
            if self.settings.debug:
                self.ports.log("info", f"Customer.io: {label} -> {item.method} {item.path} {encode(item.body)}")
            if size > MAX_ITEM_BYTES:
                biggest = _largest_member(item.body)
                self._report_aside(key, label, text, InvalidEvent(
                    f"{item.action}: the request body is {size} bytes; Customer.io accepts at most "
                    f"{MAX_ITEM_BYTES} bytes per item (largest field: {biggest})",
                    action=item.action, field=biggest, rule="size"), reason="too_large", index=index)
                continue
            open_items.add(index)
            self.pending.append(Pending(key, index, item, size, label, attempts=meta.get("attempts", 0),
                                        not_before=meta.get("not_before", 0.0)))
        if not open_items:
            self._finish(key)

    # ---- send loop ---------------------------------------------------------------------------------------
    def _kick(self) -> None:
        """Start sending now, or arm one timer for the moment something becomes sendable."""
        if self._sending or not self.leader or self.blocked or not self.ports.online():
            return  # an "online" event calls kick() again
        now = self.ports.now_ms()
        wake = self._next_wake(now)
        if wake is None:
            return
        if wake <= now:
            self._send_next(now)
            return
        if self._timer is not None and self._timer_at is not None and self._timer_at <= wake:
            return
        if self._timer is not None:
            self.ports.cancel(self._timer)
        self._timer_at = wake
        self._timer = self.ports.schedule(wake - now, self._on_timer)

    def kick(self) -> None:
        """Re-evaluate now (the browser came back online, another tab stored an event, a test asks)."""
        self._kick()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._kick()

    def _next_wake(self, now: float) -> float | None:
        """When the next request should go: retries wait for their backoff, fresh items for the flush
        interval (unless a full batch is waiting), everything for a Retry-After window."""
        waiting = [p for p in self.pending if not p.inflight]
        if not waiting:
            return None
        s = self.settings
        fresh = sum(p.attempts == 0 for p in waiting)
        if s.batching and s.flush_interval_ms and not self._flushing and fresh < s.batch_size:
            due = min(max(p.not_before, (sortkey_ms(p.key) or now) + s.flush_interval_ms) if p.attempts == 0
                      else p.not_before for p in waiting)
        else:
            due = min(p.not_before for p in waiting)
        return max(due, self.paused_until)

    def _ready(self, now: float) -> list[Pending]:
        if now < self.paused_until or not self.ports.online():
            return []
        return [p for p in self.pending if not p.inflight and p.not_before <= now]

    def _next_request(self, ready: list[Pending], byte_budget: int) -> tuple[Request, list[Pending]] | None:
        """The next request to send from ``ready`` (in arrival order), within count and byte limits."""
        if not ready:
            return None
        first = ready[0]
        s = self.settings
        if not (s.batching and first.item.batchable and not first.solo):
            return self._single_request(first), [first]
        chosen: list[Pending] = []
        size = len('{"batch":[]}')
        for p in ready:
            if not p.item.batchable or p.solo:
                continue
            extra = p.size + (1 if chosen else 0)
            if chosen and (len(chosen) >= s.batch_size or size + extra > byte_budget):
                break
            chosen.append(p)
            size += extra
        body = {"batch": [p.item.body for p in chosen]}
        return Request("POST", s.base_url + BATCH_PATH, s.headers(), body), chosen

    def _single_request(self, p: Pending) -> Request:
        s = self.settings
        return Request(p.item.method, s.base_url + p.item.path, s.headers(p.item.body is not None), p.item.body)

    def _send_next(self, now: float) -> None:
        """Start the next request right here (no task hop before the fetch: latency), finish it in a task."""
        nxt = self._next_request(self._ready(now), BATCH_BYTES_BUDGET)
        if nxt is None:
            return
        request, batch = nxt
        for p in batch:
            p.inflight = True
        self._sending = True
        self.ports.spawn(self._finish_send(request, batch, self.ports.send(request, False)))

    async def _finish_send(self, request: Request, batch: list[Pending], answer: Awaitable[Response]) -> None:
        try:
            await self._complete(request, batch, answer)
        except Exception as exc:  # never let a bug stop delivery silently
            self.ports.log("error", f"Customer.io: delivery error {type(exc).__name__}: {exc}")
        finally:
            self._sending = False
            self._kick()  # one request at a time: what arrived meanwhile goes in the next batch
            self._changed()

    async def _complete(self, request: Request, batch: list[Pending], answer: Awaitable[Response]) -> None:
        self.counters["requests"] += 1
        try:
            response = await answer
            status = response.status
        except NetworkError as exc:
            response, status = Response(0, {}, str(exc)), 0
        except Exception as exc:
            response, status = Response(0, {}, f"{type(exc).__name__}: {exc}"), 0
        for p in batch:
            p.inflight = False
        outcome = classify(status)
        now = self.ports.now_ms()
        if outcome is Outcome.DELIVERED:
            for p in batch:
                self._settle(p)
            self.counters["delivered"] += len(batch)
        elif outcome is Outcome.RETRY:
            self._retry(batch, response, now)
        elif outcome is Outcome.PAUSE:
            self._pause(status, response)
        elif outcome is Outcome.TOO_LARGE and len(batch) > 1:
            for p in batch:
                p.solo = True
        else:
            self._reject(request, batch, response)

    def _retry(self, batch: list[Pending], response: Response, now: float) -> None:
        self.counters["retries"] += 1
        wait = retry_after_ms(_header(response.headers, "retry-after"), now)
        if wait is not None:
            self.paused_until = max(self.paused_until, now + wait)
        why = f"HTTP {response.status}" if response.status else f"network error ({response.text[:120]})"
        for p in batch:
            p.attempts += 1
            created = sortkey_ms(p.key) or now
            if p.attempts >= self.settings.max_attempts or now - created > self.settings.max_age_ms:
                reason = "max_attempts" if p.attempts >= self.settings.max_attempts else "max_age"
                self._drop_pending(p)
                self._report_aside(p.key, p.label, None, InvalidEvent(
                    f"{p.item.action}: gave up after {p.attempts} attempt(s) over "
                    f"{(now - created) / 1000:.0f} s; last answer: {why}", action=p.item.action, rule=reason),
                    reason=reason, index=p.index)
                continue
            p.not_before = now + max(backoff_ms(p.attempts, self.ports.random()), wait or 0.0)
            self._write_meta(p)

    def _pause(self, status: int, response: Response) -> None:
        kept = len({p.key for p in self.pending})
        if status in (401, 403):
            what = (f"Customer.io refused the credentials (HTTP {status}): check siteId and apiKey, or the proxy "
                    "that adds them")
        else:
            what = f"the Track API endpoint answered HTTP {status}: check accountRegion / endpoint"
        self.blocked = what
        self.ports.log("error", f"Customer.io: {what}. Delivery is paused; {kept} event(s) are kept in this "
                                "browser and will be sent after a reload with working settings.")

    def _reject(self, request: Request, batch: list[Pending], response: Response) -> None:
        message, per_item = _error_details(response)
        if len(batch) == 1:
            p = batch[0]
            self._drop_pending(p)
            self._report_aside(p.key, p.label, None, InvalidEvent(
                f"{p.item.action}: Customer.io answered HTTP {response.status}: {message}",
                action=p.item.action, rule=f"http_{response.status}"), reason="rejected", index=p.index,
                status=response.status)
            return
        if not per_item:
            for p in batch:       # unattributed: find the culprit by sending each item on its own
                p.solo = True
            return
        if not any(0 <= idx < len(batch) for idx in per_item):
            for p in batch:
                p.solo = True
            return
        for idx, text in per_item.items():
            if 0 <= idx < len(batch):
                p = batch[idx]
                self._drop_pending(p)
                self._report_aside(p.key, p.label, None, InvalidEvent(
                    f"{p.item.action}: Customer.io refused it in a batch (HTTP {response.status}): {text}",
                    action=p.item.action, rule=f"http_{response.status}"), reason="rejected", index=p.index,
                    status=response.status)
        # the other items were refused only because they shared the request: they go again at once

    async def flush(self, timeout_ms: float = 10_000, sleep: Callable[[float], Awaitable[Any]] | None = None
                    ) -> dict[str, Any]:
        """Send everything sendable now; resolve when nothing is in flight or due (retries may remain)."""
        import asyncio

        sleep = sleep or (lambda ms: asyncio.sleep(ms / 1000))
        self._flushing = True
        try:
            self._kick()
            deadline = self.ports.now_ms() + timeout_ms
            while self.ports.now_ms() < deadline:
                now = self.ports.now_ms()
                wake = self._next_wake(now)
                busy = self._sending or any(p.inflight for p in self.pending)
                if not busy and (wake is None or wake > now or self.blocked or not self.ports.online()):
                    break
                await sleep(5)
        finally:
            self._flushing = False
        return self.stats()

    # ---- page leave --------------------------------------------------------------------------------------
    def on_page_leave(self) -> None:
        """Send what has never been tried with keepalive (64 KB budget) before the page goes away.

        Items stay in storage until an answer arrives, so if the page really dies they are sent again from
        the next page (entities carry the messageId as ``id`` for Customer.io to de-duplicate).
        """
        if not self.leader or self.blocked or not self.ports.online():
            return
        now = self.ports.now_ms()
        budget = KEEPALIVE_BYTES_BUDGET
        ready = [p for p in self._ready(now) if p.attempts == 0]
        while ready and budget > 0:
            nxt = self._next_request(ready, budget)
            if nxt is None:
                break
            request, batch = nxt
            size = byte_size(request.body) if request.body is not None else 0
            if size > budget:
                break
            budget -= size
            for p in batch:
                p.inflight = True
            ready = [p for p in ready if not p.inflight]
            self.ports.spawn(self._complete(request, batch, self.ports.send(request, True)))

    # ---- page-leave handoff (worker mode) -----------------------------------------------------------------
    def leave_plan(self) -> list[dict[str, Any]]:
        """The requests the page sends itself if it is closed now, within the keepalive budget (64 KB).

        Why: in worker mode the worker dies with the page, and its own requests with it. The page cannot run
        Python, so the worker hands it ready request bodies. Included: items never tried, in flight or not (an
        in-flight request of the worker dies with it), in arrival order. Each request lists ``remove``: the
        storage keys of events whose every open item is in that request, which the page may delete once it
        answers 2xx. Everything else stays stored and is sent again by a later page with the same ``id``.
        """
        if not self.leader or self.blocked or self.ports.now_ms() < self.paused_until:
            return []
        budget = KEEPALIVE_BYTES_BUDGET
        todo = [p for p in self.pending if p.attempts == 0 and p.not_before <= self.ports.now_ms()]
        plan: list[dict[str, Any]] = []
        while todo:
            nxt = self._next_request(todo, budget)
            if nxt is None:
                break
            request, batch = nxt
            body = request.json()
            size = len(body.encode("utf-8")) if body is not None else 0
            if size > budget:
                break
            budget -= size
            taken = {id(p) for p in batch}
            todo = [p for p in todo if id(p) not in taken]
            items: dict[str, set[int]] = {}
            for p in batch:
                items.setdefault(p.key, set()).add(p.index)
            remove = [k for k, idx in items.items() if self._open.get(k) == idx]
            plan.append({"method": request.method, "url": request.url, "headers": request.headers, "body": body,
                         "remove": [x for k in remove for x in (k, self._meta_key(k))]})
        return plan

    def _changed(self) -> None:
        if self.leave_listener is not None:
            self.leave_listener()

    # ---- control -----------------------------------------------------------------------------------------
    def clear(self) -> None:
        """Opt-out: forget every kept event of this workspace (storage and memory)."""
        for prefix in (":in:", ":meta:"):
            for key in self.ports.storage.keys(self.ns + prefix):
                self.ports.storage.remove(key)
        self.pending.clear()
        self._open.clear()
        self._memory.clear()
        self._changed()

    def set_aside_records(self) -> list[dict[str, Any]]:
        """Everything kept aside on this origin (earlier pages included), oldest first."""
        records: dict[str, dict[str, Any]] = {}
        for key in self.ports.storage.keys(self.ns + ":aside:"):
            try:
                records[key] = json.loads(self.ports.storage.get(key) or "")
            except ValueError:
                continue
        stored = {(r.get("key"), r.get("index")) for r in records.values()}
        extra = [r for r in self.aside if (r["key"], r["index"]) not in stored]  # storage was full
        return sorted([*records.values(), *extra], key=lambda r: (r.get("at") or 0, str(r.get("key"))))

    def stats(self) -> dict[str, Any]:
        return {
            **self.counters,
            "pending": len(self.pending),
            "events_open": len(self._open),
            "set_aside": dict(self.aside_counts),
            "leader": self.leader,
            "blocked": self.blocked,
            "paused_ms": max(0.0, self.paused_until - self.ports.now_ms()),
        }

    # ---- bookkeeping -------------------------------------------------------------------------------------
    def _settle(self, p: Pending) -> None:
        self._drop_pending(p)
        items = self._open.get(p.key)
        if items is not None:
            items.discard(p.index)
            if not items:
                self._finish(p.key)

    def _drop_pending(self, p: Pending) -> None:
        try:
            self.pending.remove(p)
        except ValueError:
            pass

    def _finish(self, key: str) -> None:
        self._open.pop(key, None)
        self._memory.pop(key, None)
        self.ports.storage.remove(key)
        self.ports.storage.remove(self._meta_key(key))

    def _meta_key(self, key: str) -> str:
        return self.ns + ":meta:" + key.rsplit(":", 1)[-1]

    def _read_meta(self, key: str) -> dict[str, Any]:
        raw = self.ports.storage.get(self._meta_key(key))
        try:
            meta = json.loads(raw) if raw else {}
        except ValueError:
            meta = {}
        return meta if isinstance(meta, dict) else {}

    def _write_meta(self, p: Pending) -> None:
        self.ports.storage.set(self._meta_key(p.key), json.dumps({"attempts": p.attempts,
                                                                  "not_before": p.not_before}))

    def _set_aside_event(self, key: str, label: str, text: str | None, exc: InvalidEvent) -> None:
        self._open[key] = set()
        self._report_aside(key, label, text, exc, reason="invalid", index=None)
        self._finish(key)

    def _report_aside(self, key: str, label: str, text: str | None, exc: InvalidEvent, *, reason: str,
                      index: int | None, status: int | None = None) -> None:
        """Keep the event aside (storage) with its reason and say so once on the console."""
        if text is None:
            text = self._memory.get(key) or self.ports.storage.get(key) or ""
        where = f" (field '{exc.field}', rule: {exc.rule})" if exc.field else (f" (rule: {exc.rule})" if exc.rule
                                                                               else "")
        message = f"Customer.io: {label} not sent: {exc}{where}. It is kept aside, see cioBrowser.setAside()."
        record = {"key": key, "index": index, "reason": reason, "message": str(exc), "action": exc.action,
                  "field": exc.field, "rule": exc.rule, "status": status, "label": label,
                  "at": self.ports.now_ms(),
                  "event": text if len(text) <= MAX_ASIDE_EVENT_CHARS else
                  text[:MAX_ASIDE_EVENT_CHARS] + f"…[{len(text)} chars in all]"}
        self.aside.append(record)
        self.aside_counts[reason] = self.aside_counts.get(reason, 0) + 1
        aside_key = f"{self.ns}:aside:{key.rsplit(':', 1)[-1]}:{'x' if index is None else index}"
        if not self.ports.storage.set(aside_key, json.dumps(record, ensure_ascii=False)):
            message += " (storage is full: the record is kept in this page only)"
        existing = self.ports.storage.keys(self.ns + ":aside:")
        for old in existing[: max(0, len(existing) - MAX_ASIDE_RECORDS)]:
            self.ports.storage.remove(old)
        self.ports.log("error", message)
        items = self._open.get(key)
        if items is not None and index is not None:
            items.discard(index)
            if not items:
                self._finish(key)


def _header(headers: dict[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


def _error_details(response: Response) -> tuple[str, dict[int, str]]:
    """Customer.io's error text and, for batches, the message per ``batch_index``."""
    try:
        data = json.loads(response.text) if response.text else {}
    except ValueError:
        return (response.text[:300] or "no details"), {}
    if not isinstance(data, dict):
        return str(data)[:300], {}
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    message = str(meta.get("error") or data.get("error") or data.get("message") or "no details")
    per_item: dict[int, str] = {}
    errors = data.get("errors")
    if isinstance(errors, list):
        for e in errors:
            if isinstance(e, dict) and isinstance(e.get("batch_index"), int):
                text = e.get("message") or e.get("reason") or message
                if e.get("field"):
                    text = f"{e['field']}: {text}"
                per_item[e["batch_index"]] = str(text)
    return message, per_item


def _largest_member(body: Any, path: str = "", depth: int = 0) -> str:
    """Dotted path of the biggest member of a body, to tell the site owner what made it too large."""
    if not isinstance(body, dict) or not body or depth > 8:
        return path or "(body)"
    name, value = max(body.items(), key=lambda kv: byte_size(kv[1]))
    return _largest_member(value, f"{path}.{name}" if path else str(name), depth + 1)

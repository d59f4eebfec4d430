"""The destination's delivery engine: stored events in, Customer.io requests out, nothing lost in between.

Life of an event
----------------
1. The JS glue writes the raw event JSON to storage under ``<ns>:in:<sortkey>`` and hands the key here.
2. :meth:`Engine.accept` maps it (pure mapping, :func:`cio_browser.mapping.map_event`) into items. Items
   Customer.io would refuse, or that are too large, are *set aside*: written to ``<ns>:aside:…`` with the
   reason and reported once on the console. The raw event stays in storage until every item is settled.
3. The send loop groups ready items with the one batcher (:mod:`cio_browser.batching`), sends one request at a
   time, and classifies the answer (:mod:`.policy`): delivered → the event's storage key is removed; retry →
   the *queue* backs off (below); rejected → set aside with Customer.io's message; credentials refused →
   delivery pauses with one clear error, everything kept.
4. A reload re-reads ``<ns>:in:`` keys and maps them again (mapping is deterministic), so a kept event is
   resumed with the same entity ``id`` (its messageId) and Customer.io can de-duplicate a repeat.

Calm under failure: a failed request (network error, 408, 429, 5xx) backs off the whole queue, not its items.
One timer waits ``backoff_ms(consecutive failures)`` (or ``Retry-After`` if longer); when it fires, the next
batch goes as the probe; if that succeeds the backoff ends and everything due follows at full batch size, one
request after another. So an outage costs one request per backoff step, however many events are waiting, and a
recovery costs ceil(n / batchSize) requests. The browser's ``online`` event ends a backoff that network errors
caused. The page's console gets one warning per outage, not one line per failed request.

Only one tab per origin delivers (the *leader*, chosen by the browser's Web Locks in
:mod:`cio_browser.browser`); other tabs just store, and the leader picks their events up.

All I/O goes through :class:`Ports`, so the engine runs unchanged under CPython tests with fakes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import layout
from ..batching import next_group
from ..constants import (
    BATCH_BYTES_BUDGET,
    BATCH_PATH,
    KEEPALIVE_BYTES_BUDGET,
    MAX_ITEM_BYTES,
)
from ..errors import InvalidEvent
from ..mapping import CompiledSubscriptions, compile_subscriptions, map_event
from ..request import Item, Request, byte_size, encode
from ..settings import Settings
from .inventory import Inventory
from .policy import Outcome, backoff_ms, classify, retry_after_ms
from .storage import Storage

#: Set-aside records kept in localStorage at most; with an archive (IndexedDB) further ones go there, so a broken
#: site cannot fill the origin's small localStorage quota and stop *new* events from being kept.
MAX_ASIDE_RECORDS = 200
#: A set-aside record larger than this (JSON characters) goes to the archive (IndexedDB) when there is one:
#: localStorage is small (≈5 MB per origin, shared with the site) and the write-ahead path for new events.
LARGE_RECORD_CHARS = 8 * 1024


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""


class NetworkError(Exception):
    """The request got no HTTP answer (offline, DNS, CORS, connection reset)."""


class Archive(Protocol):
    """Roomy asynchronous storage for set-aside records (IndexedDB in the browser). Optional: without one,
    records stay in :class:`Storage`."""

    def put(self, key: str, value: str) -> Awaitable[bool]: ...
    def get(self, key: str) -> Awaitable[str | None]: ...
    def keys(self, prefix: str) -> Awaitable[list[str]]: ...
    def remove(self, key: str) -> Awaitable[bool]: ...


class Ports(Protocol):
    """Everything the engine needs from its host (browser or test)."""

    storage: Storage
    archive: Archive | None

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
    attempts: int = 0         # requests that carried this item and failed (network error, 408, 429, 5xx)
    inflight: bool = False
    alone: bool = False       # send alone: a batch it was in got an unattributed 400


#: Storage key for a new event (the layout module owns the format).
new_key = layout.inbox_key
#: Creation time encoded in a storage key.
sortkey_ms = layout.created_ms


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


def check_stored_event(event: Any) -> tuple[str, InvalidEvent | None]:
    """``(label, problem)`` for one event as the page stored it (parsed JSON), before any mapping.

    The page stores an event it could not serialise as ``{layout.UNSERIALIZABLE: why, "event": …}``; that and
    anything that is not an object are refused here, with the text the console shows. The relay's ``/events``
    runs the same check, so an event refused on the server reads exactly as it would in the page.
    """
    if isinstance(event, dict) and layout.UNSERIALIZABLE in event:
        problem = str(event.get(layout.UNSERIALIZABLE))
        return event_label(event.get("event")), InvalidEvent(
            f"the event cannot be sent as JSON: {problem}", field=problem.split(":", 1)[0], rule="json")
    label = event_label(event)
    if not isinstance(event, dict):
        return label, InvalidEvent("an event must be a JSON object", rule="input")
    return label, None


class Engine:
    """Maps, keeps, batches and delivers events for one Customer.io workspace on one origin."""

    def __init__(self, settings: Settings, ports: Ports, *, leader: bool = True,
                 subscriptions: CompiledSubscriptions | None = None):
        """``subscriptions``: compiled once where the destination is built (:func:`cio_browser.config.load`);
        None means ``settings.subscriptions`` (compiled here, once) or, without those, the presets."""
        self.settings = settings
        if subscriptions is None and settings.subscriptions is not None:
            subscriptions = compile_subscriptions(settings.subscriptions)
        self.subscriptions = subscriptions
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
        self.failures = 0                          # consecutive failed requests (the queue's backoff step)
        self.retry_at = 0.0                        # the queue's backoff: nothing is sent before this
        self._network_down = False                 # the last failure got no HTTP answer at all
        self.blocked: str | None = None            # credentials/endpoint refused: stop until reload
        self.aside: list[dict[str, Any]] = []
        self._archiving: dict[str, int] = {}        # event key -> archive writes not confirmed yet
        self._finish_later: set[str] = set()       # events settled while their record was being archived
        self._full_warned = False
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
        self._read_backoff()
        inventory = Inventory(self.ports.storage, self.ns)
        for key in [*inventory.inbox(), *inventory.strays()]:   # strays: this site under another spelling
            self._ingest(key, None)
        for key in list(self._memory):
            self._ingest(key, None)
        self._kick()
        self._changed()

    def become_leader(self) -> None:
        self.leader = True
        self.resume()

    def unblock(self) -> None:
        """Give refused settings another try: the tab's next page took the worker over, and the pause after a
        401/403/404 lasts until a reload. Still refused, the next request pauses delivery again."""
        if self.blocked is not None:
            self.blocked = None
            self._kick()

    def step_down(self) -> None:
        """Another tab may deliver now (this one gave the delivery lock back): send nothing more. Requests in
        flight finish. Items waiting are forgotten, not kept: the tab that leads now may deliver their events, and
        :meth:`become_leader` reads afresh whatever is still stored (attempts survive in the event's meta)."""
        self.leader = False
        if self._timer is not None:
            self.ports.cancel(self._timer)
        self._timer = None
        self._timer_at = None
        flying = {p.key for p in self.pending if p.inflight}
        for key in {p.key for p in self.pending} - flying:
            self._known.discard(key)
            self._open.pop(key, None)
        self.pending = [p for p in self.pending if p.key in flying]
        self._changed()

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
        label, refused = check_stored_event(event)
        if refused is not None:
            self._set_aside_event(key, label, text, refused)
            return
        try:
            result = map_event(event, self.settings, subscriptions=self.subscriptions,
                               batch=self.settings.batching, now_ms=self.ports.now_ms())
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
        for n, exc in enumerate(result.errors):   # one record per refusing action: each its own key
            self._report_aside(key, label, text, exc, reason="invalid", index=None, slot=f"e{n}")
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
            attempts = meta.get("attempts", 0)
            self.pending.append(Pending(key, index, item, size, label,
                                        attempts=attempts if isinstance(attempts, int) else 0))
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
        """When the next request should go: fresh items wait for the flush interval (unless a full batch is
        waiting), everything waits for the queue's backoff and any Retry-After window."""
        waiting = [p for p in self.pending if not p.inflight]
        if not waiting:
            return None
        s = self.settings
        due = now
        if s.batching and s.flush_interval_ms and not self._flushing and len(waiting) < s.batch_size:
            due = min((sortkey_ms(p.key) or now) + s.flush_interval_ms if p.attempts == 0 else now
                      for p in waiting)
        return max(due, self.paused_until, self.retry_at)

    def _ready(self, now: float) -> list[Pending]:
        if now < max(self.paused_until, self.retry_at) or not self.ports.online():
            return []
        return [p for p in self.pending if not p.inflight]

    def _next_request(self, ready: list[Pending], byte_budget: int) -> tuple[Request, list[Pending]] | None:
        """The next request to send from ``ready`` (in arrival order): the one batcher decides the group."""
        s = self.settings
        group = next_group(ready, batching=s.batching, batch_size=s.batch_size, byte_budget=byte_budget,
                           item_of=lambda p: p.item, size_of=lambda p: p.size, alone=lambda p: p.alone)
        if group is None:
            return None
        if not group.batch:
            return self._single_request(group.entries[0]), group.entries
        body = {"batch": [p.item.body for p in group.entries]}
        return Request("POST", s.base_url + BATCH_PATH, s.headers(), body), group.entries

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
        if outcome is not Outcome.RETRY and outcome is not Outcome.PAUSE:
            self._recovered()
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
                p.alone = True
        else:
            self._reject(request, batch, response)

    def _retry(self, batch: list[Pending], response: Response, now: float) -> None:
        """A failed request backs off the queue (one timer), and counts one attempt for each item it carried."""
        self.counters["retries"] += 1
        wait = retry_after_ms(_header(response.headers, "retry-after"), now)
        if wait is not None:
            self.paused_until = max(self.paused_until, now + wait)
        self.failures += 1
        self._network_down = not response.status
        self.retry_at = now + max(backoff_ms(self.failures, self.ports.random()), wait or 0.0)
        self._write_backoff()
        why = f"HTTP {response.status}" if response.status else f"network error ({response.text[:120]})"
        if self.failures == 1:
            kept = len({p.key for p in self.pending})
            self.ports.log("warn", f"Customer.io: delivery failed ({why}); {kept} event(s) are kept in this browser "
                                   "and retried with growing backoff, one request per attempt.")
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
            self._write_meta(p)

    def _recovered(self) -> None:
        """Customer.io answered: the backoff ends and everything due goes at full batch size."""
        if self.failures:
            self.failures = 0
            self.retry_at = 0.0
            self._network_down = False
            self.ports.storage.remove(self.ns + layout.BACKOFF)

    def back_online(self) -> None:
        """The browser is online again: a backoff that network errors caused ends now (Retry-After stays)."""
        if self._network_down:
            self.retry_at = 0.0
        self._kick()

    def _read_backoff(self) -> None:
        """A reload keeps the queue's backoff (and a Retry-After window): a reload is not a way round them."""
        raw = self.ports.storage.get(self.ns + layout.BACKOFF)
        try:
            state = json.loads(raw) if raw else {}
        except ValueError:
            state = {}
        if not isinstance(state, dict):
            return
        now = self.ports.now_ms()
        failures, retry_at = state.get("failures"), state.get("retry_at")
        if isinstance(failures, int) and isinstance(retry_at, (int, float)) and failures > self.failures:
            self.failures = failures
            # never trust a stored time far in the future (a clock change): at most one capped step away
            self.retry_at = max(self.retry_at, min(float(retry_at), now + backoff_ms(failures, 1.0)))

    def _write_backoff(self) -> None:
        self.ports.storage.set(self.ns + layout.BACKOFF, json.dumps({"failures": self.failures,
                                                                     "retry_at": self.retry_at}))

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
        message, per_item, fields = _error_details(response)
        if len(batch) == 1:
            p = batch[0]
            text = per_item.get(0, message)
            self._drop_pending(p)
            self._report_aside(p.key, p.label, None, InvalidEvent(
                f"{p.item.action}: Customer.io answered HTTP {response.status}: {text}",
                action=p.item.action, field=fields.get(0), rule=f"http_{response.status}"),
                reason="rejected", index=p.index, status=response.status)
            return
        if not per_item or not any(0 <= idx < len(batch) for idx in per_item):
            for p in batch:       # unattributed: find the culprit by sending each item on its own
                p.alone = True
            return
        for idx, text in per_item.items():
            if 0 <= idx < len(batch):
                p = batch[idx]
                self._drop_pending(p)
                self._report_aside(p.key, p.label, None, InvalidEvent(
                    f"{p.item.action}: Customer.io refused it in a batch (HTTP {response.status}): {text}",
                    action=p.item.action, field=fields.get(idx), rule=f"http_{response.status}"),
                    reason="rejected", index=p.index, status=response.status)
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
        if not self.leader or self.blocked or self.ports.now_ms() < max(self.paused_until, self.retry_at):
            return []
        budget = KEEPALIVE_BYTES_BUDGET
        todo = [p for p in self.pending if p.attempts == 0]
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
            todo = [p for p in todo if not any(p is q for q in batch)]
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
        """Opt-out: forget every kept event of this workspace (storage, archive and memory).

        Set-aside records go too: they hold whole events of a visitor who has now asked not to be tracked, and
        nothing would ever send them.
        """
        for prefix in (layout.INBOX, layout.META, layout.ASIDE):
            for key in self.ports.storage.keys(self.ns + prefix):
                self.ports.storage.remove(key)
        self.ports.storage.remove(self.ns + layout.BACKOFF)
        archive = getattr(self.ports, "archive", None)
        if archive is not None and getattr(archive, "remove", None) is not None:
            self.ports.spawn(self._clear_archive(archive))
        self.pending.clear()
        self._open.clear()
        self._memory.clear()
        self.aside = []
        self._changed()

    async def _clear_archive(self, archive: Archive) -> None:
        for key in await archive.keys(self.ns + layout.ASIDE):
            await archive.remove(key)

    async def set_aside_records(self) -> list[dict[str, Any]]:
        """Everything kept aside for this workspace (earlier pages included, archive too), oldest first."""
        texts: dict[str, str | None] = {k: self.ports.storage.get(k)
                                        for k in self.ports.storage.keys(self.ns + layout.ASIDE)}
        archive = getattr(self.ports, "archive", None)
        if archive is not None:
            for k in await archive.keys(self.ns + layout.ASIDE):
                texts.setdefault(k, await archive.get(k))
        records: dict[str, dict[str, Any]] = {}
        for k, text in texts.items():
            try:
                record = json.loads(text or "")
            except ValueError:
                continue
            if isinstance(record, dict):
                records[k] = record
        extra = [r for r in self.aside if r["id"] not in records]  # storage was full, or in flight
        orphans = Inventory(self.ports.storage, self.ns).orphan_records()
        return sorted([*records.values(), *extra, *orphans], key=lambda r: (r.get("at") or 0, str(r.get("key"))))

    async def _archive(self, archive: Archive, aside_key: str, encoded: str, key: str) -> None:
        """Write a set-aside record to the archive; the source event is removed only once that worked."""
        try:
            ok = bool(await archive.put(aside_key, encoded))
        except Exception:
            ok = False
        if not ok:
            ok = self.ports.storage.set(aside_key, encoded)
            if not ok:
                self._storage_full()
        left = self._archiving.get(key, 1) - 1
        if left > 0:
            self._archiving[key] = left
        else:
            self._archiving.pop(key, None)
            if key in self._finish_later:
                self._finish_later.discard(key)
                if ok:
                    self._finish(key)
                # else: the whole event stays in the inbox and is set aside again by the next page

    def _storage_full(self) -> None:
        """Say once, loudly and with counts, that the browser refused to store what must be kept."""
        if self._full_warned:
            return
        self._full_warned = True
        self.ports.log("error", f"Customer.io: browser storage is full. {len(self._memory)} event(s) and "
                                f"{len(self.aside)} set-aside record(s) of this page may be kept in memory only "
                                f"and are lost if the page closes; {len({p.key for p in self.pending})} event(s) "
                                "are waiting to be sent. Free some storage on this site.")

    @staticmethod
    def idle_stats() -> dict[str, Any]:
        """The counters of an engine that never ran (what ``stats()`` reports when settings are invalid)."""
        return {"accepted": 0, "delivered": 0, "requests": 0, "retries": 0, "pending": 0, "events_open": 0,
                "stored": 0, "orphaned": {}, "set_aside": {}, "leader": False, "blocked": None, "paused_ms": 0.0,
                "failures": 0, "retry_in_ms": 0.0}

    async def take_back(self, record_id: str) -> str | None:
        """Remove one set-aside record of this workspace (its ``id`` as :meth:`set_aside_records` lists it) and
        return the whole event it kept, so it can be stored again and mapped with the current settings ("send
        again" in the Event Tester). Returns None, keeping everything, when there is no such record.
        """
        if not record_id.startswith(self.ns + layout.ASIDE):
            return None
        record = next((r for r in await self.set_aside_records() if r.get("id") == record_id), None)
        text = record.get("event") if record else None
        if not isinstance(text, str) or not text:
            return None
        self.ports.storage.remove(record_id)
        remove = getattr(getattr(self.ports, "archive", None), "remove", None)  # optional: see JsArchive
        if remove is not None:
            await remove(record_id)
        self.aside = [r for r in self.aside if r.get("id") != record_id]
        return text

    def stats(self) -> dict[str, Any]:
        inventory = Inventory(self.ports.storage, self.ns)
        return {
            **self.counters,
            "stored": len(inventory.inbox()) + len(inventory.strays()),
            "orphaned": {ns: len(keys) for ns, keys in inventory.orphans().items()},
            "pending": len(self.pending),
            "events_open": len(self._open),
            "set_aside": dict(self.aside_counts),
            "leader": self.leader,
            "blocked": self.blocked,
            "paused_ms": max(0.0, self.paused_until - self.ports.now_ms()),
            "failures": self.failures,
            "retry_in_ms": max(0.0, self.retry_at - self.ports.now_ms()),
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
        if self._archiving.get(key):
            self._finish_later.add(key)  # the whole event stays stored until its set-aside record is safe
            return
        self._open.pop(key, None)
        self._memory.pop(key, None)
        self.ports.storage.remove(key)
        self.ports.storage.remove(self._meta_key(key))

    def _meta_key(self, key: str) -> str:
        return self.ns + layout.META + layout.suffix(key)

    def _read_meta(self, key: str) -> dict[str, Any]:
        raw = self.ports.storage.get(self._meta_key(key))
        try:
            meta = json.loads(raw) if raw else {}
        except ValueError:
            meta = {}
        return meta if isinstance(meta, dict) else {}

    def _write_meta(self, p: Pending) -> None:
        self.ports.storage.set(self._meta_key(p.key), json.dumps({"attempts": p.attempts}))

    def _set_aside_event(self, key: str, label: str, text: str | None, exc: InvalidEvent) -> None:
        self._open[key] = set()
        self._report_aside(key, label, text, exc, reason="invalid", index=None)
        self._finish(key)

    def _report_aside(self, key: str, label: str, text: str | None, exc: InvalidEvent, *, reason: str,
                      index: int | None, status: int | None = None, slot: str | None = None) -> None:
        """Keep the event aside (storage) with its reason and say so once on the console."""
        if text is None:
            text = self._memory.get(key) or self.ports.storage.get(key) or ""
        where = f" (field '{exc.field}', rule: {exc.rule})" if exc.field else (f" (rule: {exc.rule})" if exc.rule
                                                                               else "")
        message = f"Customer.io: {label} not sent: {exc}{where}. It is kept aside, see cioBrowser.setAside()."
        slot = slot or ("x" if index is None else str(index))
        aside_key = f"{self.ns}{layout.ASIDE}{layout.suffix(key)}:{slot}"
        record = {"id": aside_key, "key": key, "index": index, "reason": reason, "message": str(exc),
                  "action": exc.action, "field": exc.field, "rule": exc.rule, "status": status, "label": label,
                  "at": self.ports.now_ms(), "event": text}   # the whole event, never a cut copy
        self.aside.append(record)
        self.aside_counts[reason] = self.aside_counts.get(reason, 0) + 1
        encoded = json.dumps(record, ensure_ascii=False)
        archive = getattr(self.ports, "archive", None)
        crowded = len(self.ports.storage.keys(self.ns + layout.ASIDE)) >= MAX_ASIDE_RECORDS
        if archive is not None and (len(encoded) > LARGE_RECORD_CHARS or crowded):
            self._archiving[key] = self._archiving.get(key, 0) + 1
            self.ports.spawn(self._archive(archive, aside_key, encoded, key))
        elif not self.ports.storage.set(aside_key, encoded):
            message += " (not stored: it is kept in this page only)"
            self._storage_full()
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


def _error_details(response: Response) -> tuple[str, dict[int, str], dict[int, str]]:
    """Customer.io's error text and, for batches, the message and the field named (``errors[].field``) per
    ``batch_index``; an error without a batch index counts for index 0 (a request of one item)."""
    try:
        data = json.loads(response.text) if response.text else {}
    except ValueError:
        return (response.text[:300] or "no details"), {}, {}
    if not isinstance(data, dict):
        return str(data)[:300], {}, {}
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    message = str(meta.get("error") or data.get("error") or data.get("message") or "no details")
    per_item: dict[int, str] = {}
    fields: dict[int, str] = {}
    errors = data.get("errors")
    if isinstance(errors, list):
        for e in errors:
            if not isinstance(e, dict):
                continue
            index = e.get("batch_index")
            if isinstance(e.get("field"), str) and e["field"]:
                fields.setdefault(index if isinstance(index, int) else 0, e["field"])
            if isinstance(index, int):
                text = e.get("message") or e.get("reason") or message
                if e.get("field"):
                    text = f"{e['field']}: {text}"
                per_item[index] = str(text)
    return message, per_item, fields


def _largest_member(body: Any, path: str = "", depth: int = 0) -> str:
    """Dotted path of the biggest member of a body, to tell the site owner what made it too large."""
    if not isinstance(body, dict) or not body or depth > 8:
        return path or "(body)"
    name, value = max(body.items(), key=lambda kv: byte_size(kv[1]))
    return _largest_member(value, f"{path}.{name}" if path else str(name), depth + 1)

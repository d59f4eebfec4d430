/*
 * cio_browser loader: the thin glue between analytics.js 2.0 and the Python destination.
 *
 * What it does, and nothing more:
 *   1. registers a destination plugin named exactly "Customer.io" (snippet stub or loaded instance);
 *   2. writes every event to localStorage the moment analytics.js hands it over, then returns
 *      (the site's `await analytics.track()` never waits for Customer.io);
 *   3. boots Pyodide + the cio_browser wheel after `load` (by default in a Web Worker, so the page's main
 *      thread never runs Python) and hands the stored events to Python, which maps, batches, retries and
 *      deletes them once Customer.io accepted them.
 *
 * Usage:  <script src="/cio-browser.js" data-settings='{"siteId":"…","apiKey":"…"}'></script>
 * Mapping, delivery, retries and storage bookkeeping live in Python (cio_browser.browser / .delivery).
 */
(function () {
  'use strict';
  var VERSION = '0.1.0';
  // The storage layout (namespace, key format, opt-out flag, unserialisable marker) is Python's
  // (cio_browser/layout.py): build.py writes it over this placeholder. Every key below is derived from it.
  var LAYOUT = {/*CIO_STORAGE_LAYOUT*/};
  if (!LAYOUT.prefix) throw new Error('cio-browser.js: serve the copy build.py writes to dist/, not www/');
  // The Python worker, at a path named by its content (build.py): immutable, so a return visit needs no round trip.
  var WORKER = /*@cio-worker@*/'cio-worker.mjs';
  var script = document.currentScript;
  var base = (script && script.dataset.base) || (script ? new URL('.', script.src).href : location.origin + '/');
  var raw = (script && script.dataset.settings) || null;
  var settings;
  var settingsError = null;   // handed to Python, which reports it through stats() instead of a fake setting
  try {
    settings = raw ? JSON.parse(raw) : (window.cioBrowserSettings || {});
  } catch (err) {
    // Never echo the parser's message: it quotes the settings text, which may hold an API key.
    var at = /position (\d+)/.exec(String(err && err.message));
    settingsError = 'data-settings is not valid JSON' + (at ? ' (error at character ' + at[1] + ')' : '') +
      ': names and strings need double quotes';
    console.error('Customer.io settings: ' + settingsError + '. Events are kept in this browser and sent once ' +
      'the settings are fixed.');
    settings = {};
  }
  if (!settings || typeof settings !== 'object' || Array.isArray(settings)) settings = {};
  var ns = namespace(settings);
  var memoryWarned = false;
  var seq = 0;
  var memory = new Map();      // events that localStorage refused (quota, privacy mode): kept for this page
  var pending = [];            // [key, json] not yet handed to Python
  var engine = null;           // the Python destination, once booted
  var booted = false;          // Python runs and takes events
  var takes = false;           // the engine takes events now (a worker queues them until Python is ready)
  var handoff = null;
  var readyResolve;
  var ready = new Promise(function (r) { readyResolve = r; });
  // settings.relay ("/cio" or a URL): the site runs cio_browser.relay there. Python sends every request through
  // it (no key in the page), and events Python has not mapped go to <relay>/events as stored (see sendRaw).
  var relayURL = null;
  if (typeof settings.relay === 'string' && settings.relay) {
    try { relayURL = new URL(settings.relay, location.href).href.replace(/\/+$/, ''); } catch (e) { /* Python reports it */ }
  }
  var relayOnly = null;        // why Python cannot run on this page; then every event goes through the relay

  // Python's layout.namespace(): the first site key present, surrounding spaces stripped (Python finds events a
  // page stored under any other spelling of the namespace and reports or delivers them).
  function namespace(s) {
    var site = '';
    for (var i = 0; i < LAYOUT.siteKeys.length; i++) {
      var v = s[LAYOUT.siteKeys[i]];
      if (v !== undefined && v !== null) { site = typeof v === 'string' || typeof v === 'number' ? String(v) : ''; break; }
    }
    return LAYOUT.prefix + (site.trim() || LAYOUT.noSite);
  }

  function newKey() {
    var d = LAYOUT.keyDigits;
    return ns + LAYOUT.inbox + Date.now().toString(36).padStart(d[0], '0') + '-' +
      (seq++).toString(36).padStart(d[1], '0') + '-' + Math.floor(Math.random() * Math.pow(36, d[2])).toString(36);
  }

  function optedOut() {
    try { return settings.enabled === false || localStorage.getItem(ns + LAYOUT.optout) === '1'; } catch (e) { return settings.enabled === false; }
  }

  // Storage refused an event (quota, privacy mode): say so once, loudly, with counts; the event is kept in memory.
  function storageFull(err) {
    if (memoryWarned) return;
    memoryWarned = true;
    var stored = 0;
    try { Object.keys(localStorage).forEach(function (k) { if (k.indexOf(LAYOUT.prefix) === 0) stored++; }); } catch (e) { /* no storage at all */ }
    console.error('Customer.io: browser storage is full or unavailable (' + (err && err.name) + '): new events are ' +
      'kept in this page\'s memory only and are lost if it closes before they are sent (' + memory.size +
      ' so far; ' + stored + ' cio_browser record(s) in storage). Free some storage on this site.');
  }

  // JSON that never throws: cyclic references and BigInts are replaced, and the event is flagged so Python
  // sets it aside with a message naming the field (it is not sent half-broken).
  function serialize(event) {
    try { return JSON.stringify(event); } catch (first) {
      var problems = [];
      var stack = [];
      var safe = JSON.stringify(event, function (k, v) {
        while (stack.length && stack[stack.length - 1].value !== this) stack.pop();
        var path = stack.length ? (stack[stack.length - 1].path ? stack[stack.length - 1].path + '.' : '') + k : k;
        if (typeof v === 'bigint') { problems.push(path + ': BigInt is not JSON'); return String(v); }
        if (v && typeof v === 'object') {
          for (var i = 0; i < stack.length; i++) {
            if (stack[i].value === v) { problems.push(path + ': cyclic reference'); return '[Circular]'; }
          }
          stack.push({ value: v, path: path });
        }
        return v;
      });
      var marked = { event: JSON.parse(safe) };
      marked[LAYOUT.unserializable] = problems.join('; ') || String(first.message);
      return JSON.stringify(marked);
    }
  }

  function keep(ctx) {
    try {
      if (optedOut()) return ctx;
      var json = serialize(ctx.event);
      var key = newKey();
      try { localStorage.setItem(key, json); } catch (e) { memory.set(key, json); storageFull(e); }
      pending.push(key);
      if (relayOnly) relaySoon();
      else if (takes && !handoff) { handoff = true; queueMicrotask(flushHandoff); }
    } catch (err) {
      console.error('Customer.io: could not keep a ' + (ctx && ctx.event && ctx.event.type) + ' event: ' + err.message);
    }
    return ctx;   // never throw into analytics.js: other destinations must keep working
  }

  function flushHandoff() {
    handoff = null;
    if (!takes || !pending.length) return;
    var batch = pending.map(function (k) { return [k, memory.has(k) ? memory.get(k) : localStorage.getItem(k), memory.has(k)]; });
    pending = [];
    batch.forEach(function (b) { memory.delete(b[0]); });
    try { engine.accept(batch); } catch (err) { console.error('Customer.io: ' + err.message); }
  }

  // ---- raw events through the relay ----------------------------------------------------------------------
  // Events Python has not mapped (still in the stored queue) go to <relay>/events exactly as stored; the relay
  // maps them with the same Python mapping. They stay stored until a later page confirms them: delivery stays
  // at-least-once and a repeat carries the same entity id (the messageId). This path is separate from the one
  // that sends bodies Python already mapped.
  var RAW_BUDGET = 60 * 1024;  // = cio_browser.constants.KEEPALIVE_BYTES_BUDGET (pinned by tests/unit/test_relay_page.py)
  var relayBusy = new Set();   // keys in a request now
  var relayRefused = new Set(); // keys the relay refused for good (kept for a page where Python can set them aside)
  var relayTimer = null;
  var relayBackoff = 0;

  function storedEventKeys() {
    var keys = [];
    try { keys = Object.keys(localStorage).filter(function (k) { return k.indexOf(ns + LAYOUT.inbox) === 0; }); } catch (e) { /* no storage */ }
    memory.forEach(function (v, k) { if (keys.indexOf(k) < 0) keys.push(k); });
    return keys.sort();
  }

  function storedText(key) {
    if (memory.has(key)) return memory.get(key);
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }

  // POST stored events to <relay>/events in requests within the keepalive budget (so they survive the page).
  // confirm: read the answer and remove what the relay delivered (only a page that stays can read it).
  function sendRaw(keys, confirm) {
    var budget = RAW_BUDGET;
    var chunk = [], texts = [], size = 2;
    function go() {
      if (!chunk.length) return;
      var body = '[' + texts.join(',') + ']';
      var sent = chunk;
      budget -= size;
      chunk = []; texts = []; size = 2;
      sent.forEach(function (k) { relayBusy.add(k); });
      var request;
      try {
        request = fetch(relayURL + '/events', { method: 'POST', body: body, keepalive: true, credentials: 'omit',
          headers: { 'content-type': 'application/json' } });
      } catch (err) {
        // fetch refused synchronously (keepalive quota): a beacon still leaves with the page
        var beacon = navigator.sendBeacon && navigator.sendBeacon(relayURL + '/events', new Blob([body], { type: 'text/plain' }));
        request = Promise.reject(new Error(beacon ? 'sent as a beacon' : err.message));
      }
      request.then(function (r) { return r.json().then(function (answer) { return [r, answer]; }); }).then(function (ra) {
        sent.forEach(function (k) { relayBusy.delete(k); });
        var results = (ra[1] && ra[1].results) || [];
        var retry = !ra[0].ok;
        sent.forEach(function (key, i) {
          var res = results[i] || {};
          (res.errors || []).forEach(function (e) {
            if (!relayRefused.has(key)) console.error('Customer.io: ' + e.message + ' (sent through the relay; the event is kept)');
          });
          if ((res.status === 'delivered' || res.status === 'ignored') && !(res.errors || []).length) {
            if (confirm) { memory.delete(key); try { localStorage.removeItem(key); } catch (e) { /* gone with storage */ } }
          } else if (res.status === 'invalid' || res.status === 'rejected') {
            if (res.status === 'rejected' && res.upstream && !relayRefused.has(key)) {
              console.error('Customer.io: Customer.io refused an event sent through the relay: ' + res.upstream.error);
            }
            relayRefused.add(key);
          } else { retry = true; }
        });
        if (relayOnly) {
          relayBackoff = retry ? Math.min((relayBackoff || 2500) * 2, 300000) : 0;
          if (retry) relayLater();
          else if (storedEventKeys().some(function (k) { return !relayBusy.has(k) && !relayRefused.has(k); })) relaySoon();
        }
      }).catch(function () {
        sent.forEach(function (k) { relayBusy.delete(k); });
        if (relayOnly) { relayBackoff = Math.min((relayBackoff || 2500) * 2, 300000); relayLater(); }
      });
    }
    for (var i = 0; i < keys.length; i++) {
      var key = keys[i];
      var text = storedText(key);
      if (text == null || relayBusy.has(key) || relayRefused.has(key)) continue;
      var n = new Blob([text]).size + 1;
      if (size + n > budget) { go(); if (size + n > budget) break; }
      chunk.push(key); texts.push(text); size += n;
    }
    go();
  }

  function relaySoon() { if (!relayTimer) relayTimer = setTimeout(relayNow, 0); }
  function relayLater() { clearTimeout(relayTimer); relayTimer = setTimeout(relayNow, relayBackoff); }
  function relayNow() {
    relayTimer = null;
    if (relayOnly && !optedOut()) { pending = []; sendRaw(storedEventKeys(), true); }
  }

  // Python cannot run on this page: with a relay, every stored and every new event goes through it.
  function pythonUnavailable(why) {
    if (!relayURL || relayOnly) return false;
    relayOnly = why;
    api.bootMode = 'relay';
    console.warn('Customer.io: Python cannot run on this page (' + why + '); events go through the relay at ' + relayURL + '.');
    window.addEventListener('online', relaySoon);
    relaySoon();
    return true;
  }

  // pagehide before Python is ready: hand the unmapped events to the relay (the mapped ones are Python's job).
  function sendUnmappedOnLeave() {
    if (!relayURL || optedOut()) return;
    if (booted && !relayOnly) return;
    if (api.workerOutlivesPage && !relayOnly) return;   // the worker boots and sends them through the relay itself
    sendRaw(storedEventKeys(), false);
  }
  window.addEventListener('pagehide', sendUnmappedOnLeave);

  var plugin = {
    name: 'Customer.io', type: 'destination', version: VERSION,
    isLoaded: function () { return true; },
    load: function () { return Promise.resolve(); },   // events are kept before Python is ready, so never wait
    ready: function () { return Promise.resolve(); },  // never hold analytics.ready() hostage to Pyodide
    track: keep, identify: keep, page: keep, screen: keep, group: keep, alias: keep
  };

  // Whether this browser holds a memory snapshot (LAYOUT.snapshotHint): read synchronously at start-up, kept true
  // to what the last boot found and what the snapshot worker saved.
  function snapshotHint(on) {
    try {
      if (on === undefined) return localStorage.getItem(LAYOUT.snapshotHint) === '1';
      if (on) localStorage.setItem(LAYOUT.snapshotHint, '1'); else localStorage.removeItem(LAYOUT.snapshotHint);
    } catch (err) { /* no storage: every visit starts at load */ }
    return false;
  }

  function started(bootMs, mode) {
    booted = true;
    takes = true;
    api.bootMs = bootMs;
    api.bootMode = mode;
    if (mode !== 'external' && mode !== 'worker-reused') snapshotHint(mode.indexOf('snapshot') >= 0);
    performance.mark('cio-browser:ready');
    flushHandoff();
    readyResolve(api);
    window.dispatchEvent(new CustomEvent('cio-browser:ready', { detail: { bootMs: bootMs, mode: mode } }));
    snapshotLater();
  }

  // boot "idle" / "eager": Python runs on this page's main thread.
  async function bootHere() {
    var t0 = performance.now();
    var boot = await import(new URL('cio-boot.mjs', base).href);
    var r = await boot.bootPython(base);
    api.bootPhases = r.phases;
    api.pyodide = r.py;   // for tests and debugging: the same Python the destination runs in
    performance.mark('cio-browser:runtime');
    var browser = r.py.pyimport('cio_browser.browser');   // raises (loudly) if the wheel failed to load
    performance.mark('cio-browser:imported');
    var store = await import(new URL('cio-store.mjs', base).href);
    var dest = browser.start(JSON.stringify(settings),
      { archive: store.archive, settingsError: settingsError, fetch: fetchFromWorker() });
    use(dest, performance.now() - t0, r.mode);
  }

  // Requests leave from a worker (www/cio-fetch.mjs says why). If the worker cannot start (CSP, a missing
  // file), requests fall back to this page's own fetch: noisier on failure, but nothing stalls.
  function fetchFromWorker() {
    var calls = new Map();
    var next = 0;
    var w = null;
    function direct(url, init) {
      return fetch(url, init).then(function (r) {
        return r.text().then(function (t) { return { status: r.status, retryAfter: r.headers.get('retry-after'), text: t }; });
      }, function (err) { return { error: String((err && err.message) || err) }; });
    }
    try { w = new Worker(new URL('cio-fetch.mjs', base), { type: 'module' }); } catch (e) { return direct; }
    w.onmessage = function (e) { var done = calls.get(e.data.id); calls.delete(e.data.id); done(e.data); };
    w.onerror = function () {
      w = null;   // answer what was in flight as a network error: the engine retries it, through direct()
      calls.forEach(function (done) { done({ error: 'request worker failed' }); });
      calls.clear();
    };
    return function (url, init) {
      if (!w) return direct(url, init);
      return new Promise(function (resolve) { var id = next++; calls.set(id, resolve); w.postMessage({ id: id, url: url, init: init }); });
    };
  }

  // The Python destination (cio_browser.browser.BrowserDestination) runs in this page: hand it the events.
  function use(dest, bootMs, mode) {
    engine = {
      accept: function (batch) { dest.accept(batch); },
      call: function (method, args) { return Promise.resolve(dest[method].apply(dest, args || [])).then(String); }
    };
    started(bootMs, mode);
  }

  // After a boot without a stored snapshot: a separate, short-lived worker makes one for the next visits
  // (cio-boot.mjs makeSnapshot), a little after ready so it never competes with the first deliveries.
  function snapshotLater() {
    if (api.bootMode === 'external' || api.bootMode.indexOf('snapshot') >= 0 || !window.Worker
        || (api.bootMode === 'worker-reused' && snapshotHint())
        || !(navigator.storage && navigator.storage.getDirectory)) return;
    setTimeout(function () {
      var maker = new Worker(new URL(WORKER, base), { type: 'module' });
      maker.onmessage = function (e) {
        maker.terminate();
        api.snapshotSaved = !!e.data.saved;
        snapshotHint(api.snapshotSaved);
        if (e.data.message) console.warn('Customer.io: no memory snapshot for the next visit (' + e.data.message + ')');
        window.dispatchEvent(new CustomEvent('cio-browser:snapshot', { detail: { saved: api.snapshotSaved } }));
      };
      maker.postMessage({ type: 'snapshot', base: base });
    }, SNAPSHOT_DELAY_MS);
  }
  var SNAPSHOT_DELAY_MS = 1000;

  // Worker mode, page leaving: the worker dies with the page, so the page sends the request bodies Python has
  // already mapped (the worker keeps `leavePlan` current) with fetch keepalive; Python keeps them within the
  // browser's 64 KB keepalive budget. Stored events are removed only when Customer.io answers 2xx; anything else
  // stays stored and goes out again from the next page with the same ids (at-least-once).
  var leavePlan = [];
  function sendMappedOnLeave() {
    if (!navigator.onLine) return;
    leavePlan.forEach(function (r) {
      var init = { method: r.method, headers: r.headers, mode: 'cors', credentials: 'omit', keepalive: true };
      if (r.body != null) init.body = r.body;
      try {
        fetch(r.url, init).then(function (resp) {
          if (resp.ok) r.remove.forEach(function (k) { try { localStorage.removeItem(k); } catch (e) { /* kept */ } });
        }, function () { /* stays stored: the next page sends it */ });
      } catch (err) { /* stays stored */ }
    });
    leavePlan = [];
  }

  // Whether this browser lets a worker outlive its page (SharedWorker `extendedLifetime`, Chromium 148+). A
  // browser reads the option while converting the options dictionary, before it looks at the URL, so an invalid URL
  // asks the question without starting anything. Asked once per page (start-up and every connect() use it).
  var outliving = null;
  function workersOutlivePages() {
    if (outliving === null) {
      outliving = false;
      if (typeof SharedWorker === 'function') {
        try {
          new SharedWorker('http://[', { get extendedLifetime() { outliving = true; return false; } });
        } catch (err) { /* the URL is invalid on purpose */ }
      }
    }
    return outliving;
  }

  // The name of this tab's Python worker, kept in sessionStorage (LAYOUT.workerName) across the tab's navigations;
  // `fresh`: a new one (the worker of that name serves another page, see 'busy').
  function workerName(fresh) {
    var name = null;
    try { if (!fresh) name = sessionStorage.getItem(LAYOUT.workerName); } catch (err) { /* no sessionStorage */ }
    if (!name) {
      name = 'cio-browser ' + Date.now().toString(36) + Math.random().toString(36).slice(2);
      try { sessionStorage.setItem(LAYOUT.workerName, name); } catch (err) { /* a name of this page's own */ }
    }
    return name;
  }

  // The Python worker. Where the browser allows it, a SharedWorker of this tab's own that may outlive the page: a
  // visitor who leaves while Python is still starting does not take their events away, the worker boots and
  // delivers what it holds (see 'leaving'), and the tab's next page of this site takes it over instead of starting
  // Python again. Elsewhere a dedicated Worker, which dies with the page; then the page sends what Python already
  // mapped itself (sendMappedOnLeave).
  function pythonWorker(fresh) {
    var url = new URL(WORKER, base);
    if (workersOutlivePages()) {
      var shared = new SharedWorker(url, { type: 'module', extendedLifetime: true, name: workerName(fresh) });
      return { port: shared.port, events: shared, outlives: true };
    }
    var worker = new Worker(url, { type: 'module' });
    return { port: worker, events: worker, outlives: false };
  }

  // boot "worker": Python runs in a Web Worker; this page keeps localStorage in step with it (workers have none).
  async function bootWorker() {
    var python, worker;   // the current worker: a page restored from the back/forward cache starts a new one
    var left = false;     // its worker was told to leave when the page went into the back/forward cache
    var calls = new Map();
    var nextId = 0;
    var unconfirmed = [];   // events kept in memory only, handed to a worker that has not answered 'ready' yet
    function connect(fresh) {
      var t0 = performance.now();
      python = pythonWorker(fresh);
      worker = python.port;
      api.workerOutlivesPage = python.outlives;
      var stored = {};
      // every namespace: Python finds events stored under one the settings no longer use
      Object.keys(localStorage).forEach(function (k) { if (k.indexOf(LAYOUT.prefix) === 0) stored[k] = localStorage.getItem(k); });
      worker.onmessage = function (e) {
        var m = e.data;
        if (m.type === 'storage') {
          m.ops.forEach(function (op) {
            try {
              if (op[0] === 'set') localStorage.setItem(op[1], op[2]); else localStorage.removeItem(op[1]);
            } catch (err) { storageFull(err); /* the worker still holds the record in memory */ }
          });
        } else if (m.type === 'reply') {
          var c = calls.get(m.id);
          if (!c) return;
          calls.delete(m.id);
          if (m.error) c.reject(new Error(m.error)); else c.resolve(m.value);
        } else if (m.type === 'log') {
          // what Python reported in a shared worker, whose console is not this page's (invalid events, settings)
          (console[m.level] || console.log).call(console, m.text);
        } else if (m.type === 'leave-plan') {
          leavePlan = JSON.parse(m.requests);   // only a worker that dies with the page sends one
        } else if (m.type === 'busy') {
          // The tab's worker serves another page (a duplicated tab) or other settings: start one of this page's own.
          // Nothing handed to it is lost: stored events are read again, memory-only ones are handed again.
          worker.onmessage = null;
          unconfirmed.forEach(function (b) { memory.set(b[0], b[1]); pending.push(b[0]); });
          unconfirmed = [];
          connect(true);
        } else if (m.type === 'ready') {
          unconfirmed = [];
          api.bootPhases = m.phases;   // ms since the worker started booting: loader, snapshot-read, runtime, wheels, imported, started
          started(performance.now() - t0, 'worker-' + m.bootMode);
        } else if (m.type === 'failed') {
          if (!pythonUnavailable('the worker failed to start: ' + m.message)) {
            console.error('Customer.io: the Python worker failed to start (' + m.message + '); events stay stored.');
          }
        }
      };
      python.events.onerror = function (e) {
        if (!booted && !pythonUnavailable('the worker could not load' + (e && e.message ? ': ' + e.message : ''))) {
          console.error('Customer.io: the Python worker could not load; events stay stored.');
        }
      };
      worker.postMessage({ type: 'init', base: base, settings: settings, settingsError: settingsError, storage: stored,
        outlives: python.outlives });
      // From now on every event goes to the worker as it is stored (it queues them until Python is ready): a worker
      // that outlives this page must know them all.
      takes = true;
      flushHandoff();
      // Python's downloads wait for the page's own resources; a return visit restores its stored snapshot sooner.
      var go = function () { worker.postMessage({ type: 'go' }); };
      if (document.readyState === 'complete') go(); else window.addEventListener('load', go, { once: true });
    }
    window.addEventListener('storage', function (e) {
      if (e.key && e.key.indexOf(LAYOUT.prefix) === 0) worker.postMessage({ type: 'mirror', key: e.key, value: e.newValue });
    });
    // Workers do not reliably see the page's online/offline switch: tell Python when the page is back online.
    window.addEventListener('online', function () { engine.call('kick'); });
    window.addEventListener('pagehide', function (e) {
      // One that dies with the page cannot deliver, so the page sends the requests Python already mapped.
      if (!python.outlives) { sendMappedOnLeave(); return; }
      // A worker that outlives the page delivers what it holds (booting first if it must), gives the delivery lock
      // back and ends. So it does when the page goes into the back/forward cache: it would go on holding the lock
      // there, and the visitor's next page of this site could not deliver. A page restored from it starts anew.
      worker.postMessage({ type: 'leaving' });
      if (e.persisted) { left = true; takes = false; }
    });
    window.addEventListener('pageshow', function (e) {
      if (e.persisted && left) { left = false; connect(); }
    });
    engine = {
      accept: function (batch) {
        if (!booted) batch.forEach(function (b) { if (b[2]) unconfirmed.push(b); });
        worker.postMessage({ type: 'events', batch: batch });
      },
      call: function (method, args) {
        return new Promise(function (resolve, reject) {
          var id = nextId++;
          calls.set(id, { resolve: resolve, reject: reject });
          worker.postMessage({ type: 'call', id: id, method: method, args: args || [] });
        });
      }
    };
    connect();
  }

  var api = {
    version: VERSION, plugin: plugin, ready: ready, settings: settings,
    flush: function () {
      if (relayOnly) { relayNow(); return Promise.resolve(null); }
      return ready.then(function () { return engine.call('flush'); });
    },
    stats: function () {
      if (!booted) return Promise.resolve({ booting: true, pending: pending.length });
      return engine.call('stats_json').then(JSON.parse);
    },
    setAside: function () { return ready.then(function () { return engine.call('aside_json'); }).then(JSON.parse); },
    optOut: function () {
      try { localStorage.setItem(ns + LAYOUT.optout, '1'); } catch (e) { /* settings.enabled covers this page */ }
      settings.enabled = false; pending = []; memory.clear();
      Object.keys(localStorage).forEach(function (k) { if (k.indexOf(ns + LAYOUT.inbox) === 0) localStorage.removeItem(k); });
      if (booted) return engine.call('clear');
      // a worker still starting holds the events handed to it and the storage it was started with: its queue hands
      // Python this 'clear' before Python has the delivery lock (granted asynchronously), so nothing is sent
      if (takes) engine.call('clear');
      return Promise.resolve();
    },
    // Tools (the Event Tester, a site's own debugging). Python answers; nothing here is sent anywhere.
    // preview(event[, settings]): which subscriptions match (and why the others do not), payloads, requests.
    preview: function (event, withSettings) {
      return tool('preview_json', [serialize(event), withSettings ? JSON.stringify(withSettings) : '']);
    },
    // checkSettings(settings): every problem, as start-up reports them.
    checkSettings: function (candidate) { return tool('check_settings_json', [JSON.stringify(candidate)]); },
    // requests(since): what this destination sent (key masked) and each answer.
    requests: function (since) { return tool('requests_json', [String(since || 0)]); },
    // resend([id, ...]): set-aside records (their id) go back into the queue, mapped with the running settings.
    resend: function (ids) { return tool('resend_json', [JSON.stringify(ids)]); },
    // data-boot="external": Python already runs on this page (PyScript's cio_browser.install()); it calls this
    // with its destination, so the plugin, storage and opt-out above are the only implementation of them.
    attach: function (dest) {
      if (bootMode !== 'external' || engine) throw new Error('cioBrowser.attach() is only for data-boot="external"');
      use(dest, 0, 'external');
    },
    optIn: function () { try { localStorage.removeItem(ns + LAYOUT.optout); } catch (e) { /* ignore */ } settings.enabled = true; }
  };
  window.cioBrowser = api;

  function tool(method, args) {
    return ready.then(function () { return engine.call(method, args); }).then(JSON.parse);
  }

  // Register with analytics.js 2.0: the snippet stub queues `register` until the library loads; a loaded
  // instance registers at once. Sites that build analytics with `AnalyticsBrowser.load({plugins: […]})`
  // can pass `window.cioBrowser.plugin` themselves and set data-register="false".
  var analytics = window.analytics;
  if (!script || script.dataset.register !== 'false') {
    if (analytics && typeof analytics.register === 'function') {
      analytics.register(plugin);
    } else {
      console.error('Customer.io: window.analytics is not on the page yet; load the analytics.js snippet before ' +
        'cio-browser.js, or pass window.cioBrowser.plugin to AnalyticsBrowser.load({plugins}).');
    }
  }

  function start() {
    var why = wasmBlocked(bootMode !== 'worker');
    if (why && pythonUnavailable(why)) return;
    (bootMode === 'worker' ? bootWorker() : bootHere()).catch(function (err) {
      if (pythonUnavailable('it failed to start: ' + (err && err.message))) return;
      console.error('Customer.io: the Python destination failed to start (' + (err && err.message) +
        '); events stay stored and are delivered on a later page.');
    });
  }

  // Why WebAssembly cannot run here, or null. A page CSP without 'wasm-unsafe-eval' only binds this page's own
  // thread (a worker gets the policy of its own script), so it is probed only for the main-thread boot modes.
  function wasmBlocked(onThisThread) {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.Module !== 'function') return 'no WebAssembly';
    if (!onThisThread) return null;
    try { new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); return null; } catch (err) {
      return 'WebAssembly is blocked (' + err.message + ')';
    }
  }
  // Default "worker": Python in a Web Worker (no long tasks on the page). "idle"/"eager": on the main thread.
  // "worker" starts after `load` on a first visit (the page's own resources go first; Python's downloads are low
  // priority), but at once on a return visit, whose stored snapshot needs no network (the worker itself still
  // waits for `load` before any download), and on the tab's next page of this site, which may take its worker
  // over; "idle" waits for `load` and an idle moment, since it runs on this thread.
  // Which visit this is comes from LAYOUT.snapshotHint (localStorage: Cache Storage would take too long to ask).
  var bootMode = (script && script.dataset.boot) || settings.boot || 'worker';
  var after = bootMode === 'idle' ? idle : function (fn) { setTimeout(fn, 0); };
  function afterLoad() {
    if (document.readyState === 'complete') after(start);
    else window.addEventListener('load', function () { after(start); }, { once: true });
  }
  if (bootMode === 'external') { /* cioBrowser.attach() */ }
  else if (bootMode === 'eager') start();
  else if (bootMode === 'worker' && (snapshotHint() || tabHasWorker())) start();
  else afterLoad();

  // An earlier page of this site in this tab named a worker: it may still be there to take over (pythonWorker),
  // and its script is in the HTTP cache.
  function tabHasWorker() {
    try { return !!sessionStorage.getItem(LAYOUT.workerName) && workersOutlivePages(); } catch (err) { return false; }
  }

  function idle(fn) { (window.requestIdleCallback || function (f) { setTimeout(f, 1); })(fn, { timeout: 500 }); }
})();

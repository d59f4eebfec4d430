// cio_browser Event Tester. Every value that comes from an event, a setting, a request or an answer is written
// with textContent (never as HTML). Python does the work: cioBrowser.preview / checkSettings / requests /
// setAside / resend; this file only builds calls and draws what Python answers.
(function () {
  'use strict';
  var SETTINGS_KEY = 'cio-tester:settings';
  var CALLS_KEY = 'cio-tester:calls';
  var analytics = window.analytics = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: 'cio-browser-tester', cdnURL: location.origin + '/vendor/analytics-next-1.84.3',
      cdnSettings: { integrations: {}, metrics: { sampleRate: 0 } } },
    { integrations: { 'Segment.io': false } });

  var $ = function (id) { return document.getElementById(id); };
  var examples = [];
  var calls = load(CALLS_KEY, []);        // [{id, at, type, code, event, preview, requests: {seq: entry}, note}]
  var requestLog = {};                    // seq -> entry, this page's destination
  var lastSeq = 0;
  var aside = [];
  var pythonReady = false;

  function load(key, fallback) {
    try { var v = JSON.parse(sessionStorage.getItem(key) || 'null'); return v === null ? fallback : v; } catch (e) { return fallback; }
  }
  function save() { try { sessionStorage.setItem(CALLS_KEY, JSON.stringify(calls.slice(0, 50))); } catch (e) { /* full */ } }
  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (cls) n.className = cls;
    return n;
  }
  function pre(value) { return el('pre', typeof value === 'string' ? value : JSON.stringify(value, null, 2)); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function pretty(value) { return JSON.stringify(value, null, 2); }
  function parseAnswer(text) { try { return JSON.parse(text); } catch (e) { return text; } }

  // ---- 1. event builder ---------------------------------------------------------------------------------
  function fillExamples() {
    var type = $('call-type').value;
    var select = $('example');
    clear(select);
    examples.forEach(function (ex, i) {
      if (ex.type !== type) return;
      var o = el('option', ex.label);
      o.value = String(i);
      select.appendChild(o);
    });
    useExample();
  }
  function useExample() {
    var ex = examples[Number($('example').value)];
    if (ex) $('event-json').value = pretty(ex.event);
    schedulePreview();
  }
  function editorEvent() {
    var text = $('event-json').value;
    var value;
    try { value = JSON.parse(text); } catch (e) { throw new Error('the event is not valid JSON: ' + e.message); }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('the event must be a JSON object');
    return value;
  }
  // The Segment event the page would see, for the preview (analytics.js adds messageId, context, timestamp).
  function asEvent(type, e) {
    var out = Object.assign({ type: type, messageId: 'tester-preview', anonymousId: 'anon-tester', timestamp: new Date().toISOString() }, e);
    if (type !== 'track' && type !== 'identify' && type !== 'group' && type !== 'alias') out.properties = out.properties || {};
    return out;
  }
  // The analytics.js call for the editor's event: [method, args, source text].
  function callFor(type, e) {
    var options = {};
    ['anonymousId', 'timestamp', 'context'].forEach(function (k) { if (e[k] !== undefined) options[k] = e[k]; });
    if (e.userId !== undefined && type !== 'identify' && type !== 'alias') options.userId = e.userId;
    switch (type) {
      case 'track': return ['track', [e.event, e.properties || {}, options]];
      case 'identify': return ['identify', [e.userId === undefined ? null : e.userId, e.traits || {}, options]];
      case 'page': return ['page', [e.category === undefined ? null : e.category, e.name === undefined ? null : e.name, e.properties || {}, options]];
      case 'screen': return ['screen', [e.category === undefined ? null : e.category, e.name === undefined ? null : e.name, e.properties || {}, options]];
      case 'group': return ['group', [e.groupId, e.traits || {}, options]];
      case 'alias': return ['alias', [e.userId, e.previousId, options]];
    }
    throw new Error('unknown call type ' + type);
  }
  function code(method, args) {
    return 'analytics.' + method + '(' + args.map(function (a) { return JSON.stringify(a); }).join(', ') + ')';
  }

  var previewTimer = null;
  function schedulePreview() { clearTimeout(previewTimer); previewTimer = setTimeout(runPreview, 250); }
  function runPreview() {
    var type = $('call-type').value;
    var box = $('preview');
    $('event-problem').textContent = '';
    var e;
    try { e = editorEvent(); } catch (err) { $('event-problem').textContent = err.message; clear(box); return; }
    var c = callFor(type, e);
    $('call-code').textContent = code(c[0], c[1]);
    if (!pythonReady) { $('preview-note').textContent = 'the preview appears once Python runs'; return; }
    var edited = editedSettings();
    var useEdited = edited.ok && JSON.stringify(edited.value) !== JSON.stringify(window.cioBrowserSettings);
    $('preview-note').textContent = useEdited ? 'with the edited settings (not applied yet)' : 'with the running settings';
    window.cioBrowser.preview(asEvent(type, e), useEdited ? edited.value : undefined).then(function (p) {
      clear(box);
      var view = renderPreview(p, null);
      view.className = 'cols narrow';
      box.appendChild(view);
    });
  }

  function send() {
    var type = $('call-type').value;
    var e;
    try { e = editorEvent(); } catch (err) { $('event-problem').textContent = err.message; return; }
    var c = callFor(type, e);
    var entry = { id: 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 6), at: Date.now(), type: type,
                  code: code(c[0], c[1]), event: null, preview: null, requests: {}, note: 'calling analytics.js…' };
    calls.unshift(entry);
    render();
    analytics[c[0]].apply(analytics, c[1]).then(function (ctx) {
      entry.event = ctx.event;
      entry.note = '';
      return window.cioBrowser.preview(ctx.event);
    }).then(function (p) {
      entry.preview = p;
      relink();
      save();
      render();
    }).catch(function (err) { entry.note = 'analytics.js refused the call: ' + (err && err.message); save(); render(); });
  }

  // ---- preview / call rendering --------------------------------------------------------------------------
  function renderPreview(p, call) {
    var wrap = el('div', null, 'cols');
    if (p.settings_error || p.error) { wrap.appendChild(el('p', p.settings_error || p.error, 'problem')); return wrap; }
    var subs = el('div', null, 'col');
    subs.appendChild(el('h4', 'Subscriptions'));
    if (p.note) subs.appendChild(el('p', p.note, 'muted'));
    var all = p.subscriptions || [];
    var matched = all.filter(function (s) { return s.matched; });
    var others = all.filter(function (s) { return !s.matched; });
    var list = el('ul', null, 'subs matched');
    if (!matched.length && p.mode !== 'classic') list.appendChild(el('li', 'no subscription matched: nothing is sent', 'sub bad'));
    matched.forEach(function (s) { list.appendChild(subItem(s)); });
    subs.appendChild(list);
    if (others.length) {
      var d = el('details', null, 'not-matched');
      d.appendChild(el('summary', others.length + ' other subscription(s) did not match: why'));
      var ol = el('ul', null, 'subs');
      others.forEach(function (s) { ol.appendChild(subItem(s)); });
      d.appendChild(ol);
      subs.appendChild(d);
    }
    wrap.appendChild(subs);
    var payloads = el('div', null, 'col');
    payloads.appendChild(el('h4', 'Payload per action'));
    var any = false;
    (p.subscriptions || []).forEach(function (s) {
      if (s.payload === undefined) return;
      any = true;
      payloads.appendChild(el('div', s.name + ' → ' + (s.path || ''), 'label'));
      payloads.appendChild(pre(s.payload));
    });
    if (!any) payloads.appendChild(el('p', p.mode === 'classic' ? 'see the requests' : 'no action produced a payload', 'muted'));
    wrap.appendChild(payloads);
    var reqs = el('div', null, 'col');
    reqs.appendChild(el('h4', call ? 'Requests sent and answers' : 'Request(s) it would send'));
    if (call) {
      var linked = Object.keys(call.requests).map(function (k) { return call.requests[k]; })
        .sort(function (a, b) { return a.seq - b.seq; });
      if (!linked.length) reqs.appendChild(el('p', expectedText(p, call), 'muted pending'));
      linked.forEach(function (r) { reqs.appendChild(renderRequest(r)); });
      errorsFor(call).forEach(function (a) { reqs.appendChild(renderAside(a, false)); });
    } else {
      if (!(p.requests || []).length) reqs.appendChild(el('p', 'no request', 'muted'));
      (p.requests || []).forEach(function (r) { reqs.appendChild(renderRequest(r)); });
    }
    wrap.appendChild(reqs);
    return wrap;
  }
  function subItem(s) {
    var li = el('li', null, s.matched ? (s.error ? 'sub bad' : 'sub ok') : 'sub off');
    li.appendChild(el('strong', (s.matched ? (s.error ? '✗ ' : '✓ ') : '– ') + s.name));
    li.appendChild(el('span', ' (' + s.action + (s.custom ? ', custom' : ', preset') + ')', 'muted'));
    if (!s.matched) li.appendChild(el('div', 'not matched: ' + s.why, 'why'));
    if (s.error) li.appendChild(el('div', 'refused: field ' + s.error.field + ', rule ' + s.error.rule + ': ' + s.error.message, 'problem'));
    return li;
  }
  function expectedText(p, call) {
    if (!p.requests || !p.requests.length) return 'nothing to send for this event';
    return 'waiting for the destination to send ' + p.requests.length + ' request(s)…';
  }
  function renderRequest(r) {
    var box = el('div', null, 'request');
    var status = r.status === undefined ? '' : r.status === null ? '  →  waiting for the answer' :
      r.status === 0 ? '  →  network error: ' + (r.error || '') : '  →  HTTP ' + r.status;
    var cls = r.status === undefined || r.status === null ? '' : (r.status >= 200 && r.status < 300 ? 'ok' : 'bad');
    box.appendChild(el('div', r.method + ' ' + r.url + status, 'label ' + cls));
    if (r.answer !== undefined && r.answer !== null) {
      var answer = parseAnswer(r.answer);
      box.appendChild(el('div', 'Customer.io answered' + (r.retry_after ? ' (Retry-After ' + r.retry_after + ')' : '') + ': ' +
        (answer === '' ? '(empty body)' : JSON.stringify(answer)), 'answer ' + cls));
    }
    var h = Object.keys(r.headers || {}).map(function (k) { return k + ': ' + r.headers[k]; }).join('\n');
    box.appendChild(pre(h || '(no headers)'));
    if (r.body !== null && r.body !== undefined) box.appendChild(pre(r.body));
    return box;
  }
  function messageIdOf(record) {
    try { var e = JSON.parse(record.event); return (e && (e.messageId || (e.event && e.event.messageId))) || null; } catch (err) { return null; }
  }
  function errorsFor(call) {
    var mid = call.event && call.event.messageId;
    return mid ? aside.filter(function (a) { return messageIdOf(a) === mid; }) : [];
  }
  function renderAside(a, withButton) {
    var box = el('div', null, 'aside-item');
    box.appendChild(el('div', 'set aside (' + a.reason + (a.status ? ', HTTP ' + a.status : '') + '): ' + a.label, 'label bad'));
    box.appendChild(el('div', (a.field ? 'field ' + a.field + ', ' : '') + (a.rule ? 'rule ' + a.rule + ': ' : '') + a.message, 'problem'));
    if (withButton) {
      var b = el('button', 'Send again with the running settings');
      b.type = 'button';
      b.addEventListener('click', function () { resend(a, b); });
      box.appendChild(b);
    }
    return box;
  }

  function render() {
    var list = $('calls');
    clear(list);
    if (!calls.length) list.appendChild(el('li', 'No calls yet: build an event and press "Send through analytics.js".', 'muted'));
    calls.forEach(function (c) {
      var li = el('li', null, 'call');
      li.dataset.messageId = (c.event && c.event.messageId) || '';
      var head = el('div', null, 'call-head');
      head.appendChild(el('strong', new Date(c.at).toLocaleTimeString() + '  ' + c.type));
      head.appendChild(el('code', c.code));
      if (c.event && c.event.messageId) head.appendChild(el('span', 'messageId ' + c.event.messageId, 'muted'));
      li.appendChild(head);
      if (c.note) li.appendChild(el('p', c.note, 'muted'));
      if (c.preview) li.appendChild(renderPreview(c.preview, c));
      if (c.event) {
        var d = el('details');
        d.appendChild(el('summary', 'the event analytics.js handed to the destination'));
        d.appendChild(pre(c.event));
        li.appendChild(d);
      }
      list.appendChild(li);
    });
    var other = $('other-list');
    clear(other);
    var linked = {};
    calls.forEach(function (c) { Object.keys(c.requests).forEach(function (k) { linked[k] = true; }); });
    var rest = Object.keys(requestLog).filter(function (k) { return !linked[k]; });
    $('other-count').textContent = String(rest.length);
    rest.forEach(function (k) { var li = el('li'); li.appendChild(renderRequest(requestLog[k])); other.appendChild(li); });
    var al = $('aside-list');
    clear(al);
    if (!aside.length) al.appendChild(el('li', 'nothing set aside', 'muted'));
    aside.forEach(function (a) { var li = el('li'); li.appendChild(renderAside(a, true)); al.appendChild(li); });
  }

  // ---- linking what the destination sent to the calls ---------------------------------------------------
  function link(entry) {
    requestLog[entry.seq] = entry;
    calls.forEach(function (c) {
      if (!c.preview || !c.preview.requests) return;
      var names = {};
      c.preview.requests.forEach(function (r) { (r.items || []).forEach(function (n) { names[n] = true; }); });
      if ((entry.items || []).some(function (n) { return names[n]; })) c.requests[entry.seq] = entry;
    });
  }
  function relink() { Object.keys(requestLog).forEach(function (k) { link(requestLog[k]); }); }
  var lastDrawn = '';
  function poll() {
    if (!pythonReady) return;
    var cursor = lastSeq;   // re-read requests still waiting for their answer
    Object.keys(requestLog).forEach(function (k) { if (requestLog[k].status === null) cursor = Math.min(cursor, requestLog[k].seq - 1); });
    Promise.all([window.cioBrowser.requests(cursor), window.cioBrowser.setAside(), window.cioBrowser.stats()])
      .then(function (r) {
        r[0].forEach(function (entry) { lastSeq = Math.max(lastSeq, entry.seq); link(entry); });
        aside = r[1];
        $('stats').textContent = 'destination: ' + JSON.stringify(r[2]);
        $('kept-note').textContent = r[2].error ? 'The running settings are not usable (' + r[2].error +
          '): new events are kept in this browser, not sent, and go out once fixed settings are applied.' : '';
        var sig = JSON.stringify([r[0], aside.length, calls.length, calls.map(function (c) { return c.preview ? 1 : 0; })]);
        if (sig !== lastDrawn) { lastDrawn = sig; save(); render(); }
      }).catch(function () { /* shown by the status line */ });
  }
  function resend(a, button) {
    button.disabled = true;
    window.cioBrowser.resend([a.id]).then(function (answer) {
      var mid = messageIdOf(a);
      var ev = null;
      try { ev = JSON.parse(a.event); } catch (e) { ev = null; }
      var call = calls.filter(function (c) { return c.event && c.event.messageId === mid; })[0];
      if (!call && ev) {
        call = { id: 'r' + Date.now().toString(36), at: Date.now(), type: ev.type, code: 'send again: ' + a.label, event: ev,
                 preview: null, requests: {}, note: '' };
        calls.unshift(call);
      }
      if (call) {
        call.note = answer.resent ? 'sent again with the running settings' : 'not sent again: ' + answer.kept.join('; ');
        return window.cioBrowser.preview(ev).then(function (p) { call.preview = p; relink(); save(); render(); });
      }
    }).then(poll);
  }

  // ---- 2. settings ------------------------------------------------------------------------------------
  // The key is never shown: the editor holds a placeholder that stands for the key the page already has.
  var KEEP_KEY = '(hidden: keep the current key, or type a new one)';
  var keptKey = null;
  function showSettings(s) {
    var copy = Object.assign({}, s);
    ['apiKey', 'api_key'].forEach(function (k) {
      if (typeof copy[k] === 'string' && copy[k]) { keptKey = copy[k]; copy[k] = KEEP_KEY; }
    });
    var subs = copy.subscriptions;
    delete copy.subscriptions;
    $('settings-json').value = pretty(copy);
    $('subs-json').value = subs === undefined || subs === null ? '' : (typeof subs === 'string' ? subs : pretty(subs));
  }
  function editedSettings() {
    var s;
    try { s = JSON.parse($('settings-json').value || '{}'); } catch (e) { return { ok: false, problem: 'settings are not valid JSON: ' + e.message }; }
    if (!s || typeof s !== 'object' || Array.isArray(s)) return { ok: false, problem: 'settings must be a JSON object' };
    ['apiKey', 'api_key'].forEach(function (k) { if (s[k] === KEEP_KEY) s[k] = keptKey; });
    var text = $('subs-json').value.trim();
    if (text) {
      try { s.subscriptions = JSON.parse(text); } catch (e) { return { ok: false, problem: 'subscriptions are not valid JSON: ' + e.message }; }
    } else {
      delete s.subscriptions;
    }
    return { ok: true, value: s };
  }
  var checkTimer = null;
  function scheduleCheck() { clearTimeout(checkTimer); checkTimer = setTimeout(check, 250); }
  function check() {
    var edited = editedSettings();
    var verdict = $('settings-verdict');
    var problems = $('settings-problems');
    clear(problems);
    if (!edited.ok) { verdict.textContent = '✗ ' + edited.problem; verdict.className = 'bad'; return; }
    if (!pythonReady) { verdict.textContent = 'checked once Python runs'; verdict.className = 'muted'; return; }
    window.cioBrowser.checkSettings(edited.value).then(function (r) {
      verdict.textContent = r.ok ? '✓ valid settings' : '✗ ' + r.problems.length + ' problem(s): the destination would keep events and send nothing';
      verdict.className = r.ok ? 'ok' : 'bad';
      r.problems.forEach(function (p) { problems.appendChild(el('li', p)); });
      (r.notes || []).forEach(function (n) { problems.appendChild(el('li', 'note: ' + n, 'muted')); });
      schedulePreview();
    });
  }
  function apply() {
    var edited = editedSettings();
    if (!edited.ok) { check(); return; }
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(edited.value));
    save();
    location.reload();
  }

  // ---- fault modes of the local endpoint -------------------------------------------------------------------
  function control(path, body) {
    return fetch('/__sink/' + path, { method: body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json' },
                                      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); });
  }
  function fault(kind) {
    var p;
    if (kind === 'slow') p = control('delay', { ms: 3000 });
    else if (kind === 'clear') p = control('clear-faults', {});
    else if (kind === '429') p = control('fail', { status: 429, count: 1, headers: { 'Retry-After': '2' } });
    else if (kind === '400') p = control('fail', { status: 400, count: 1, body: { meta: { error: 'scripted rejection (tester)' } } });
    else p = control('fail', { status: Number(kind), count: 1 });
    p.then(showFaults, function (err) { $('faults').textContent = 'the local endpoint did not take it (' + err.message + ')'; });
  }
  function showFaults() {
    return control('faults').then(function (f) {
      var parts = f.failures.map(function (x) { return (x.status === 0 ? 'drop' : x.status) + ' ×' + x.remaining; });
      $('faults').textContent = 'queued: ' + (parts.join(', ') || 'none') + '; delay: ' + (f.delay_ms ? f.delay_ms + ' ms' : 'none');
    }, function () { $('faults').textContent = 'no local endpoint controls here (requests go to another endpoint)'; });
  }

  // ---- wiring ---------------------------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', function () {
    showSettings(window.cioBrowserSettings || {});
    $('running-settings').textContent = 'running: ' + JSON.stringify(Object.assign({}, window.cioBrowserSettings, { apiKey: window.cioBrowserSettings.apiKey ? '(set)' : undefined }));
    $('call-type').addEventListener('change', fillExamples);
    $('example').addEventListener('change', useExample);
    $('event-json').addEventListener('input', schedulePreview);
    $('settings-json').addEventListener('input', scheduleCheck);
    $('subs-json').addEventListener('input', scheduleCheck);
    $('send').addEventListener('click', send);
    $('apply').addEventListener('click', apply);
    $('use-presets').addEventListener('click', function () { $('subs-json').value = ''; scheduleCheck(); });
    (window.cioTesterPresets || []).forEach(function (p, i) {
      var o = el('option', p.label);
      o.value = String(i);
      $('preset').appendChild(o);
    });
    $('use-preset').addEventListener('click', function () {
      var p = (window.cioTesterPresets || [])[Number($('preset').value)];
      if (p) { showSettings(p.settings); scheduleCheck(); }
    });
    $('clear-calls').addEventListener('click', function () { calls = []; requestLog = {}; save(); render(); });
    document.querySelectorAll('button[data-fault]').forEach(function (b) {
      b.addEventListener('click', function () { fault(b.dataset.fault); });
    });
    render();
    showFaults();
    fetch('/tester-examples.json').then(function (r) { return r.json(); }).then(function (d) {
      examples = d.examples;
      fillExamples();
    });
    window.addEventListener('cio-browser:ready', function (e) {
      pythonReady = true;
      var st = $('status');
      st.textContent = 'Python ready in ' + Math.round(e.detail.bootMs) + ' ms (' + e.detail.mode + ')';
      st.className = 'status ready';
      check();
      runPreview();
      poll();
      setInterval(poll, 600);
      setInterval(showFaults, 2000);
    });
  });
})();

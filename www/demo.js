// Demo page wiring: buttons make analytics.js calls; the right column shows what the local Customer.io-compatible
// endpoint received (polled from /__sink/requests). Event data is only ever written with textContent.
(function () {
  'use strict';
  window.analytics = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: 'cio-browser-demo', cdnURL: location.origin + '/vendor/analytics-next-1.84.3',
      cdnSettings: { integrations: {}, metrics: { sampleRate: 0 } } },
    { integrations: { 'Segment.io': false } });

  var calls = {
    identify: function () { return analytics.identify('user-7', { email: 'ada@example.org', plan: 'team', createdAt: '2023-05-20T10:00:00Z' }); },
    track: function () { return analytics.track('Signed Up', { plan: 'Pro' }); },
    page: function () { return analytics.page('Pricing'); },
    screen: function () { return analytics.screen('Home'); },
    group: function () { return analytics.group('acct-9', { name: 'Initrode', objectAttributes: { tier: 'gold' } }); },
    alias: function () { return analytics.alias('user-7', 'anon-3'); },
    device: function () { return analytics.track('Application Opened', { build: '210' }, { context: { device: { token: 'tok-abc', type: 'ios' } } }); },
    invalid: function () { return analytics.track('Relationship Deleted', { why: 'no objectId' }); },
    burst: function () { for (var i = 0; i < 100; i++) analytics.track('Burst', { i: i }); return Promise.resolve(); },
    fail: function () { return fetch('/__sink/fail', { method: 'POST', body: JSON.stringify({ status: 503, count: 1 }) }); }
  };

  function item(list, head, cls, body) {
    var li = document.createElement('li');
    var h = document.createElement('div');
    h.className = 'head ' + (cls || '');
    h.textContent = head;
    li.appendChild(h);
    if (body !== undefined) {
      var pre = document.createElement('pre');
      pre.textContent = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
      li.appendChild(pre);
    }
    list.insertBefore(li, list.firstChild);
  }

  document.addEventListener('DOMContentLoaded', function () {
    var callList = document.getElementById('calls');
    var reqList = document.getElementById('requests');
    document.querySelectorAll('button[data-call]').forEach(function (b) {
      b.addEventListener('click', function () {
        item(callList, new Date().toLocaleTimeString() + '  analytics.' + b.textContent);
        calls[b.dataset.call]();
      });
    });
    document.getElementById('reset').addEventListener('click', function () {
      fetch('/__sink/reset', { method: 'POST' }).then(function () { seen = 0; reqList.textContent = ''; });
    });
    var seen = 0;
    var asideSeen = 0;
    function poll() {
      fetch('/__sink/requests').then(function (r) { return r.json(); }).then(function (list) {
        for (; seen < list.length; seen++) {
          var r = list[seen];
          item(reqList, r.method + ' ' + r.path + '  →  ' + r.status, r.status < 300 ? 'ok' : 'bad', r.body);
        }
      }).catch(function () {}).then(function () { setTimeout(poll, 500); });
      if (window.cioBrowser && window.cioBrowser.bootMs) {
        window.cioBrowser.setAside().then(function (aside) {
          for (; asideSeen < aside.length; asideSeen++) {
            var a = aside[asideSeen];
            item(callList, 'kept aside (' + a.reason + '): ' + a.label, 'bad', a.message);
          }
        });
        window.cioBrowser.stats().then(function (s) {
          document.getElementById('stats').textContent = 'destination: ' + JSON.stringify(s);
        });
      }
    }
    poll();
    window.addEventListener('cio-browser:ready', function (e) {
      var st = document.getElementById('status');
      st.textContent = 'Python ready in ' + Math.round(e.detail.bootMs) + ' ms';
      st.className = 'status ready';
    });
  });
})();

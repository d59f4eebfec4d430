// Loads @customerio/cdp-analytics-browser fully offline, the way test-setup.js loads analytics.js 2.0.
// window.benchCdp = {writeKey, apiHost} comes from the harness (an init script). Why each option:
//  - cdnSettings: without it the SDK fetches <cdnURL>/v1/projects/<writeKey>/settings from cdp.customer.io;
//  - 'Customer.io Data Pipelines' in cdnSettings.integrations: the SDK only merges load-option overrides into
//    integrations the settings list, and reads apiHost/protocol from there (default https://cdp.customer.io/v1);
//  - metrics.sampleRate 0: otherwise it posts its own usage metrics to cdp.customer.io/v1/m;
//  - cdnURL: lazy chunks and settings would otherwise be looked up on cdp.customer.io.
(function () {
  'use strict';
  var cfg = window.benchCdp;
  var destination = { apiKey: cfg.writeKey, apiHost: cfg.apiHost, protocol: 'http' };
  window.analytics = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: cfg.writeKey, cdnURL: location.origin,
      cdnSettings: { integrations: { 'Customer.io Data Pipelines': destination }, metrics: { sampleRate: 0 } } },
    { integrations: { 'Customer.io Data Pipelines': destination } });
  window.analytics.then(function () { performance.mark('bench:ready'); },
    function (err) { console.error('bench: cdp-analytics-browser failed to load: ' + err); });
})();

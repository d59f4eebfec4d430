// Test/benchmark page setup: load analytics.js 2.0 fully offline and read the destination settings from
// window.cioBrowserSettings (set by the test harness) or the ?s= query parameter.
(function () {
  var params = new URLSearchParams(location.search);
  window.cioBrowserSettings = window.cioBrowserSettings || JSON.parse(params.get('s') || '{}');
  var integrations = JSON.parse(params.get('integrations') || '{}');
  integrations['Segment.io'] = false;
  window.analytics = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: 'cio-browser-test', cdnURL: location.origin + '/vendor/analytics-next-1.84.3',
      cdnSettings: { integrations: {}, metrics: { sampleRate: 0 } } },
    { integrations: integrations });
})();

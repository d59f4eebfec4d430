// The analytics.js 2.0 snippet, as a site pastes it (minus the CDN): a stub that queues calls until the
// standalone build (loaded later, async) replaces it. Offline: settings come from this site's /v1/projects/.
(function () {
  var analytics = window.analytics = window.analytics || [];
  analytics.methods = ['screen', 'register', 'deregister', 'trackSubmit', 'trackClick', 'trackLink', 'trackForm',
    'pageview', 'identify', 'reset', 'group', 'track', 'ready', 'alias', 'debug', 'page', 'once', 'off', 'on',
    'addSourceMiddleware', 'addIntegrationMiddleware', 'setAnonymousId', 'addDestinationMiddleware'];
  analytics.factory = function (method) {
    return function () {
      var args = Array.prototype.slice.call(arguments);
      args.unshift(method);
      analytics.push(args);
      return analytics;
    };
  };
  analytics.methods.forEach(function (m) { analytics[m] = analytics.factory(m); });
  analytics._writeKey = 'cio-browser-snippet';
  analytics._cdn = location.origin;
  analytics._loadOptions = { integrations: { 'Segment.io': false } };
  analytics.SNIPPET_VERSION = '5.2.0';
  window.snippetCallsBeforeLoad = function () {
    analytics.identify('snippet-user', { email: 'snip@example.org' });
    analytics.track('Queued By The Stub', { early: true });
  };
})();

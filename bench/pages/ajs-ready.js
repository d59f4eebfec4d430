// "Ready" for a page without a destination: analytics.js 2.0 finished loading (its load promise resolved).
window.analytics.then(function () { performance.mark('bench:ready'); },
  function (err) { console.error('bench: analytics.js failed to load: ' + err); });

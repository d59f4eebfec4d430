// Installed by bench/run.py with context.add_init_script, so it runs before any page script on every
// navigation (reloads included). It only observes: long tasks, long animation frames (for script
// attribution) and the load event. Resource timings and marks are read later from the performance timeline.
(function () {
  'use strict';
  if (window.__bench || window.top !== window) return;
  var b = window.__bench = { longtasks: [], loafs: [], unsupported: [] };
  try { performance.setResourceTimingBufferSize(5000); } catch (e) { /* default 250 is enough for most pages */ }
  function observe(type, sink, map) {
    try {
      new PerformanceObserver(function (list) {
        list.getEntries().forEach(function (e) { sink.push(map(e)); });
      }).observe({ type: type, buffered: true });
    } catch (e) {
      b.unsupported.push(type);
    }
  }
  observe('longtask', b.longtasks, function (e) {
    return { start: e.startTime, duration: e.duration };
  });
  observe('long-animation-frame', b.loafs, function (e) {
    return {
      start: e.startTime, duration: e.duration, blocking: e.blockingDuration,
      scripts: (e.scripts || []).map(function (s) {
        return { invoker: s.invoker, type: s.invokerType, source: s.sourceURL, fn: s.sourceFunctionName,
                 start: s.startTime, exec: s.executionStart, duration: s.duration };
      })
    };
  });
  addEventListener('load', function () { performance.mark('bench:load'); }, { once: true });
})();

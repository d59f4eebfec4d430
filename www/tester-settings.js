// Event Tester: the settings the destination boots with. The tester's "Apply" stores them here and reloads, so
// they are checked exactly as a site's script tag is, at start-up. Defaults come from data-defaults.
(function () {
  'use strict';
  var defaults = JSON.parse(document.currentScript.dataset.defaults || '{}');
  var stored = null;
  try { stored = JSON.parse(localStorage.getItem('cio-tester:settings') || 'null'); } catch (e) { stored = null; }
  window.cioTesterDefaults = defaults;
  window.cioBrowserSettings = stored || defaults;
})();

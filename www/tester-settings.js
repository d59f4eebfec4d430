// Event Tester: the settings the destination boots with. The tester's "Apply" stores them here and reloads, so
// they are checked exactly as a site's script tag is, at start-up. Until then the first of data-presets is used
// (each preset: {"label": "…", "settings": {…}}; the tester offers them all in its settings box).
(function () {
  'use strict';
  var presets = JSON.parse(document.currentScript.dataset.presets || '[]');
  var stored = null;
  try { stored = JSON.parse(localStorage.getItem('cio-tester:settings') || 'null'); } catch (e) { stored = null; }
  window.cioTesterPresets = presets;
  window.cioBrowserSettings = stored || (presets[0] && presets[0].settings) || {};
})();

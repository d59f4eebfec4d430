// Boot "idle"/"eager": the destination's requests go out from this small worker, not from the page. Chromium
// prints a console error on the page for every failed request the page itself makes ("Failed to load resource:
// … 503"): one per retry during an outage, on the site owner's console. From a worker they stay off it.
// Answers {id, status, retryAfter, text} or {id, error} (no HTTP answer at all: offline, CORS, reset).
self.onmessage = async (e) => {
  const { id, url, init } = e.data;
  try {
    const r = await fetch(url, init);
    const text = await r.text();
    self.postMessage({ id, status: r.status, retryAfter: r.headers.get('retry-after'), text });
  } catch (err) {
    self.postMessage({ id, error: String((err && err.message) || err) });
  }
};

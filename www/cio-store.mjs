// IndexedDB for set-aside records too large for localStorage (which stays the fast, synchronous write-ahead path
// for new events). Python (cio_browser.browser.JsArchive) calls put/get/keys; all of them resolve, never reject:
// false / null / [] tell it that IndexedDB is unavailable (private mode, blocked) so it keeps the record elsewhere.
const DB = 'cio_browser';
const STORE = 'records';
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opening;
}

function run(mode, fn) {
  return open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  }));
}

export const archive = {
  put: (key, value) => run('readwrite', (s) => s.put(value, key)).then(() => true, () => false),
  get: (key) => run('readonly', (s) => s.get(key)).then((v) => (v === undefined ? null : v), () => null),
  keys: (prefix) => run('readonly', (s) => s.getAllKeys(IDBKeyRange.bound(prefix, prefix + '\uffff')))
    .then((ks) => ks.map(String), () => []),
  remove: (key) => run('readwrite', (s) => s.delete(key)).then(() => true, () => false),
};

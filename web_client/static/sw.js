// The phone pages' service worker: keeps the app shell (HTML, CSS, JS, jsQR) so 现场检查,
// 企业自检 (an invite link's /self-check/{token}) and 我的任务 (/field) open without network. Network first, the cache as the fallback, so a deploy is seen at
// the next online load. API calls and object URLs never touch the cache: they carry data
// and credentials, and the offline store (IndexedDB, offline-store.js) keeps the inspector's own data.
const CACHE = "loancheck-shell-v10";
const SHELL = [
  "/onsite",
  "/field",
  "/static/css/field.css",
  "/static/js/field-page.js",
  "/static/js/storage-quota.js",
  "/static/css/app.css",
  "/static/css/inspections.css",
  "/static/img/logo.svg",
  "/static/img/apple-touch-icon.png",
  "/static/vendor/jsQR.js",
  "/static/js/onsite-page.js",
  "/static/js/onsite-view.js",
  "/static/js/onsite-scan.js",
  "/static/js/offline-shell.js",
  "/static/js/answer-saver.js",
  "/static/js/api.js",
  "/static/js/capture.js",
  "/static/js/dom.js",
  "/static/js/inspection-form.js",
  "/static/js/navigation.js",
  "/static/js/offline-inspection.js",
  "/static/js/offline-store.js",
  "/static/js/offline-target.js",
  "/static/js/online-outbox.js",
  "/static/js/qr-label.js",
  "/static/js/gps-fix.js",
  "/static/js/outbox.js",
  "/static/js/tus-upload.js",
  "/static/js/upload-progress.js",
  "/static/vendor/idb.js",
  "/static/manifest.webmanifest",
];
// Pages that are the on-site page under another address: a label's /s/{payload}, an
// invite link's /self-check/{token} (the self-check's data is in IndexedDB, not here).
const ONSITE = /^\/(onsite|s\/[^/]+|self-check\/[^/]+)$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request, fallbackUrl) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(fallbackUrl || request, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(fallbackUrl || request);
    if (cached) return cached;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && ONSITE.test(url.pathname)) {
    event.respondWith(networkFirst(request, "/onsite"));
  } else if (request.mode === "navigate" && url.pathname === "/field") {
    event.respondWith(networkFirst(request, "/field"));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(networkFirst(request));
  }
});

// tixgate's service worker: it keeps the buyer's tickets page on the
// phone. Stadium networks collapse when the crowd arrives, so the tickets
// page is fetched from the network when there is one (and the copy on the
// phone replaced), and from the copy when there is none. The page carries
// its QR codes inside it (data: URLs), so one stored response shows them
// all. Nothing else is stored; a logout deletes the copy.
var CACHE = "tixgate-tickets-v1";
var PAGE = "/tickets/";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// keep stores a response of the tickets page: only a whole page, never a
// redirect to the login or an error.
function keep(resp) {
  if (!resp.ok || resp.redirected || resp.type !== "basic") return Promise.resolve();
  return caches.open(CACHE).then(function (c) { return c.put(PAGE, resp); });
}

function ticketsPage(req) {
  return fetch(req).then(function (resp) {
    return keep(resp.clone()).then(function () { return resp; });
  }, function (err) {
    return caches.match(PAGE).then(function (hit) { return hit || Promise.reject(err); });
  });
}

self.addEventListener("fetch", function (e) {
  var url = new URL(e.request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === "/logout") {
    e.waitUntil(caches.delete(CACHE));
    return;
  }
  if (e.request.method === "GET" && url.pathname === PAGE) e.respondWith(ticketsPage(e.request));
});

// The page asks for its first copy: it was loaded before this worker
// controlled it.
self.addEventListener("message", function (e) {
  if (e.data !== "keep-tickets") return;
  e.waitUntil(fetch(PAGE, { credentials: "same-origin" }).then(keep, function () {}));
});

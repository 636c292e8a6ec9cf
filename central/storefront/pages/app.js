// The storefront's one script: it registers the service worker that keeps
// the tickets page on the phone, asks it to keep this copy when this is
// the tickets page, and says when the phone is offline. Every page works
// without it.
(function () {
  var off = document.getElementById("offline");
  function show() { if (off) off.hidden = navigator.onLine; }
  addEventListener("online", show);
  addEventListener("offline", show);
  show();
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  if (!document.getElementById("tickets")) return;
  navigator.serviceWorker.ready.then(function (reg) {
    if (reg.active) reg.active.postMessage("keep-tickets");
  });
})();

// The dashboard asks central for its figures every few seconds and shows
// them in place; when central cannot be reached it says the figures are
// stale and keeps asking.
(function () {
  var el = document.getElementById("live");
  if (!el || !window.fetch) return;
  var every = parseInt(el.getAttribute("data-refresh"), 10) || 5000;
  function tick() {
    fetch("/ops/live.json" + location.search, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error("status " + r.status); return r.json(); })
      .then(function (d) { el.innerHTML = d.html; el.classList.remove("stale"); el.setAttribute("data-updated", d.updated); })
      .catch(function () { el.classList.add("stale"); })
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();

// The support desk's one script: the live chat of a buyer (data-mode
// "buyer"), of a staff member in a conversation ("staff"), and the inbox's
// notice of new messages ("inbox"). It holds one WebSocket and reconnects
// with a growing, jittered delay; while it is not connected the page's
// forms post as they do without it, so every page works without it.
(function () {
  var root = document.getElementById("chat");
  if (!root || !("WebSocket" in window)) return;
  var mode = root.getAttribute("data-mode"), conv = Number(root.getAttribute("data-conv") || 0);
  var state = document.getElementById("chat-state"), log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form"), input = document.getElementById("chat-input");
  var email = document.getElementById("chat-email"), offline = document.getElementById("chat-offline");
  var ws = null, open = false, delay = 500, seen = {}, sent = {}, n = 0;
  function t(k) { return root.getAttribute("data-t-" + k) || ""; }
  if (log) Array.prototype.forEach.call(log.querySelectorAll("[data-id]"), function (li) { seen[li.getAttribute("data-id")] = true; });
  function say(text, cls) {
    if (!state) return;
    state.textContent = text;
    state.className = "chat-state" + (cls ? " " + cls : "");
  }
  function pad(v) { return (v < 10 ? "0" : "") + v; }
  function clock(at) {
    var d = new Date(at);
    return pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function add(m) {
    if (!log || !m || seen[m.id]) return;
    seen[m.id] = true;
    var li = document.createElement("li");
    li.className = "msg k-" + m.kind;
    li.setAttribute("data-id", m.id);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = m.kind === "staff" ? t("staff").replace("{name}", m.author || "") : (mode === "buyer" ? t("you") : t("buyer"));
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = m.body;
    var at = document.createElement("span");
    at.className = "at";
    at.textContent = clock(m.at);
    li.appendChild(who); li.appendChild(text); li.appendChild(at);
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }
  function staffOnline(on) {
    if (offline) offline.hidden = on;
    say(on ? t("online") : "", on ? "ok" : "");
  }
  function connect() {
    say(t("connecting"));
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.getAttribute("data-ws"));
    ws.onopen = function () {
      open = true;
      delay = 500;
      root.setAttribute("data-connects", String(Number(root.getAttribute("data-connects") || 0) + 1));
    };
    ws.onmessage = function (e) {
      var ev;
      try { ev = JSON.parse(e.data); } catch (x) { return; }
      if (ev.type === "hello") {
        if (mode === "buyer") {
          if (ev.conv) conv = ev.conv;
          (ev.history || []).forEach(add);
          staffOnline(!!ev.staff_online);
        } else {
          if (mode === "staff") (ev.history || []).forEach(add);
          say(t("online"), "ok");
        }
      } else if (ev.type === "presence" && mode === "buyer") {
        staffOnline(!!ev.staff_online);
      } else if (ev.type === "offline") {
        staffOnline(false);
      } else if (ev.type === "message") {
        if (mode === "inbox") {
          var note = document.getElementById("new-message");
          if (note) note.hidden = false;
        } else if (mode === "buyer" || ev.conv === conv) {
          if (ev.conv) conv = ev.conv;
          add(ev.message);
        }
      } else if (ev.type === "error") {
        if (mode === "staff" && ev.conv && ev.conv !== conv) return;
        say(t((ev.error || "").replace("support.", "")) || t("failed"), "bad");
        if (ev.ref && sent[ev.ref] && input && !input.value) input.value = sent[ev.ref];
      }
    };
    ws.onclose = function () {
      open = false;
      ws = null;
      say(t("lost"), "bad");
      setTimeout(connect, delay + Math.random() * delay / 2);
      delay = Math.min(delay * 2, 15000);
    };
  }
  if (form && input) {
    form.addEventListener("submit", function (e) {
      if (!open) return;
      e.preventDefault();
      var body = input.value.trim();
      if (!body) return;
      var ref = "m" + (++n);
      var msg = { body: body, conv: conv, ref: ref };
      if (email && email.value.trim()) msg.email = email.value.trim();
      sent[ref] = body;
      ws.send(JSON.stringify(msg));
      input.value = "";
      input.focus();
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (form.requestSubmit) form.requestSubmit(); else form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });
  }
  connect();
})();

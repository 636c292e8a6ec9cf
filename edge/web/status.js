// tixgate status screen: a snapshot on connect, then one event per scan,
// over Server-Sent Events. The browser reconnects by itself after a drop.
'use strict';
(() => {
  const { t, time, gate, kind, reason, el } = tixgate;
  const $ = (id) => document.getElementById(id);
  const maxRecent = 20;
  let refused = new Map(); // reason → count

  function renderReasons() {
    const items = [...refused.entries()].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    $('reasons').replaceChildren(...(items.length ? items.map(([r, n]) => {
      const li = el('li'); li.dataset.reason = r;
      li.append(el('span', '', reason(r)), el('span', 'n', String(n)));
      return li;
    }) : [el('li', 'small', t('status.none'))]));
    $('refused').textContent = String(items.reduce((s, [, n]) => s + n, 0));
  }

  function recentRow(s) {
    const tr = el('tr');
    const k = kind(s.result, s.reason);
    const tag = el('span', 'tag ' + (s.reason === 'override' ? 'ok' : k), s.result === 'ok' ? (s.reason === 'override' ? t('reason.override') : t('result.ok')) : reason(s.reason));
    tr.append(el('td', '', time(s.at)), el('td'), el('td', '', s.gate || ''), el('td', '', s.serial ? String(s.serial) : '–'),
      el('td', 'col-source', t('source.' + s.source)));
    tr.children[1].append(tag);
    tr.dataset.result = k;
    return tr;
  }

  function health(h) {
    const b = $('health');
    if (h.state === 'ready') { b.hidden = true; return; }
    b.textContent = t('health.' + h.state) + ' ' + (h.detail || '');
    b.hidden = false;
  }

  function snapshot(s) {
    health(s.health);
    $('admitted').textContent = String(s.admitted);
    refused = new Map((s.refused || []).map((c) => [c.reason, c.n]));
    renderReasons();
    $('peers').replaceChildren(...(s.peers && s.peers.length ? s.peers.map((p) => el('li', '', p)) : [el('li', 'small', t('status.peers.none'))]));
    $('uplink').textContent = t('status.uplink.' + s.uplink);
    const cs = s.conflict_list || [];
    $('conflicts').replaceChildren(...(cs.length ? cs.map((c) => el('li', '', t('status.conflict', {
      serial: c.serial, first: gate(c.first.gate) + ' ' + time(c.first.at), second: gate(c.second.gate) + ' ' + time(c.second.at),
    }))) : [el('li', 'small', t('status.conflicts.none'))]));
    $('recent').replaceChildren(...(s.recent || []).map(recentRow));
  }

  function scan(e) {
    $('admitted').textContent = String(e.admitted);
    if (e.refused) { refused.set(e.refused.reason, e.refused.n); renderReasons(); }
    const body = $('recent');
    body.prepend(recentRow(e.scan));
    while (body.children.length > maxRecent) body.lastChild.remove();
  }

  function live(up) {
    $('live').textContent = t(up ? 'status.live' : 'status.reconnecting');
    $('live').classList.toggle('down', !up);
  }

  const es = new EventSource('/api/v1/events/stream');
  es.addEventListener('open', () => live(true));
  es.addEventListener('snapshot', (e) => { live(true); snapshot(JSON.parse(e.data)); });
  es.addEventListener('scan', (e) => scan(JSON.parse(e.data)));
  es.addEventListener('error', async () => {
    live(false);
    if (es.readyState === EventSource.CLOSED) {
      // The device refused the stream: most likely the session ended.
      const r = await fetch('/api/v1/session', { credentials: 'same-origin' }).catch(() => null);
      if (r && r.status === 401) location.assign('/login');
      else setTimeout(() => location.reload(), 5000);
    }
  });
})();

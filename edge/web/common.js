// tixgate: what the scan and status screens share. The page carries its
// data (language, venue time zone, CSRF token, translated strings) in
// #tixgate-data; nothing here is fetched from elsewhere.
'use strict';
const tixgate = (() => {
  const data = JSON.parse(document.getElementById('tixgate-data').textContent);

  // t translates a key, filling {name} placeholders.
  function t(key, args) {
    let s = data.strings[key];
    if (s === undefined) return key;
    for (const [k, v] of Object.entries(args || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }

  const locale = data.lang === 'zh' ? 'zh-CN' : 'en-GB';
  const hm = new Intl.DateTimeFormat(locale, { timeZone: data.tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const day = new Intl.DateTimeFormat(locale, { timeZone: data.tz, month: 'short', day: 'numeric' });
  const ymd = new Intl.DateTimeFormat('en-CA', { timeZone: data.tz, year: 'numeric', month: '2-digit', day: '2-digit' });

  // time is a moment as staff read it: 19:42 in the venue's time zone, with
  // the date when it was not today there.
  function time(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    const s = hm.format(d);
    return ymd.format(d) === ymd.format(new Date()) ? s : day.format(d) + ' ' + s;
  }

  // gate names a gate the way staff say it: "gate 3", 3 号闸机.
  function gate(name) {
    return /^\d+$/.test(name) ? t('gate.numbered', { n: name }) : t('gate.named', { name: name });
  }

  // kind sorts an answer into the three colours of the screen.
  function kind(result, reason) {
    if (result === 'ok') return 'ok';
    return reason === 'already_used' ? 'used' : 'refused';
  }

  function reason(r) {
    const k = 'reason.' + r;
    return k in data.strings ? t(k) : t('reason.other', { reason: r });
  }

  // post sends JSON (or a frame) with the session's CSRF token. A session
  // that ended sends staff back to the login page.
  async function post(path, body, type) {
    const r = await fetch(path, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'Content-Type': type || 'application/json', 'X-CSRF-Token': data.csrf },
      body: type ? body : JSON.stringify(body),
    });
    if (r.status === 401) { location.assign('/login'); throw new Error('session ended'); }
    return r;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  return { data, t, time, gate, kind, reason, post, el };
})();

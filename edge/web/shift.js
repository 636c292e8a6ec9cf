// tixgate shift screen: open the till with a float, record cash in and
// out, count the till (by note and coin, or a total) and close; the report
// is the device's, recomputed from its records.
'use strict';
(() => {
  const { data, t, time, post, el } = tixgate;
  const $ = (id) => document.getElementById(id);
  const errBox = $('sh-error');
  let shift = null;

  function showError(e) { errBox.textContent = e; errBox.hidden = !e; }
  async function errorOf(r) {
    try {
      const b = await r.json();
      const k = 'sell.error.' + b.reason;
      return k in data.strings ? t(k) : b.error;
    } catch (_) { return t('sell.error.other'); }
  }
  // minor reads "12.50" as integer minor units (cents): only to add up
  // a count on screen; the device sums and checks it again.
  function minor(s) {
    const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(s.trim());
    if (!m) return null;
    return Number(m[1]) * 100 + Number((m[2] || '0').padEnd(2, '0'));
  }
  function fmt(n) {
    const neg = n < 0; n = Math.abs(n);
    return (neg ? '-' : '') + Math.floor(n / 100) + '.' + String(n % 100).padStart(2, '0');
  }
  const sym = data.lang === 'zh' ? '¥' : 'CN¥';
  function money(s) {
    const c = shift && shift.currency !== 'CNY' ? shift.currency + ' ' : sym;
    return s.startsWith('-') ? '-' + c + s.slice(1) : c + s;
  }

  function render(v, closed) {
    shift = v;
    $('report').hidden = !v;
    $('open-form').hidden = !!(v && !closed);
    $('cash-form').hidden = !v || closed;
    $('close-form').hidden = !v || closed;
    if (!v) { $('sh-heading').textContent = t('shift.heading'); return; }
    $('sh-heading').textContent = t(closed ? 'shift.closed_heading' : 'shift.open_heading', { n: v.number });
    const dl = $('sh-lines');
    dl.textContent = '';
    const row = (k, val, cls) => { const dt = el('dt', '', k), dd = el('dd', cls || '', val); dl.append(dt, dd); };
    row(t('shift.opened'), time(v.opened) + ' · ' + v.seller);
    if (closed) row(t('shift.closed'), time(v.closed));
    row(t('shift.float'), money(v.float));
    for (const m of ['cash', 'card']) {
      row(t('shift.sales.' + m, { n: v.sales[m].tickets }), money(v.sales[m].amount));
      if (v.voids[m].tickets) row(t('shift.voids.' + m, { n: v.voids[m].tickets }), money('-' + v.voids[m].amount));
    }
    row(t('shift.change_given'), money(v.change_given));
    row(t('shift.expected'), money(v.expected), 'strong');
    if (closed) {
      row(t('shift.counted'), money(v.counted), 'strong');
      row(t('shift.difference'), money(v.difference), v.difference === '0.00' ? '' : 'bad');
      if (v.note) row(t('shift.note'), v.note);
    }
    const ul = $('sh-moves');
    ul.textContent = '';
    for (const mv of v.cash_moves) {
      const li = el('li');
      li.append(el('span', '', time(mv.at) + ' ' + mv.reason), el('span', 'n', money(mv.amount)));
      ul.append(li);
    }
    if (!v.cash_moves.length) ul.append(el('li', 'small', t('shift.no_moves')));
    $('sh-pdf').href = v.report_pdf + '?lang=' + data.lang;
    const box = $('cl-denoms');
    if (!box.children.length) {
      for (const d of v.denominations || []) {
        const lab = el('label', 'denom');
        const inp = el('input');
        inp.type = 'number'; inp.min = '0'; inp.inputMode = 'numeric'; inp.dataset.value = d; inp.placeholder = '0';
        lab.append(el('span', '', money(d)), inp);
        box.append(lab);
      }
    }
    sum();
  }

  function counted() {
    if ($('cl-total-box').hidden) {
      let total = 0;
      const count = [];
      for (const inp of $('cl-denoms').querySelectorAll('input')) {
        const n = Number(inp.value || 0);
        if (!Number.isInteger(n) || n < 0) return null;
        if (n) { count.push({ value: inp.dataset.value, count: n }); total += n * minor(inp.dataset.value); }
      }
      return { total, body: { count } };
    }
    const m = minor($('cl-total').value);
    return m === null ? null : { total: m, body: { counted: fmt(m) } };
  }
  function sum() {
    const c = counted();
    $('cl-sum').textContent = c ? money(fmt(c.total)) : '–';
    const d = c && shift ? c.total - minor(shift.expected) : 0;
    $('cl-diff').textContent = c && shift ? t(d === 0 ? 'shift.balanced' : 'shift.differs', { amount: money(fmt(d)) }) : '';
    $('cl-diff').classList.toggle('short', d !== 0);
  }
  $('close-form').addEventListener('input', sum);
  $('close-form').addEventListener('change', (e) => {
    if (e.target.name !== 'how') return;
    const total = $('close-form').querySelector('input[name=how]:checked').value === 'total';
    $('cl-total-box').hidden = !total;
    $('cl-denoms').hidden = total;
    sum();
  });

  async function load() {
    const r = await fetch('/api/v1/shift', { credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 401) { location.assign('/login'); return; }
    render(r.ok ? await r.json() : null, false);
  }
  async function send(path, body, closed) {
    showError('');
    const r = await post(path, body);
    if (!r.ok) { showError(await errorOf(r)); return false; }
    render(await r.json(), closed);
    return true;
  }
  $('open-form').addEventListener('submit', (e) => { e.preventDefault(); send('/api/v1/shift/open', { float: $('sh-float').value.trim() }, false); });
  $('cash-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await send('/api/v1/shift/cash', { direction: $('c-dir').value, amount: $('c-amount').value.trim(), reason: $('c-reason').value.trim() }, false)) {
      $('c-amount').value = ''; $('c-reason').value = '';
    }
  });
  $('close-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const c = counted();
    if (!c) { showError(t('shift.bad_count')); return; }
    const note = $('cl-note').value.trim();
    if (note) c.body.note = note;
    send('/api/v1/shift/close', c.body, true);
  });
  load();
})();

// tixgate sell screen: pick what to sell, see its price (priced by the
// device: offers and change come from its pricing), take cash or a card
// reference, confirm; the tickets show as large QR codes for the buyer to
// photograph, with the receipt and a void within the shift.
'use strict';
(() => {
  const { data, t, post, el } = tixgate;
  const $ = (id) => document.getElementById(id);
  const form = $('sell-form'), item = $('s-item'), qtyOut = $('s-qty'), promo = $('s-promo'), given = $('s-given'), ref = $('s-ref');
  const err = $('s-error'), sold = $('sold'), voidDlg = $('void');
  let lines = [], qty = 1, quoteSeq = 0, lastSale = null, nonce = '';

  function showError(box, e) {
    box.textContent = e; box.hidden = !e;
  }
  async function errorOf(r) {
    try {
      const b = await r.json();
      const k = 'sell.error.' + b.reason;
      return k in data.strings ? t(k) : b.error;
    } catch (_) { return t('sell.error.other'); }
  }
  function current() { return lines[Number(item.value)] || null; }
  function method() { return form.querySelector('input[name=method]:checked').value; }
  function newNonce() {
    const a = new Uint8Array(12); crypto.getRandomValues(a);
    nonce = Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function load() {
    const [qr, sr] = await Promise.all([
      fetch('/api/v1/quotas', { credentials: 'same-origin', cache: 'no-store' }),
      fetch('/api/v1/shift', { credentials: 'same-origin', cache: 'no-store' })]);
    if (qr.status === 401) { location.assign('/login'); return; }
    $('no-shift').hidden = sr.ok;
    lines = qr.ok ? await qr.json() : [];
    const keep = item.value;
    item.textContent = '';
    lines.forEach((l, i) => {
      const o = el('option', '', l.event_name + ' · ' + l.type_name + (l.display ? ' · ' + l.display : ''));
      o.value = String(i);
      o.disabled = !l.price || l.left === 0;
      item.append(o);
    });
    if (keep && lines[Number(keep)]) item.value = keep;
    if (!lines.length) item.append(el('option', '', t('sell.nothing')));
    quote();
  }

  async function quote() {
    const l = current();
    const seq = ++quoteSeq;
    $('s-left').textContent = l ? t('sell.left', { n: l.left }) : '';
    $('s-more').hidden = !l;
    if (!l || !l.price) { $('s-total').textContent = '–'; $('s-offer').textContent = ''; return; }
    const q = new URLSearchParams({ event: l.event, type: l.type, quantity: qty });
    if (promo.value.trim()) q.set('promo', promo.value.trim());
    if (method() === 'cash' && given.value.trim()) q.set('given', given.value.trim());
    const r = await fetch('/api/v1/quote?' + q, { credentials: 'same-origin', cache: 'no-store' });
    if (seq !== quoteSeq) return;
    if (!r.ok) {
      $('s-total').textContent = '–'; $('s-offer').textContent = '';
      $('s-change').textContent = '';
      showError(err, await errorOf(r));
      return;
    }
    showError(err, '');
    const b = await r.json();
    $('s-total').textContent = b.display;
    $('s-offer').textContent = b.offers && b.offers.length ? t('sell.with_offer', { offer: b.offers.join(', ') }) : '';
    const ch = $('s-change');
    ch.classList.toggle('short', !!b.short);
    ch.textContent = b.short ? t('sell.short') : b.change_display ? t('sell.change_due', { amount: b.change_display }) : '';
  }

  // Another block from central, while it can be reached: installed before
  // the answer, so the next sale can use it.
  $('s-more').addEventListener('click', async () => {
    const l = current(), said = $('s-more-said');
    if (!l) return;
    $('s-more').disabled = true;
    try {
      const r = await post('/api/v1/quotas/request', { event: l.event, type: l.type });
      if (r.ok) {
        const g = await r.json();
        said.textContent = t('sell.more_done', { n: g.serial_max - g.serial_min + 1 });
        await load();
      } else {
        said.textContent = await errorOf(r);
      }
    } catch (_) { said.textContent = t('sell.error.other'); }
    said.hidden = false;
    $('s-more').disabled = false;
  });

  function setQty(n) {
    const l = current();
    qty = Math.max(1, Math.min(n, 50, l ? l.left || 1 : 50));
    qtyOut.textContent = String(qty);
    quote();
  }
  $('s-minus').addEventListener('click', () => setQty(qty - 1));
  $('s-plus').addEventListener('click', () => setQty(qty + 1));
  item.addEventListener('change', () => setQty(1));
  let typing = 0;
  for (const f of [promo, given]) f.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(quote, 250); });
  form.addEventListener('change', (e) => {
    if (e.target.name !== 'method') return;
    $('s-cash').hidden = method() !== 'cash';
    $('s-card').hidden = method() !== 'card';
    quote();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const l = current();
    if (!l) return;
    const payment = method() === 'cash' ? { method: 'cash', given: given.value.trim() } : { method: 'card', ref: ref.value.trim() };
    const body = { event: l.event, type: l.type, quantity: qty, payment, nonce };
    if (promo.value.trim()) body.promo = promo.value.trim();
    $('s-confirm').disabled = true;
    try {
      const r = await post('/api/v1/sales', body);
      if (!r.ok) { showError(err, await errorOf(r)); return; }
      show(await r.json());
    } catch (x) {
      showError(err, t('sell.error.other')); // the nonce stays: a retry is the same sale
    } finally {
      $('s-confirm').disabled = false;
    }
  });

  function show(s) {
    lastSale = s;
    newNonce();
    form.closest('main').hidden = true;
    sold.hidden = false;
    $('sold-title').textContent = s.voided ? t('sell.voided', { n: s.receipt }) : t('sell.sold', { n: s.receipt, count: s.tickets.length });
    const l = lines.find((x) => x.event === s.event && x.type === s.type);
    let detail = (l ? l.type_name + ' · ' : '') + s.total_display;
    if (s.method === 'cash') detail += ' · ' + t('sell.change_due', { amount: s.change_display });
    else detail += ' · ' + t('sell.card') + ' ' + s.ref;
    $('sold-detail').textContent = detail;
    const qrs = $('qrs');
    qrs.textContent = '';
    s.tickets.forEach((tk, i) => {
      const fig = el('figure', 'qr');
      const img = el('img');
      img.src = '/api/v1/sales/' + s.receipt + '/qr/' + tk.serial;
      img.alt = t('sell.ticket_n', { n: i + 1, of: s.tickets.length });
      img.dataset.code = tk.code;
      fig.append(img, el('figcaption', '', t('sell.ticket_n', { n: i + 1, of: s.tickets.length }) + ' · #' + tk.serial));
      qrs.append(fig);
    });
    sold.classList.toggle('voided', !!s.voided);
    $('sold-void').hidden = !!s.voided;
    $('sold-pdf').href = s.receipt_pdf + '?lang=' + data.lang;
    window.scrollTo(0, 0);
  }

  $('sold-next').addEventListener('click', () => {
    sold.hidden = true;
    form.closest('main').hidden = false;
    given.value = ''; ref.value = ''; promo.value = '';
    setQty(1);
    load();
  });
  $('sold-void').addEventListener('click', () => {
    $('void-heading').textContent = t('sell.void_heading', { n: lastSale.receipt });
    showError($('v-error'), '');
    voidDlg.showModal();
  });
  $('v-cancel').addEventListener('click', () => voidDlg.close());
  $('void-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await post('/api/v1/sales/' + lastSale.receipt + '/void', { reason: $('v-reason').value.trim() });
    if (!r.ok) { showError($('v-error'), await errorOf(r)); return; }
    voidDlg.close();
    show(await r.json());
  });

  newNonce();
  load();
})();

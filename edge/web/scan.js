// tixgate scan screen: the camera sends frames to the device, which decodes
// and decides; the answer fills the screen with a colour, words and a sound.
'use strict';
(() => {
  const { data, t, time, gate, kind, reason, post, el } = tixgate;
  const $ = (id) => document.getElementById(id);
  const video = $('video'), camMsg = $('cam-msg'), pick = $('cam-pick'), torch = $('torch');
  const answer = $('answer'), overrideDlg = $('override');
  const canvas = document.createElement('canvas');
  const ctx2d = canvas.getContext('2d', { willReadFrequently: false });
  const maxSide = 960;                       // frames up to 960 px: enough for a phone-sized QR
  const showFor = { ok: 3000, used: 6000, refused: 6000 };
  let stream = null, track = null, showing = null, clearTimer = 0, lastCode = '';

  // ---- sound: one pattern per result, made with WebAudio ----
  let audio = null;
  function audioCtx() {
    const C = window.AudioContext || window.webkitAudioContext;
    if (!C) return null;
    if (!audio) audio = new C();
    if (audio.state === 'suspended') audio.resume();
    return audio;
  }
  document.addEventListener('pointerdown', audioCtx, { passive: true });
  const tones = {
    ok: { type: 'sine', notes: [[880, 0, 0.12], [1320, 0.14, 0.22]] },
    used: { type: 'triangle', notes: [[587, 0, 0.16], [587, 0.24, 0.16], [587, 0.48, 0.16]] },
    refused: { type: 'square', notes: [[196, 0, 0.7]] },
  };
  function sound(k) {
    document.body.dataset.sound = k;
    const a = audioCtx();
    if (!a) return;
    const now = a.currentTime, tone = tones[k];
    for (const [f, at, len] of tone.notes) {
      const o = a.createOscillator(), g = a.createGain();
      o.type = tone.type; o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, now + at);
      g.gain.exponentialRampToValueAtTime(0.4, now + at + 0.01);
      g.gain.exponentialRampToValueAtTime(0.0001, now + at + len);
      o.connect(g); g.connect(a.destination);
      o.start(now + at); o.stop(now + at + len + 0.05);
    }
  }

  // ---- the answer ----
  function fill(a) {
    const k = a.reason === 'override' ? 'ok' : kind(a.result, a.reason);
    answer.className = 'answer ' + k;
    $('a-mark').textContent = k === 'ok' ? '✓' : k === 'used' ? '!' : '✕';
    let title, detail = '';
    if (a.reason === 'override') {
      title = t('result.override');
    } else if (k === 'ok') {
      title = t('result.ok'); detail = t('result.ok.go');
    } else if (k === 'used') {
      title = t('result.already_used');
      if (a.previous) detail = t(a.previous.exit ? 'result.exited_at' : 'result.used_at', { gate: gate(a.previous.gate), time: time(a.previous.at) });
    } else {
      title = t('result.refused'); detail = reason(a.reason);
    }
    $('a-title').textContent = title;
    $('a-detail').textContent = detail;
    const dl = $('a-ticket');
    dl.replaceChildren();
    const row = (key, v) => { if (v) { dl.append(el('dt', '', t(key)), el('dd', '', v)); } };
    row('field.type', a.type_name);
    row('field.seat', a.seat);
    row('field.holder', a.holder);
    if (a.serial) row('field.serial', String(a.serial));
    const note = [];
    if (a.free_egress) note.push(t('result.free_egress'));
    if (a.repeat) note.push(t('result.repeat'));
    $('a-note').textContent = note.join(' · ');
    $('a-note').hidden = note.length === 0;
    // Only a refusal of a real ticket can be overridden, and only with its code.
    $('a-override').hidden = !(k !== 'ok' && a.serial && lastCode && a.reason !== 'not_provisioned');
    answer.dataset.result = k;
    answer.dataset.reason = a.reason;
    return k;
  }

  function show(a, code) {
    lastCode = code || a.code || '';
    const k = fill(a);
    answer.hidden = false;
    showing = k;
    sound(k);
    clearTimeout(clearTimer);
    clearTimer = setTimeout(clear, showFor[k]);
  }

  function showError(msg) {
    lastCode = '';
    answer.className = 'answer refused';
    $('a-mark').textContent = '✕';
    $('a-title').textContent = t('result.refused');
    $('a-detail').textContent = msg;
    $('a-ticket').replaceChildren();
    $('a-note').hidden = true;
    $('a-override').hidden = true;
    answer.dataset.result = 'error';
    answer.hidden = false;
    showing = 'refused';
    sound('refused');
    clearTimeout(clearTimer);
    clearTimer = setTimeout(clear, showFor.refused);
  }

  function clear() {
    if (overrideDlg.open) return;
    clearTimeout(clearTimer);
    answer.hidden = true;
    showing = null;
    delete answer.dataset.result;
  }
  answer.addEventListener('click', (e) => { if (e.target.id !== 'a-override') clear(); });

  async function decided(r, code) {
    let body = null;
    try { body = await r.json(); } catch (e) { /* not JSON: said below */ }
    if (r.ok && body) { show(body, code); return; }
    showError(t('error.device', { error: (body && body.error) || r.status }));
  }

  // ---- manual entry ----
  $('manual').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('code'), code = input.value.trim();
    if (!code) return;
    try {
      const r = await post('/api/v1/scans', { code: code });
      input.value = '';
      await decided(r, code);
    } catch (err) { showError(t('error.network')); }
  });

  // ---- supervisor override: the PIN is checked by the device ----
  $('a-override').addEventListener('click', (e) => {
    e.stopPropagation();
    clearTimeout(clearTimer);
    $('o-error').hidden = true;
    $('override-form').reset();
    overrideDlg.showModal();
  });
  $('o-cancel').addEventListener('click', () => { overrideDlg.close(); clear(); });
  $('override-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    const req = { code: lastCode, supervisor: f.supervisor.value.trim(), pin: f.pin.value, note: f.note.value.trim() };
    let r, body = null;
    try { r = await post('/api/v1/overrides', req); body = await r.json(); } catch (err) { body = { error: t('error.network') }; }
    if (r && r.ok) {
      overrideDlg.close();
      show(body, lastCode);
      $('a-note').textContent = t('override.by', { name: req.supervisor, note: req.note });
      $('a-note').hidden = false;
      return;
    }
    f.pin.value = '';
    const why = r && r.status === 403 ? t('override.error.pin') : r && r.status === 429 ? t('login.error.limited')
      : t('error.override', { error: (body && body.error) || (r && r.status) });
    $('o-error').textContent = why;
    $('o-error').hidden = false;
  });

  // ---- the camera ----
  const hint = document.querySelector('.hint');
  function camSay(key, args) {
    camMsg.textContent = t(key, args);
    camMsg.hidden = false;
    hint.hidden = true;
    document.body.dataset.camera = key;
  }

  // camGen counts the calls of startCamera: one that a newer call
  // overtook while it waited (the camera picker changed, a retry) stops
  // there instead of using the newer call's camera.
  let camGen = 0;
  async function startCamera(deviceId) {
    const gen = ++camGen;
    if (!window.isSecureContext) return camSay('scan.camera.insecure');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return camSay('scan.camera.none');
    if (stream) stream.getTracks().forEach((tr) => tr.stop());
    stream = track = null;
    const video_ = deviceId ? { deviceId: { exact: deviceId } } : { facingMode: { ideal: 'environment' } };
    video_.width = { ideal: 1280 }; video_.height = { ideal: 720 };
    let got;
    try {
      got = await navigator.mediaDevices.getUserMedia({ video: video_, audio: false });
    } catch (e) {
      if (gen !== camGen) return;
      if (e.name === 'NotAllowedError' || e.name === 'SecurityError') return camSay('scan.camera.denied');
      if (deviceId && (e.name === 'NotFoundError' || e.name === 'OverconstrainedError')) return startCamera('');
      if (e.name === 'NotFoundError' || e.name === 'OverconstrainedError') return camSay('scan.camera.none');
      return camSay('scan.camera.error', { error: e.message || e.name });
    }
    if (gen !== camGen) { got.getTracks().forEach((tr) => tr.stop()); return; }
    stream = got;
    const tr = track = stream.getVideoTracks()[0];
    video.srcObject = stream;
    try { await video.play(); } catch (e) { /* autoplay of a muted video is allowed */ }
    if (gen !== camGen) return;
    camMsg.hidden = true;
    hint.hidden = false;
    const caps = tr.getCapabilities ? tr.getCapabilities() : {};
    torch.hidden = !caps.torch;
    torch.setAttribute('aria-pressed', 'false');
    const cams = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
    if (gen !== camGen) return;
    pick.replaceChildren(...cams.map((d, i) => {
      const o = el('option', '', d.label || t('scan.camera.pick') + ' ' + (i + 1));
      o.value = d.deviceId;
      return o;
    }));
    pick.value = tr.getSettings().deviceId || '';
    pick.hidden = cams.length < 2;
    document.body.dataset.camera = 'on';
  }
  pick.addEventListener('change', () => {
    try { localStorage.setItem('tixgate.camera', pick.value); } catch (e) { /* private mode */ }
    startCamera(pick.value);
  });
  torch.addEventListener('click', async () => {
    const on = torch.getAttribute('aria-pressed') !== 'true';
    try { await track.applyConstraints({ advanced: [{ torch: on }] }); torch.setAttribute('aria-pressed', String(on)); } catch (e) { torch.hidden = true; }
  });

  function grab() {
    return new Promise((resolve) => {
      const w = video.videoWidth, h = video.videoHeight;
      if (!w || !h) return resolve(null);
      const s = Math.min(1, maxSide / Math.max(w, h));
      canvas.width = Math.round(w * s); canvas.height = Math.round(h * s);
      ctx2d.drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(resolve, 'image/jpeg', 0.85);
    });
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // One frame at a time: the next leaves when the device answered the last,
  // so a slow device is never flooded. Nothing is sent while an answer shows.
  // Leaving the page (the logout form, another screen) stops the frames,
  // so none arrives after the session has ended.
  let leaving = false;
  document.addEventListener('submit', () => { leaving = true; });
  window.addEventListener('pagehide', () => { leaving = true; });

  async function frames() {
    for (;;) {
      if (leaving) return;
      // Frames go on while an answer shows, so a ticket still held up
      // stays one scan (the device answers "repeat") rather than being
      // read anew once the answer clears; a new ticket replaces the answer.
      if (!track || overrideDlg.open || document.hidden || track.readyState !== 'live') { await sleep(150); continue; }
      const blob = await grab();
      if (!blob) { await sleep(150); continue; }
      let r;
      if (leaving) return;
      try { r = await post('/api/v1/frames', blob, 'image/jpeg'); } catch (e) { await sleep(1000); continue; }
      if (r.status === 204) { await sleep(80); continue; }
      // A frame the device could not read as an image is no scan: the
      // next one goes. Only an answer, or the device failing to decide,
      // takes the screen.
      if (r.status === 400 || r.status === 413 || r.status === 415) { await sleep(500); continue; }
      if (r.ok) {
        let body = null;
        try { body = await r.json(); } catch (e) { /* not JSON: said below */ }
        if (body && body.repeat) { await sleep(150); continue; }
        if (body) { show(body); continue; }
      }
      await decided(r);
    }
  }

  let saved = '';
  try { saved = localStorage.getItem('tixgate.camera') || ''; } catch (e) { /* private mode */ }
  startCamera(saved).then(frames);
})();

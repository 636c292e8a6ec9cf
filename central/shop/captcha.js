// The box office's proof-of-work captcha, in the buyer's browser. No
// dependencies and no crypto.subtle (which needs HTTPS), so it works on
// any page:
//
//   const captcha = await tixgateCaptcha.get("/api/v1/shop/");
//   fetch("/api/v1/shop/accounts", {method: "POST", body: JSON.stringify({email, password, captcha})});
//
// get fetches a challenge and finds a nonce such that
// SHA-256(challenge + ":" + nonce) begins with `difficulty` zero bits; it
// yields to the page every few thousand hashes so the page stays live.
(function (global) {
  "use strict";
  var K = new Uint32Array([0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2]);
  var H0 = [0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19];
  var W = new Uint32Array(64);
  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }
  // sha256 returns the digest of bytes as eight 32-bit words.
  function sha256(bytes) {
    var l = bytes.length, nb = ((l + 8) >> 6 << 6) + 64;
    var m = new Uint8Array(nb);
    m.set(bytes);
    m[l] = 0x80;
    var hi = Math.floor(l / 0x20000000), lo = (l << 3) >>> 0;
    m[nb - 8] = hi >>> 24; m[nb - 7] = hi >>> 16; m[nb - 6] = hi >>> 8; m[nb - 5] = hi;
    m[nb - 4] = lo >>> 24; m[nb - 3] = lo >>> 16; m[nb - 2] = lo >>> 8; m[nb - 1] = lo;
    var h = H0.slice();
    for (var off = 0; off < nb; off += 64) {
      var i;
      for (i = 0; i < 16; i++) {
        var j = off + 4 * i;
        W[i] = ((m[j] << 24) | (m[j + 1] << 16) | (m[j + 2] << 8) | m[j + 3]) >>> 0;
      }
      for (i = 16; i < 64; i++) {
        var x = W[i - 15], y = W[i - 2];
        var s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
        var s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) >>> 0;
      }
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (i = 0; i < 64; i++) {
        var S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        var ch = (e & f) ^ (~e & g);
        var t1 = (k + S1 + ch + K[i] + W[i]) >>> 0;
        var S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        var maj = (a & b) ^ (a & c) ^ (b & c);
        var t2 = (S0 + maj) >>> 0;
        k = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      h[0] = (h[0] + a) >>> 0; h[1] = (h[1] + b) >>> 0; h[2] = (h[2] + c) >>> 0; h[3] = (h[3] + d) >>> 0;
      h[4] = (h[4] + e) >>> 0; h[5] = (h[5] + f) >>> 0; h[6] = (h[6] + g) >>> 0; h[7] = (h[7] + k) >>> 0;
    }
    return h;
  }
  function zeroBits(h) {
    var n = 0;
    for (var i = 0; i < 8; i++) {
      if (h[i] !== 0) { return n + Math.clz32(h[i]); }
      n += 32;
    }
    return n;
  }
  var enc = new TextEncoder();
  // solve resolves to the first nonce (a decimal string) that gives bits
  // leading zero bits.
  function solve(challenge, bits) {
    var prefix = challenge + ":";
    var i = 0;
    return new Promise(function (resolve) {
      function run() {
        for (var end = i + 4096; i < end; i++) {
          if (zeroBits(sha256(enc.encode(prefix + i))) >= bits) { resolve(String(i)); return; }
        }
        setTimeout(run, 0);
      }
      run();
    });
  }
  // get fetches a challenge from the API at base and solves it.
  function get(base) {
    return fetch(base + "captcha", {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error("captcha: HTTP " + r.status); } return r.json(); })
      .then(function (c) { return solve(c.challenge, c.difficulty).then(function (n) { return {challenge: c.challenge, nonce: n}; }); });
  }
  function hex(s) {
    return sha256(enc.encode(s)).map(function (w) { return ("0000000" + w.toString(16)).slice(-8); }).join("");
  }
  global.tixgateCaptcha = {solve: solve, get: get, sha256Hex: hex};
})(typeof window !== "undefined" ? window : this);

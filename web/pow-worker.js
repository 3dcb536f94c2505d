// Proof-of-work worker: finds a decimal nonce such that SHA-256(challenge +
// nonce) starts with `difficulty` zero bits, posting the tries now and then.
'use strict';
const K = new Uint32Array(64);
const IV = new Uint32Array(8);
const W = new Uint32Array(64);
const H = new Uint32Array(8);
// SHA-256's constants: fractions of the square and cube roots of the first primes.
for (let p = 2, i = 0; i < 64; p++) {
  let q = 2;
  while (p % q) q++;
  if (q < p) continue;
  if (i < 8) IV[i] = (p ** 0.5 % 1) * 2 ** 32;
  K[i++] = (Math.cbrt(p) % 1) * 2 ** 32;
}
const rotr = (x, n) => (x >>> n) | (x << (32 - n));

// SHA-256 of b[0..len) into H; b has room for the padding.
function sha256(b, len) {
  const end = ((len + 72) >> 6) << 6;
  b.fill(0, len, end);
  b[len] = 128;
  b[end - 2] = len >>> 5;
  b[end - 1] = len << 3;
  H.set(IV);
  for (let o = 0; o < end; o += 64) {
    for (let i = 0; i < 16; i++) W[i] = (b[o + 4 * i] << 24) | (b[o + 4 * i + 1] << 16) | (b[o + 4 * i + 2] << 8) | b[o + 4 * i + 3];
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15];
      const y = W[i - 2];
      W[i] = (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + W[i - 7] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10)) + W[i - 16];
    }
    let a = H[0], c = H[1], d = H[2], e = H[3], f = H[4], g = H[5], h = H[6], k = H[7];
    for (let i = 0; i < 64; i++) {
      const t1 = (k + (rotr(f, 6) ^ rotr(f, 11) ^ rotr(f, 25)) + ((f & g) ^ (~f & h)) + K[i] + W[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & c) ^ (a & d) ^ (c & d))) | 0;
      k = h; h = g; g = f; f = (e + t1) | 0; e = d; d = c; c = a; a = (t1 + t2) | 0;
    }
    H[0] += a; H[1] += c; H[2] += d; H[3] += e; H[4] += f; H[5] += g; H[6] += h; H[7] += k;
  }
}

onmessage = ({ data: { challenge, difficulty } }) => {
  const pre = new TextEncoder().encode(challenge);
  const b = new Uint8Array(pre.length + 100);
  b.set(pre);
  for (let n = 0; ; n++) {
    const digits = String(n);
    for (let i = 0; i < digits.length; i++) b[pre.length + i] = digits.charCodeAt(i);
    sha256(b, pre.length + digits.length);
    if ((H[0] ? Math.clz32(H[0]) : 32 + Math.clz32(H[1])) >= difficulty) return postMessage({ nonce: digits, tries: n + 1 });
    if ((n & 0xffff) === 0xffff) postMessage({ tries: n + 1 });
  }
};

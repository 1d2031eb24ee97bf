// ECDSA verification over secp256k1 with BigInt, as docs/spec/transactions.md
// defines signatures: a 64-byte compact r || s over a 32-byte digest (no
// further hashing), 1 <= r < n, 1 <= s <= n/2 (low S), public keys as 33-byte
// SEC1 compressed points. Verification only: the page holds no secrets, so
// constant time is not needed. Points are in Jacobian coordinates (X, Y, Z)
// standing for (X/Z^2, Y/Z^3); Z = 0 is the point at infinity.

const P = 2n ** 256n - 2n ** 32n - 977n;
export const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const GX = 0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n;
const GY = 0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8n;
const INFINITY = [0n, 1n, 0n];

const mod = (a, m = P) => {
  const r = a % m;
  return r >= 0n ? r : r + m;
};

function invert(a, m) {
  // Extended Euclid; a is in [1, m-1] and m is prime here.
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new Error("not invertible");
  return mod(oldS, m);
}

function power(base, exponent, m) {
  let result = 1n;
  let b = mod(base, m);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

function double([x, y, z]) {
  if (z === 0n || y === 0n) return INFINITY;
  const yy = mod(y * y);
  const s = mod(4n * x * yy);
  const m = mod(3n * x * x); // a = 0 on secp256k1
  const x3 = mod(m * m - 2n * s);
  const y3 = mod(m * (s - x3) - 8n * yy * yy);
  const z3 = mod(2n * y * z);
  return [x3, y3, z3];
}

function add(p1, p2) {
  const [x1, y1, z1] = p1;
  const [x2, y2, z2] = p2;
  if (z1 === 0n) return p2;
  if (z2 === 0n) return p1;
  const z1z1 = mod(z1 * z1);
  const z2z2 = mod(z2 * z2);
  const u1 = mod(x1 * z2z2);
  const u2 = mod(x2 * z1z1);
  const s1 = mod(y1 * z2 * z2z2);
  const s2 = mod(y2 * z1 * z1z1);
  if (u1 === u2) return s1 === s2 ? double(p1) : INFINITY;
  const h = mod(u2 - u1);
  const r = mod(s2 - s1);
  const hh = mod(h * h);
  const hhh = mod(h * hh);
  const v = mod(u1 * hh);
  const x3 = mod(r * r - hhh - 2n * v);
  const y3 = mod(r * (v - x3) - s1 * hhh);
  const z3 = mod(z1 * z2 * h);
  return [x3, y3, z3];
}

function affineX([x, , z]) {
  const zInverse = invert(z, P);
  return mod(x * zInverse * zInverse);
}

/** u1*G + u2*Q by one shared double-and-add pass (Shamir's trick). */
function doubleMultiply(u1, u2, q) {
  const g = [GX, GY, 1n];
  const both = add(g, q);
  let acc = INFINITY;
  for (let bit = 255n; bit >= 0n; bit--) {
    acc = double(acc);
    const a = (u1 >> bit) & 1n;
    const b = (u2 >> bit) & 1n;
    if (a && b) acc = add(acc, both);
    else if (a) acc = add(acc, g);
    else if (b) acc = add(acc, q);
  }
  return acc;
}

function bytesToInt(bytes) {
  let v = 0n;
  for (const byte of bytes) v = (v << 8n) | BigInt(byte);
  return v;
}

/** The curve point of a 33-byte compressed public key; throws for anything else. */
export function decompress(publicKey) {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 33) {
    throw new Error("a public key is 33 bytes");
  }
  const prefix = publicKey[0];
  if (prefix !== 2 && prefix !== 3) throw new Error("not a compressed point");
  const x = bytesToInt(publicKey.subarray(1));
  if (x >= P) throw new Error("x is not a field element");
  const ySquared = mod(x * x * x + 7n);
  let y = power(ySquared, (P + 1n) / 4n, P);
  if (mod(y * y) !== ySquared) throw new Error("not on the curve");
  if ((y & 1n) !== BigInt(prefix & 1)) y = P - y;
  return [x, y, 1n];
}

/** Whether `signature` (64 bytes, low S) is a valid ECDSA signature of the
 * 32-byte `digest` by the compressed `publicKey`. Never throws for bad input. */
export function verifyDigest(publicKey, digest, signature) {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!(digest instanceof Uint8Array) || digest.length !== 32) return false;
  let q;
  try {
    q = decompress(publicKey);
  } catch {
    return false;
  }
  const r = bytesToInt(signature.subarray(0, 32));
  const s = bytesToInt(signature.subarray(32));
  if (r < 1n || r >= N || s < 1n || s > N / 2n) return false;
  const e = bytesToInt(digest) % N;
  const w = invert(s, N);
  const point = doubleMultiply(mod(e * w, N), mod(r * w, N), q);
  if (point[2] === 0n) return false;
  return mod(affineX(point), N) === r;
}

// The canonical msgpack encoding of docs/spec/encoding.md, for the explorer's
// in-browser checks (block headers, certificates, proofs, account values).
//
// Values: null, true/false, integers as BigInt (Numbers are accepted when
// encoding), text as String, bytes as Uint8Array, arrays as Array, maps as
// Map or plain objects (keys ordered by their UTF-8 bytes). Integers beyond
// 64 bits use ext type 1 (positive) and 2 (negative magnitude), at most 256
// bits. decode() is strict: it accepts only bytes that encode() would give.

const UTF8 = new TextEncoder();
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true });
const MAX_DEPTH = 64;

export class CodecError extends Error {}

function concat(parts) {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function bigEndian(value, size) {
  const out = new Uint8Array(size);
  let v = BigInt(value);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function minimalBytes(magnitude) {
  const bytes = [];
  let v = magnitude;
  while (v > 0n) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return Uint8Array.from(bytes);
}

function sized(length, formats) {
  for (const [limit, code, size] of formats) {
    if (length <= limit) return concat([Uint8Array.of(code), bigEndian(length, size)]);
  }
  throw new CodecError("too long");
}

function encodeExt(kind, magnitude) {
  const payload = minimalBytes(magnitude);
  if (payload.length > 32) throw new CodecError("integer beyond 256 bits");
  const fixed = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
  const head = fixed[payload.length] !== undefined
    ? Uint8Array.of(fixed[payload.length], kind)
    : Uint8Array.of(0xc7, payload.length, kind);
  return concat([head, payload]);
}

function encodeInt(n) {
  if (n >= 0n && n <= 127n) return Uint8Array.of(Number(n));
  if (n < 0n && n >= -32n) return Uint8Array.of(Number(n) & 0xff);
  if (n > 0n) {
    for (const [limit, code, size] of [[0xffn, 0xcc, 1], [0xffffn, 0xcd, 2], [0xffffffffn, 0xce, 4],
      [0xffffffffffffffffn, 0xcf, 8]]) {
      if (n <= limit) return concat([Uint8Array.of(code), bigEndian(n, size)]);
    }
    return encodeExt(1, n);
  }
  for (const [limit, code, size] of [[-(2n ** 7n), 0xd0, 1], [-(2n ** 15n), 0xd1, 2],
    [-(2n ** 31n), 0xd2, 4], [-(2n ** 63n), 0xd3, 8]]) {
    if (n >= limit) return concat([Uint8Array.of(code), bigEndian(BigInt.asUintN(size * 8, n), size)]);
  }
  return encodeExt(2, -n);
}

function compareBytes(a, b) {
  const size = Math.min(a.length, b.length);
  for (let i = 0; i < size; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The canonical encoding of a value (see the module comment). Throws CodecError. */
export function encode(value) {
  if (value === null || value === undefined) return Uint8Array.of(0xc0);
  if (value === true) return Uint8Array.of(0xc3);
  if (value === false) return Uint8Array.of(0xc2);
  if (typeof value === "bigint") return encodeInt(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new CodecError(`not an integer: ${value}`);
    return encodeInt(BigInt(value));
  }
  if (value instanceof Uint8Array) {
    return concat([sized(value.length, [[0xff, 0xc4, 1], [0xffff, 0xc5, 2], [0xffffffff, 0xc6, 4]]), value]);
  }
  if (typeof value === "string") {
    const raw = UTF8.encode(value);
    if (raw.length < 32) return concat([Uint8Array.of(0xa0 | raw.length), raw]);
    return concat([sized(raw.length, [[0xff, 0xd9, 1], [0xffff, 0xda, 2], [0xffffffff, 0xdb, 4]]), raw]);
  }
  if (Array.isArray(value)) {
    const head = value.length < 16
      ? Uint8Array.of(0x90 | value.length)
      : sized(value.length, [[0xffff, 0xdc, 2], [0xffffffff, 0xdd, 4]]);
    return concat([head, ...value.map(encode)]);
  }
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  const keyed = entries.map(([k, v]) => [encode(k), v]);
  keyed.sort((a, b) => compareBytes(a[0], b[0]));
  const head = keyed.length < 16
    ? Uint8Array.of(0x80 | keyed.length)
    : sized(keyed.length, [[0xffff, 0xde, 2], [0xffffffff, 0xdf, 4]]);
  return concat([head, ...keyed.flatMap(([k, v]) => [k, encode(v)])]);
}

class Reader {
  constructor(data) {
    this.data = data;
    this.offset = 0;
  }

  take(count) {
    if (count > this.data.length - this.offset) throw new CodecError("truncated");
    const out = this.data.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  uint(size) {
    let v = 0n;
    for (const byte of this.take(size)) v = (v << 8n) | BigInt(byte);
    return v;
  }

  length(size) {
    return Number(this.uint(size));
  }

  value(depth) {
    if (depth > MAX_DEPTH) throw new CodecError("nested too deep");
    const code = this.take(1)[0];
    if (code <= 0x7f) return BigInt(code);
    if (code >= 0xe0) return BigInt(code - 0x100);
    if ((code & 0xf0) === 0x80) return this.map(code & 0x0f, depth);
    if ((code & 0xf0) === 0x90) return this.array(code & 0x0f, depth);
    if ((code & 0xe0) === 0xa0) return this.text(code & 0x1f);
    switch (code) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.take(this.length(1)).slice();
      case 0xc5: return this.take(this.length(2)).slice();
      case 0xc6: return this.take(this.length(4)).slice();
      case 0xc7: return this.ext(this.length(1));
      case 0xc8: return this.ext(this.length(2));
      case 0xc9: return this.ext(this.length(4));
      case 0xcc: return this.uint(1);
      case 0xcd: return this.uint(2);
      case 0xce: return this.uint(4);
      case 0xcf: return this.uint(8);
      case 0xd0: return BigInt.asIntN(8, this.uint(1));
      case 0xd1: return BigInt.asIntN(16, this.uint(2));
      case 0xd2: return BigInt.asIntN(32, this.uint(4));
      case 0xd3: return BigInt.asIntN(64, this.uint(8));
      case 0xd4: return this.ext(1);
      case 0xd5: return this.ext(2);
      case 0xd6: return this.ext(4);
      case 0xd7: return this.ext(8);
      case 0xd8: return this.ext(16);
      case 0xd9: return this.text(this.length(1));
      case 0xda: return this.text(this.length(2));
      case 0xdb: return this.text(this.length(4));
      case 0xdc: return this.array(this.length(2), depth);
      case 0xdd: return this.array(this.length(4), depth);
      case 0xde: return this.map(this.length(2), depth);
      case 0xdf: return this.map(this.length(4), depth);
      default: throw new CodecError(`no such value type 0x${code.toString(16)}`);
    }
  }

  text(size) {
    try {
      return UTF8_STRICT.decode(this.take(size));
    } catch {
      throw new CodecError("text is not valid UTF-8");
    }
  }

  ext(size) {
    const kind = this.take(1)[0];
    const payload = this.take(size);
    if ((kind !== 1 && kind !== 2) || payload.length === 0 || payload[0] === 0 || payload.length > 32) {
      throw new CodecError(`not a canonical big integer (ext ${kind})`);
    }
    let magnitude = 0n;
    for (const byte of payload) magnitude = (magnitude << 8n) | BigInt(byte);
    return kind === 1 ? magnitude : -magnitude;
  }

  array(count, depth) {
    // Every element takes at least one byte: a count beyond the rest is a lie.
    if (count > this.data.length - this.offset) throw new CodecError("truncated");
    const out = [];
    for (let i = 0; i < count; i++) out.push(this.value(depth + 1));
    return out;
  }

  map(count, depth) {
    if (2 * count > this.data.length - this.offset) throw new CodecError("truncated");
    const out = new Map();
    for (let i = 0; i < count; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== "string") throw new CodecError("map keys must be text");
      if (out.has(key)) throw new CodecError("duplicate map key");
      out.set(key, this.value(depth + 1));
    }
    return out;
  }
}

function sameBytes(a, b) {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** Decode canonical bytes into a value; throws CodecError for anything else
 * (trailing bytes, non-minimal forms, unsorted map keys, floats, ...). */
export function decode(data) {
  const reader = new Reader(data);
  const value = reader.value(0);
  if (reader.offset !== data.length) throw new CodecError("trailing bytes");
  if (!sameBytes(encode(value), data)) throw new CodecError("not the canonical encoding");
  return value;
}

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of an even-length hex string (no 0x). Throws CodecError. */
export function fromHex(text) {
  if (typeof text !== "string" || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new CodecError("not hex");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export { concat, sameBytes };

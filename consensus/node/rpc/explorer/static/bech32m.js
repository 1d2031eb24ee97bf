// Addresses: bech32m (BIP-350) with human-readable part "lg" over the 20
// address bytes (docs/spec/transactions.md, "Addresses").

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const BECH32M = 0x2bc830a3;
const HRP = "lg";

function polymod(values) {
  let check = 1;
  for (const value of values) {
    const top = check >>> 25;
    check = (((check & 0x1ffffff) << 5) ^ value) >>> 0;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) check = (check ^ GENERATORS[i]) >>> 0;
  }
  return check;
}

function hrpValues(hrp) {
  const codes = [...hrp].map((c) => c.charCodeAt(0));
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)];
}

/** The 20 bytes behind an lg1... address; throws Error naming what is wrong. */
export function addressBytes(text) {
  if (typeof text !== "string" || text.length < 8 || text.length > 90) throw new Error("bad length");
  if (text.toLowerCase() !== text && text.toUpperCase() !== text) throw new Error("mixed case");
  const lower = text.toLowerCase();
  const separator = lower.lastIndexOf("1");
  const hrp = lower.slice(0, separator);
  const rest = lower.slice(separator + 1);
  if (hrp !== HRP || lower.length !== 41) throw new Error("not an lg1 address");
  const data = [...rest].map((c) => CHARSET.indexOf(c));
  if (data.includes(-1)) throw new Error("a character outside the bech32 alphabet");
  if (polymod([...hrpValues(hrp), ...data]) !== BECH32M) throw new Error("bad checksum");
  let value = 0n;
  for (const group of data.slice(0, -6)) value = (value << 5n) | BigInt(group);
  const out = new Uint8Array(20);
  for (let i = 19; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** The lg1... text of 20 address bytes. */
export function addressText(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 20) throw new Error("an address is 20 bytes");
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  const groups = [];
  for (let i = 31; i >= 0; i--) groups.push(Number((value >> BigInt(5 * i)) & 31n));
  const check = polymod([...hrpValues(HRP), ...groups, 0, 0, 0, 0, 0, 0]) ^ BECH32M;
  const checksum = [];
  for (let i = 0; i < 6; i++) checksum.push((check >>> (5 * (5 - i))) & 31);
  return `${HRP}1${[...groups, ...checksum].map((g) => CHARSET[g]).join("")}`;
}

/** Whether text is a well-formed lg1 address. */
export function isAddress(text) {
  try {
    addressBytes(text);
    return true;
  } catch {
    return false;
  }
}

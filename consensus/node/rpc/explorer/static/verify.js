// The checks a light client makes, done in the browser from the JSON the
// node serves, with nothing but the spec (docs/spec/rpc.md "From JSON to the
// hashed header", transactions.md "Block", state-proofs.md "Verification"):
//
// 1. hash a block's header from its JSON fields;
// 2. check the commit certificate carried by the next block: for this height
//    and hash, signers strictly ascending, each a member of the height's
//    validator set whose key hashes to its address, each signature a valid
//    low-S ECDSA precommit, more than two thirds of the set's power;
// 3. verify an account's state proof against the state root of that header.
//
// Every function returns a result object or throws VerifyError with a reason.

import { concat, decode, encode, fromHex, sameBytes, toHex } from "./codec.js";
import { addressBytes, addressText } from "./bech32m.js";
import { sha256 } from "./sha256.js";
import { verifyDigest } from "./secp256k1.js";

export class VerifyError extends Error {}

const UTF8 = new TextEncoder();
const EMPTY = new Uint8Array(32);
const MAX_PROOF_LEVELS = 64;
const LEVEL_BYTES = 480;

function ensure(condition, reason) {
  if (!condition) throw new VerifyError(reason);
}

function hash32(text, name) {
  const bytes = fromHex(text);
  ensure(bytes.length === 32, `${name} is not 32 bytes`);
  return bytes;
}

/** The 10-element header array of a block's JSON, in the hashed order. */
export function headerOf(block) {
  return [
    BigInt(block.version),
    block.chainId,
    BigInt(block.height),
    BigInt(block.timeMs),
    hash32(block.prevHash, "prevHash"),
    hash32(block.lastCommitHash, "lastCommitHash"),
    hash32(block.txsRoot, "txsRoot"),
    hash32(block.receiptsRoot, "receiptsRoot"),
    hash32(block.stateRoot, "stateRoot"),
    addressBytes(block.proposer),
  ];
}

/** The block hash computed from the JSON header fields (hex). */
export async function headerHash(block) {
  return toHex(await sha256(encode(headerOf(block))));
}

/** Merkle root of 32-byte hashes (transactions.md, "Merkle root"). */
export async function merkleRoot(hashes) {
  if (hashes.length === 0) return new Uint8Array(32);
  let level = await Promise.all(hashes.map((h) => sha256(concat([Uint8Array.of(0), h]))));
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      next.push(await sha256(concat([Uint8Array.of(1), level[i], level[i + 1]])));
    }
    if (level.length % 2) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/** SHA-256(encode([tag, chainId, payload])): what every signature covers. */
export async function signingDigest(tag, chainId, payload) {
  return sha256(encode([tag, chainId, payload]));
}

/**
 * Check `block` (JSON, with transactions as hashes or objects) on its own:
 * its hash, its txsRoot and the hash of the certificate it carries.
 * Returns {hash}. Throws VerifyError.
 */
export async function checkBlock(block) {
  const hash = await headerHash(block);
  ensure(hash === block.hash, `header hash ${hash.slice(0, 16)}… differs from the block's hash`);
  const lastCommit = fromHex(block.lastCommit);
  ensure(toHex(await sha256(lastCommit)) === block.lastCommitHash, "lastCommitHash does not match lastCommit");
  const txHashes = block.transactions.map((t) => hash32(typeof t === "string" ? t : t.hash, "transaction hash"));
  ensure(toHex(await merkleRoot(txHashes)) === block.txsRoot, "txsRoot does not match the transactions");
  return { hash };
}

/**
 * Verify that `next.lastCommit` certifies `block` with more than two thirds
 * of the power of `validatorSet` (the ledger_validators answer for
 * block.height). Returns {hash, round, signers, power, totalPower}.
 */
export async function verifyCommit(block, next, validatorSet, chainId) {
  const { hash } = await checkBlock(block);
  await checkBlock(next);
  ensure(next.height === block.height + 1, "the certificate must come from the next block");
  ensure(next.prevHash === hash, "the next block does not point at this block");
  ensure(next.lastCommit !== "", "the next block carries no certificate (a single-node chain has none)");
  const result = await verifyCertificate(next.lastCommit, block.height, hash, validatorSet, chainId);
  return { hash, ...result };
}

/**
 * Verify a commit certificate (hex of [height, round, block_hash,
 * [[address, signature], ...]]) for block `height` with hash `hash` (hex)
 * against `validatorSet`. Returns {round, signers, power, totalPower}.
 */
export async function verifyCertificate(certificateHex, height, hash, validatorSet, chainId) {
  const certificate = decode(fromHex(certificateHex));
  ensure(Array.isArray(certificate) && certificate.length === 4, "a certificate is [height, round, hash, signatures]");
  const [certifiedHeight, round, blockHash, signatures] = certificate;
  ensure(certifiedHeight === BigInt(height), "the certificate is for another height");
  ensure(typeof round === "bigint" && round >= 0n, "bad round");
  ensure(blockHash instanceof Uint8Array && toHex(blockHash) === hash, "the certificate is for another block");
  ensure(Array.isArray(signatures), "signatures must be an array");
  ensure(validatorSet.height === height, "the validator set is for another height");
  const members = new Map();
  let totalPower = 0n;
  for (const v of validatorSet.validators) {
    const publicKey = fromHex(v.publicKey);
    const address = (await sha256(publicKey)).subarray(0, 20);
    ensure(addressText(address) === v.address, `validator ${v.address}'s key does not hash to its address`);
    members.set(toHex(address), { publicKey, power: BigInt(v.power), name: v.name, address: v.address });
    totalPower += BigInt(v.power);
  }
  ensure(BigInt(validatorSet.totalPower) === totalPower, "totalPower is not the sum of the powers");
  const digest = await signingDigest("ledger/precommit/v1", chainId, [certifiedHeight, round, blockHash]);
  let power = 0n;
  let previous = null;
  const signers = [];
  for (const entry of signatures) {
    ensure(Array.isArray(entry) && entry.length === 2, "a signature entry is [address, signature]");
    const [address, signature] = entry;
    ensure(address instanceof Uint8Array && address.length === 20, "a signer address is 20 bytes");
    const key = toHex(address);
    ensure(previous === null || key > previous, "signers must be strictly ascending");
    previous = key;
    const member = members.get(key);
    ensure(member !== undefined, `signer ${addressText(address)} is not in the validator set`);
    ensure(verifyDigest(member.publicKey, digest, signature), `bad precommit signature of ${member.address}`);
    power += member.power;
    signers.push(member.address);
  }
  ensure(3n * power > 2n * totalPower, `signed by ${power} of ${totalPower} power: not more than two thirds`);
  return { round: Number(round), signers, power, totalPower };
}

/** The signer addresses (lg1...) of a certificate, without checking it (for display). */
export function certificateSigners(certificateHex) {
  if (!certificateHex) return [];
  const certificate = decode(fromHex(certificateHex));
  return certificate[3].map(([address]) => addressText(address));
}

function nibble(key, depth) {
  const byte = key[depth >> 1];
  return depth % 2 === 0 ? byte >> 4 : byte & 15;
}

/**
 * state-proofs.md "Verification": whether `proof` (bytes) shows `key` maps to
 * `value` (bytes, or null for absence) under `root`. Returns a boolean;
 * throws VerifyError (or CodecError) for proof bytes that do not decode.
 */
export async function verifyProof(root, key, value, proof) {
  ensure(root.length === 32 && key.length === 32, "root and key are 32 bytes");
  const decoded = decode(proof);
  ensure(Array.isArray(decoded) && decoded.length === 2, "a proof is [siblings, other_leaf]");
  const [siblings, otherLeaf] = decoded;
  ensure(Array.isArray(siblings) && siblings.length <= MAX_PROOF_LEVELS, "at most 64 levels");
  ensure(siblings.every((s) => s instanceof Uint8Array && s.length === LEVEL_BYTES), "every level is 480 bytes");
  const depth = siblings.length;
  let node;
  if (value !== null) {
    if (otherLeaf !== null) return false;
    node = await sha256(concat([Uint8Array.of(0), key, await sha256(value)]));
  } else if (otherLeaf === null) {
    node = EMPTY;
  } else {
    ensure(Array.isArray(otherLeaf) && otherLeaf.length === 2, "other_leaf is [key, value hash]");
    const [otherKey, valueHash] = otherLeaf;
    ensure(otherKey instanceof Uint8Array && otherKey.length === 32, "other key is 32 bytes");
    ensure(valueHash instanceof Uint8Array && valueHash.length === 32, "value hash is 32 bytes");
    if (sameBytes(otherKey, key)) return false;
    for (let d = 0; d < depth; d++) if (nibble(otherKey, d) !== nibble(key, d)) return false;
    node = await sha256(concat([Uint8Array.of(0), otherKey, valueHash]));
  }
  for (let d = depth - 1; d >= 0; d--) {
    const cut = 32 * nibble(key, d);
    const level = siblings[d];
    node = await sha256(concat([Uint8Array.of(1), level.subarray(0, cut), node, level.subarray(cut)]));
  }
  return sameBytes(node, root);
}

/** The tree key of an account: SHA-256("a" || 20-byte address). */
export async function accountTreeKey(address) {
  return sha256(concat([UTF8.encode("a"), addressBytes(address)]));
}

/** The decoded proved value [nonce, [[asset, amount], ...]] as
 * {nonce: BigInt, balances: {asset: BigInt}}; throws VerifyError. */
export function decodeAccountValue(value) {
  const decoded = decode(value);
  ensure(Array.isArray(decoded) && decoded.length === 2, "an account is [nonce, balances]");
  const [nonce, pairs] = decoded;
  ensure(typeof nonce === "bigint" && nonce >= 0n, "bad nonce");
  ensure(Array.isArray(pairs), "balances must be an array");
  const balances = {};
  let previous = null;
  for (const pair of pairs) {
    ensure(Array.isArray(pair) && pair.length === 2, "a balance is [asset, amount]");
    const [asset, amount] = pair;
    ensure(typeof asset === "string" && typeof amount === "bigint" && amount > 0n, "bad balance entry");
    ensure(previous === null || asset > previous, "assets must be strictly ascending");
    previous = asset;
    balances[asset] = amount;
  }
  return { nonce, balances };
}

/**
 * Verify a ledger_getProof answer against `trustedStateRoot` (hex, from a
 * header the caller verified). Returns {exists, nonce, balances}. Throws
 * VerifyError when anything does not hold.
 */
export async function verifyAccountProof(answer, trustedStateRoot) {
  const key = await accountTreeKey(answer.address);
  ensure(toHex(key) === answer.key, "the answer's key is not the address's tree key");
  const value = answer.value === null ? null : fromHex(answer.value);
  const ok = await verifyProof(hash32(trustedStateRoot, "state root"), key, value, fromHex(answer.proof));
  ensure(ok, "the proof does not lead to the verified header's state root");
  if (value === null) return { exists: false, nonce: 0n, balances: {} };
  return { exists: true, ...decodeAccountValue(value) };
}

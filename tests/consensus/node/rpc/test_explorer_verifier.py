"""The explorer's in-browser verifier (consensus/node/rpc/explorer/static/*.js), run
in headless Chromium against the vectors other clients use.

The page's modules are imported into a page served by a real RPC server (a
secure context: 127.0.0.1), and must reproduce tests/vectors/blocks.json
(header bytes and hashes, commit certificates with their validator sets) and
tests/vectors/state_proofs.json (account proofs against those headers'
state roots), reject tampered certificates and proofs, agree with
libsecp256k1 (ledger.crypto) on every Wycheproof secp256k1 case, and hash
alike with WebCrypto and the portable SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import coincurve
import pytest

from ledger.crypto import verify_digest
from tests.browser import ConsoleLog, chromium

from .server_thread import ServerThread

VECTORS = Path(__file__).resolve().parents[3] / "vectors"

pytestmark = pytest.mark.timeout(300)


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def run_in_page(served: ServerThread, script: str, argument: Any) -> Any:
    """Evaluate ``script`` (an async arrow function of one argument) in the
    explorer's origin, failing on any console error."""
    with chromium() as browser:
        page = browser.new_page()
        console = ConsoleLog()
        console.attach(page)
        page.goto(served.url + "/explorer/")
        result = page.evaluate(script, argument)
        assert console.errors == [], console.errors
        return result


BLOCKS_SCRIPT = """
async (data) => {
  const codec = await import('/explorer/codec.js');
  const v = await import('/explorer/verify.js');
  const out = [];
  const byHeight = new Map(data.blocks.map((c) => [c.height, c]));
  for (const c of data.blocks) {
    const block = c.rpc;
    const row = {height: block.height};
    row.header = codec.toHex(codec.encode(v.headerOf(block)));
    row.hash = await v.headerHash(block);
    row.checked = (await v.checkBlock(block)).hash;
    const stored = codec.decode(codec.fromHex(c.block));
    row.storedHeader = codec.toHex(codec.encode(stored[0]));
    if (block.height > 1) {
      const cert = await v.verifyCertificate(block.lastCommit, block.height - 1, block.prevHash,
                                             c.lastCommit.validatorSet, data.chainId);
      row.power = String(cert.power);
      row.signers = cert.signers.length;
      const parent = byHeight.get(block.height - 1);
      if (parent) row.commit = (await v.verifyCommit(parent.rpc, block, c.lastCommit.validatorSet,
                                                     data.chainId)).hash;
      const failures = [];
      const attempt = async (what, f) => {
        try { await f(); failures.push(what + ': accepted'); }
        catch (e) { failures.push(what + ': ' + e.message); }
      };
      const raw = codec.fromHex(block.lastCommit);
      const flipped = raw.slice(); flipped[flipped.length - 5] ^= 1;
      await attempt('signature', () => v.verifyCertificate(codec.toHex(flipped), block.height - 1,
                                     block.prevHash, c.lastCommit.validatorSet, data.chainId));
      const weak = JSON.parse(JSON.stringify(c.lastCommit.validatorSet));
      // A member that did not sign (the generator point's key) with most of the power.
      const outsider = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
      const { sha256 } = await import('/explorer/sha256.js');
      const { addressText } = await import('/explorer/bech32m.js');
      const outsiderAddress = addressText((await sha256(codec.fromHex(outsider))).subarray(0, 20));
      weak.validators.push(
        {address: outsiderAddress, publicKey: outsider, power: '1000', name: 'extra'});
      weak.totalPower = String(BigInt(weak.totalPower) + 1000n);
      const certify = (set, chainId, hash) =>
        v.verifyCertificate(block.lastCommit, block.height - 1, hash, set, chainId);
      const set = c.lastCommit.validatorSet;
      await attempt('power', () => certify(weak, data.chainId, block.prevHash));
      await attempt('chain', () => certify(set, 'another-chain', block.prevHash));
      await attempt('hash', () => certify(set, data.chainId, block.hash));
      row.failures = failures;
    }
    const tampered = {...block, stateRoot: '00'.repeat(32)};
    try { await v.checkBlock(tampered); row.tamperedHeader = 'accepted'; }
    catch (e) { row.tamperedHeader = e.message; }
    out.push(row);
  }
  return out;
}
"""


def test_blocks_and_certificates_of_the_vectors(tmp_path: Path) -> None:
    data = load("blocks.json")
    served = ServerThread(tmp_path)
    try:
        rows = run_in_page(served, BLOCKS_SCRIPT, data)
    finally:
        served.close()
    assert [r["height"] for r in rows] == [c["height"] for c in data["blocks"]]
    for row, case in zip(rows, data["blocks"], strict=True):
        assert row["header"] == case["header"] == row["storedHeader"]
        assert row["hash"] == row["checked"] == case["rpc"]["hash"]
        assert "header hash" in row["tamperedHeader"]
        if case["height"] == 1:
            continue
        validator_set = case["lastCommit"]["validatorSet"]
        signed = {
            v["address"]: int(v["power"])
            for v in validator_set["validators"]
            if v["address"] in {s["validator"] for s in case["lastCommit"]["signatures"]}
        }
        assert int(row["power"]) == sum(signed.values())
        assert row["signers"] == len(case["lastCommit"]["signatures"])
        if case["height"] - 1 in {c["height"] for c in data["blocks"]}:
            assert row["commit"] == case["rpc"]["prevHash"]
        reasons = dict(f.split(": ", 1) for f in row["failures"])
        assert "bad precommit signature" in reasons["signature"]
        assert "not more than two thirds" in reasons["power"]
        assert "bad precommit signature" in reasons["chain"]
        assert "another block" in reasons["hash"]


PROOFS_SCRIPT = """
async ({proofs, roots}) => {
  const codec = await import('/explorer/codec.js');
  const v = await import('/explorer/verify.js');
  const out = [];
  for (const c of proofs) {
    const answer = c.rpc;
    const root = roots[answer.height];
    const row = {};
    const result = await v.verifyAccountProof(answer, root);
    row.exists = result.exists;
    row.decoded = result.exists
      ? [String(result.nonce), Object.entries(result.balances).map(([a, n]) => [a, String(n)])]
      : null;
    const fails = async (what, a, r) => {
      try { await v.verifyAccountProof(a, r); return what + ': accepted'; }
      catch (e) { return what + ': ' + e.message; }
    };
    row.failures = [await fails('root', answer, '00'.repeat(32))];
    if (answer.value !== null) {
      row.failures.push(await fails('value', {...answer, value: answer.value + '00'}, root));
      const value = codec.fromHex(answer.value); value[value.length - 1] ^= 1;
      row.failures.push(await fails('balance', {...answer, value: codec.toHex(value)}, root));
    }
    const proof = codec.fromHex(answer.proof);
    if (proof.length > 40) {
      proof[20] ^= 1;
      row.failures.push(await fails('proof', {...answer, proof: codec.toHex(proof)}, root));
    }
    out.push(row);
  }
  return out;
}
"""


def test_state_proofs_of_the_vectors(tmp_path: Path) -> None:
    blocks = load("blocks.json")["blocks"]
    proofs = load("state_proofs.json")["proofs"]
    roots = {c["height"]: c["rpc"]["stateRoot"] for c in blocks}
    served = ServerThread(tmp_path)
    try:
        rows = run_in_page(served, PROOFS_SCRIPT, {"proofs": proofs, "roots": roots})
    finally:
        served.close()
    assert {r["exists"] for r in rows} == {True, False}
    for row, case in zip(rows, proofs, strict=True):
        assert row["decoded"] == case["decodedValue"], case["description"]
        for failure in row["failures"]:
            what, reason = failure.split(": ", 1)
            assert reason != "accepted", (case["description"], what)


WYCHEPROOF_SCRIPT = """
async (cases) => {
  const codec = await import('/explorer/codec.js');
  const { verifyDigest } = await import('/explorer/secp256k1.js');
  return cases.map(([key, digest, sig]) =>
    verifyDigest(codec.fromHex(key), codec.fromHex(digest), codec.fromHex(sig)));
}
"""


def test_signature_verification_agrees_with_libsecp256k1(
    tmp_path: Path, vectors_dir: Path
) -> None:
    path = vectors_dir / "wycheproof-ecdsa_secp256k1_sha256_p1363_test.json"
    document = json.loads(path.read_text())
    cases, expected = [], []
    for group in document["testGroups"]:
        key = coincurve.PublicKey(bytes.fromhex(group["publicKey"]["uncompressed"]))
        compressed = key.format(compressed=True)
        for test in group["tests"]:
            digest = hashlib.sha256(bytes.fromhex(test["msg"])).digest()
            signature = bytes.fromhex(test["sig"])
            cases.append([compressed.hex(), digest.hex(), signature.hex()])
            expected.append(verify_digest(compressed, digest, signature))
    served = ServerThread(tmp_path)
    try:
        verdicts = run_in_page(served, WYCHEPROOF_SCRIPT, cases)
    finally:
        served.close()
    assert len(cases) > 200 and True in expected and False in expected
    disagreements = [
        (i, cases[i]) for i, (a, b) in enumerate(zip(verdicts, expected, strict=True)) if a != b
    ]
    assert disagreements == []


HASH_SCRIPT = """
async (inputs) => {
  const codec = await import('/explorer/codec.js');
  const h = await import('/explorer/sha256.js');
  const out = [];
  for (const text of inputs) {
    const data = codec.fromHex(text);
    const portable = codec.toHex(h.sha256Portable(data));
    out.push([codec.toHex(await h.sha256(data)), portable, h.hasWebCrypto()]);
  }
  return out;
}
"""


def test_sha256_webcrypto_and_portable_agree(tmp_path: Path) -> None:
    inputs = [b"", b"abc", bytes(55), bytes(56), bytes(64), bytes(range(256)) * 5]
    served = ServerThread(tmp_path)
    try:
        rows = run_in_page(served, HASH_SCRIPT, [i.hex() for i in inputs])
    finally:
        served.close()
    for data, (web_crypto, portable, has_web_crypto) in zip(inputs, rows, strict=True):
        assert has_web_crypto, "http://127.0.0.1 is a secure context: WebCrypto must be there"
        assert web_crypto == portable == hashlib.sha256(data).hexdigest()


CODEC_SCRIPT = """
async (rows) => {
  const codec = await import('/explorer/codec.js');
  return rows.map((hex) => {
    try {
      const value = codec.decode(codec.fromHex(hex));
      return 'ok:' + codec.toHex(codec.encode(value));
    } catch (e) { return 'error:' + e.message; }
  });
}
"""


def test_codec_known_answers_and_strictness(tmp_path: Path) -> None:
    spec = (Path(__file__).resolve().parents[4] / "docs" / "spec" / "encoding.md").read_text()
    table = spec[spec.index("## Known answers") :]

    good = re.findall(r"^\| .+? \| `([0-9a-f]+)` \|$", table, re.M)
    bad = [
        *("cc05", "d90178", "c70200ff", "d70200000000000000ff", "d70201ffffffffffffff"),
        *("ca00000000", "9200", "dc0001c0", "82a162c0a161c0"),
    ]
    served = ServerThread(tmp_path)
    try:
        answers = run_in_page(served, CODEC_SCRIPT, good + bad)
    finally:
        served.close()
    assert len(good) >= 10
    assert answers[: len(good)] == [f"ok:{h}" for h in good]
    assert all(a.startswith("error:") for a in answers[len(good) :]), answers[len(good) :]

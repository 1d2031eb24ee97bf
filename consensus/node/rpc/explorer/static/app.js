// The explorer page: live height and chart, blocks, transactions, accounts
// (with their state proof checked here), validators, mempool, order books,
// contracts, threshold keys, the mint's supply and keysets and the mail
// batches' counts, all from the node's public API (rpc.js).
// Node data is only ever put into the page as text (textContent), never as
// HTML. Views are chosen by the URL's #fragment:
//   #/  #/blocks  #/block/<height|hash>  #/tx/<hash>  #/account/<lg1...>
//   #/validators  #/market  #/contracts  #/threshold  #/mint  #/mail

import { batch, call, followHeads } from "./rpc.js";
import { drawChart, WINDOW_MS } from "./chart.js";
import { isAddress } from "./bech32m.js";
import * as verify from "./verify.js";

const HEADER_WINDOW = 600; // most recent headers kept in memory
const RECENT_TXS = 15;
const FULL_BLOCK_MAX_TXS = 500; // larger new blocks are fetched without transaction bodies
const LIVE_VIEWS = new Set(["overview", "blocks", "validators"]);
const COIN_DECIMALS = 18n;
const RECENT_MAIL_BATCHES = 10;

const state = {
  chainId: "",
  tip: 0,
  headers: new Map(), // height -> block JSON (transactions as hashes)
  recentTxs: [], // newest first: transaction objects with blockHeight
  verifiedHeight: 0,
  verifyError: null,
  mempool: null,
  connection: "connecting",
  validatorSets: new Map(), // height -> ledger_validators answer
  view: "overview",
  renderToken: 0,
};

// -- DOM helpers ----------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "onclick") element.addEventListener("click", value);
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const $ = (id) => document.getElementById(id);
const short = (hex, size = 10) => (hex && hex.length > size + 2 ? `${hex.slice(0, size)}…` : hex ?? "");
const shortAddress = (address) => (address ? `${address.slice(0, 9)}…${address.slice(-5)}` : "");
const blockLink = (height) => h("a", { href: `#/block/${height}` }, String(height));
const txLink = (hash, text = short(hash, 14)) => h("a", { href: `#/tx/${hash}`, class: "mono", title: hash }, text);
const accountLink = (address, full = false) =>
  h("a", { href: `#/account/${address}`, class: "mono", title: address }, full ? address : shortAddress(address));

function formatTime(ms) {
  return `${new Date(ms).toISOString().replace("T", " ").slice(0, 19)} UTC`;
}

/** An amount exactly: coin in coins (10^18 base units each; below 0.001 coin in base
 * units), other assets in their units. */
function formatAmount(asset, amount) {
  const value = BigInt(amount);
  if (asset !== "coin") return `${value.toLocaleString("en-US")} ${asset}`;
  if (value < 10n ** 15n) return `${value.toLocaleString("en-US")} base units of coin`;
  const unit = 10n ** COIN_DECIMALS;
  const fraction = (value % unit).toString().padStart(Number(COIN_DECIMALS), "0").replace(/0+$/, "");
  return `${(value / unit).toLocaleString("en-US")}${fraction ? `.${fraction}` : ""} coin`;
}

function formatClock(ms) {
  return new Date(ms).toISOString().slice(11, 19);
}

function table(headings, rows, attributes = {}) {
  return h("table", attributes,
    h("thead", {}, h("tr", {}, headings.map(([text, cls]) => h("th", { class: cls }, text)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headings.length, class: "muted" }, "None."))));
}

function fields(pairs) {
  return h("dl", { class: "fields" }, pairs.filter(Boolean).map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

function valueNode(value) {
  if (typeof value === "string" && isAddress(value)) return accountLink(value, true);
  if (Array.isArray(value)) return h("span", { class: "mono" }, JSON.stringify(value));
  if (value !== null && typeof value === "object") return h("span", { class: "mono" }, JSON.stringify(value));
  return h("span", { class: typeof value === "string" && /^[0-9a-f]{16,}$/.test(value) ? "mono" : null }, String(value));
}

function attributeList(attributes) {
  return h("div", { class: "attributes" }, Object.entries(attributes).map(([key, value]) =>
    h("span", { class: "attribute" }, h("span", { class: "muted" }, `${key} `), valueNode(value))));
}

function summary(tx) {
  const body = tx.body || {};
  switch (tx.kind) {
    case "transfer": return [formatAmount(body.asset, body.amount), " → ", accountLink(body.recipient)];
    case "call": return [`${body.entry}() on `, accountLink(body.contract)];
    case "deploy": return `${body.module.length / 2} byte module, credits cpu ${body.cpu}, disk ${body.disk}, net ${body.net}`;
    case "fund": return ["credits to ", accountLink(body.contract)];
    case "barter_offer": return `sell ${formatAmount(body.sellAsset, body.amount)} at ${body.priceBuy} ${body.buyAsset} per ${body.priceSell}`;
    case "barter_take": return `take ${body.amount} of offer ${body.offerId}`;
    case "barter_cancel": return `cancel offer ${body.offerId}`;
    case "asset_issue": return `issue ${body.asset} (max ${body.maxSupply})`;
    case "asset_mint": return [formatAmount(body.asset, body.amount), " minted → ", accountLink(body.recipient)];
    case "asset_burn": return `burn ${formatAmount(body.asset, body.amount)}`;
    default: return "";
  }
}

// -- the chain as the page follows it --------------------------------------

function addHeader(block) {
  const kept = { ...block };
  if (Array.isArray(block.transactions)) {
    const objects = block.transactions.filter((t) => typeof t === "object");
    if (objects.length) {
      state.recentTxs = [...objects.reverse(), ...state.recentTxs]
        .sort((a, b) => b.blockHeight - a.blockHeight || b.index - a.index)
        .slice(0, RECENT_TXS);
    }
    kept.transactions = block.transactions.map((t) => (typeof t === "string" ? t : t.hash));
  }
  state.headers.set(block.height, kept);
  if (block.height > state.tip) state.tip = block.height;
  for (const height of state.headers.keys()) {
    if (height <= state.tip - HEADER_WINDOW) state.headers.delete(height);
  }
}

async function loadRecentHeaders(tip) {
  let top = tip;
  while (top >= 1 && state.headers.size < HEADER_WINDOW) {
    const heights = [];
    for (let height = top; height >= Math.max(1, top - 99); height--) heights.push(height);
    const blocks = await batch(heights.map((height) => ["ledger_getBlockByNumber", [height, false]]));
    for (const block of blocks) if (block && !(block instanceof Error)) addHeader(block);
    const oldest = state.headers.get(heights[heights.length - 1]);
    const newest = state.headers.get(tip);
    top = heights[heights.length - 1] - 1;
    if (!oldest || !newest || oldest.timeMs < newest.timeMs - WINDOW_MS) break;
  }
  await loadRecentTransactions();
}

async function loadRecentTransactions() {
  const withTxs = [...state.headers.values()]
    .filter((b) => b.txCount > 0)
    .sort((a, b) => b.height - a.height)
    .slice(0, 5);
  const full = await batch(withTxs.map((b) => ["ledger_getBlockByNumber", [b.height, true]]));
  for (const block of full) if (block && !(block instanceof Error)) addHeader(block);
}

let catchingUp = Promise.resolve();

function onHead(header) {
  catchingUp = catchingUp.then(() => catchUp(header.height)).catch(showBackgroundError);
}

async function catchUp(height) {
  if (height <= state.tip && state.headers.has(height)) return;
  const first = Math.max(state.tip + 1, height - HEADER_WINDOW + 1);
  const heights = [];
  for (let h2 = first; h2 <= height; h2++) heights.push(h2);
  const small = heights.length <= 5;
  const blocks = await batch(heights.map((h2) => ["ledger_getBlockByNumber", [h2, small]]));
  for (const block of blocks) {
    if (!block || block instanceof Error) continue;
    if (small && block.transactions.length > FULL_BLOCK_MAX_TXS) {
      block.transactions = block.transactions.map((t) => t.hash);
    }
    addHeader(block);
  }
  updateTopBar();
  await verifyLatest();
  scheduleLiveRender();
}

async function validatorSet(height) {
  let set = state.validatorSets.get(height);
  if (!set) {
    set = await call("ledger_validators", [height]);
    state.validatorSets.set(height, set);
    if (state.validatorSets.size > 64) state.validatorSets.delete(state.validatorSets.keys().next().value);
  }
  return set;
}

/** Check the certificate of the newest header that has one (tip - 1). */
async function verifyLatest() {
  const height = state.tip - 1;
  const block = state.headers.get(height);
  const next = state.headers.get(height + 1);
  if (!block || !next || height <= state.verifiedHeight) return;
  try {
    await verify.verifyCommit(block, next, await validatorSet(height), state.chainId);
    state.verifiedHeight = height;
    state.verifyError = null;
  } catch (error) {
    state.verifyError = `block ${height}: ${error.message}`;
  }
  updateTopBar();
}

function updateTopBar() {
  $("height").textContent = String(state.tip);
  const verified = $("verified-height");
  verified.textContent = state.verifyError ? `✗ ${state.verifyError}` : state.verifiedHeight ? `${state.verifiedHeight} ✓` : "…";
  verified.className = state.verifyError ? "fail" : "";
  if (state.mempool) $("mempool").textContent = `${state.mempool.size} tx`;
  const connection = $("connection");
  connection.dataset.state = state.connection;
  connection.textContent = state.connection === "live" ? "live" : state.connection === "offline" ? "offline (polling)" : "connecting";
}

async function poll() {
  try {
    state.mempool = await call("ledger_mempoolInfo");
    if (state.connection !== "live") {
      const height = await call("ledger_blockNumber");
      if (height > state.tip) onHead({ height });
    }
    updateTopBar();
    if (state.view === "overview") {
      const element = $("stat-mempool");
      if (element) element.textContent = `${state.mempool.size}`;
    }
  } catch (error) {
    showBackgroundError(error);
  }
}

function showBackgroundError(error) {
  const connection = $("connection");
  connection.dataset.state = "offline";
  connection.textContent = `error: ${error.message}`;
}

// -- views ------------------------------------------------------------------

let liveTimer = null;

function scheduleLiveRender() {
  if (!LIVE_VIEWS.has(state.view) || liveTimer !== null) return;
  liveTimer = setTimeout(() => {
    liveTimer = null;
    route(true);
  }, 700);
}

function recentHeaders(count) {
  return [...state.headers.values()].sort((a, b) => b.height - a.height).slice(0, count);
}

function windowFigures() {
  const newest = state.headers.get(state.tip);
  if (!newest) return { tps: 0, blockTime: null };
  const inWindow = [...state.headers.values()].filter((b) => b.timeMs > newest.timeMs - WINDOW_MS);
  const oldest = inWindow.reduce((m, b) => (b.height < m.height ? b : m), newest);
  const span = (newest.timeMs - oldest.timeMs) / 1000;
  const txs = inWindow.filter((b) => b.height > oldest.height).reduce((s, b) => s + b.txCount, 0);
  return {
    tps: span > 0 ? txs / span : 0,
    blockTime: newest.height > oldest.height ? span / (newest.height - oldest.height) : null,
  };
}

function blocksTable(blocks, id) {
  return table(
    [["height"], ["time (UTC)"], ["txs", "num"], ["proposer"], ["hash"]],
    blocks.map((b) => h("tr", {},
      h("td", {}, blockLink(b.height)), h("td", { title: formatTime(b.timeMs) }, formatClock(b.timeMs)), h("td", { class: "num" }, b.txCount),
      h("td", {}, accountLink(b.proposer)), h("td", { class: "mono" }, short(b.hash, 16)))),
    { id });
}

function transactionsTable(txs, id) {
  return table(
    [["hash"], ["block"], ["from"], ["kind"], ["what"]],
    txs.map((t) => h("tr", {},
      h("td", {}, txLink(t.hash)), h("td", {}, t.blockHeight === null ? "pending" : blockLink(t.blockHeight)),
      h("td", {}, accountLink(t.from)), h("td", {}, t.kind), h("td", {}, summary(t)))),
    { id });
}

async function renderOverview() {
  const figures = windowFigures();
  const validators = await validatorSet(state.tip + 1);
  const chart = h("div", { id: "chart" });
  const view = [
    h("div", { class: "stats" },
      stat("height", state.tip, "stat-height"),
      stat("tx/s (5 min)", figures.tps.toFixed(2), "stat-tps"),
      stat("block time (5 min)", figures.blockTime === null ? "–" : `${figures.blockTime.toFixed(2)} s`, "stat-block-time"),
      stat("mempool", state.mempool ? state.mempool.size : "…", "stat-mempool"),
      stat("validators", `${validators.validators.length} (power ${validators.totalPower})`, "stat-validators")),
    h("div", { class: "card" }, h("h2", {}, "Committed transactions per second and block time, last five minutes"), chart),
    h("div", { class: "grid2" },
      h("div", { class: "card" }, h("h2", {}, "Latest blocks"), blocksTable(recentHeaders(12), "latest-blocks")),
      h("div", { class: "card" }, h("h2", {}, "Latest transactions"), transactionsTable(state.recentTxs, "latest-txs"))),
  ];
  return { view, after: () => drawChart(chart, [...state.headers.values()]) };
}

function stat(label, value, id) {
  return h("div", { class: "stat" }, h("div", { class: "label" }, label), h("div", { class: "value", id }, String(value)));
}

async function renderBlocks() {
  return {
    view: [h("div", { class: "card" },
      h("h2", {}, `The last ${Math.min(100, state.headers.size)} blocks`),
      blocksTable(recentHeaders(100), "blocks-table"))],
  };
}

async function renderBlock(key) {
  const byHeight = /^\d+$/.test(key);
  const block = byHeight
    ? await call("ledger_getBlockByNumber", [Number(key), true])
    : await call("ledger_getBlockByHash", [key, true]);
  if (!block) return { view: [h("div", { class: "card" }, h("h2", {}, "No such block"), h("p", {}, `Nothing at ${key}.`))] };
  const [events, next] = await batch([
    ["ledger_getBlockEvents", [block.height]],
    ["ledger_getBlockByNumber", [block.height + 1, false]],
  ]);
  const verdict = h("div", { class: "verdict", id: "block-verdict", "data-state": "checking" }, "Checking this block…");
  const signers = verify.certificateSigners(block.lastCommit);
  const view = [
    h("div", { class: "card" },
      h("h2", {}, `Block ${block.height}`),
      verdict,
      fields([
        ["hash", h("span", { class: "mono" }, block.hash)],
        ["time", formatTime(block.timeMs)],
        ["proposer", accountLink(block.proposer, true)],
        ["previous", block.height > 1 ? h("a", { href: `#/block/${block.height - 1}`, class: "mono" }, block.prevHash) : h("span", { class: "mono" }, `${block.prevHash} (genesis)`)],
        ["state root", h("span", { class: "mono" }, block.stateRoot)],
        ["transactions root", h("span", { class: "mono" }, block.txsRoot)],
        ["receipts root", h("span", { class: "mono" }, block.receiptsRoot)],
        ["last commit", signers.length ? `certifies block ${block.height - 1}: signed by ${signers.length} validators` : "none (block 1, or a single-node chain)"],
        ["transactions", String(block.txCount)],
      ])),
    h("div", { class: "card" }, h("h2", {}, "Transactions"), transactionsTable(block.transactions, "block-txs")),
    h("div", { class: "card" }, h("h2", {}, "End-of-block events"),
      eventsTable(events && !(events instanceof Error) ? events.events : [], "block-events")),
  ];
  const after = async () => {
    try {
      await verify.checkBlock(block);
      if (!next || next instanceof Error) {
        setVerdict(verdict, "unavailable", `Header hash, transactions root and certificate hash check out; the commit certificate of block ${block.height} arrives with block ${block.height + 1}.`);
        return;
      }
      const result = await verify.verifyCommit(block, next, await validatorSet(block.height), state.chainId);
      setVerdict(verdict, "verified", `✓ Verified in this browser: the header hashes to ${short(result.hash, 16)}, and block ${block.height + 1} carries its commit certificate (round ${result.round}) signed by ${result.signers.length} validators holding ${result.power} of ${result.totalPower} power.`);
    } catch (error) {
      setVerdict(verdict, "failed", `✗ Verification failed: ${error.message}`);
    }
  };
  return { view, after };
}

function setVerdict(element, verdictState, text) {
  element.dataset.state = verdictState;
  element.textContent = text;
}

function eventsTable(events, id) {
  return table([["event"], ["attributes"]],
    events.map((e) => h("tr", {}, h("td", {}, e.kind), h("td", {}, attributeList(e.attributes)))), { id });
}

async function renderTransaction(hash) {
  const [tx, receipt] = await batch([["ledger_getTransactionByHash", [hash]], ["ledger_getTransactionReceipt", [hash]]]);
  if (!tx || tx instanceof Error) {
    return { view: [h("div", { class: "card" }, h("h2", {}, "No such transaction"), h("p", { class: "mono" }, hash))] };
  }
  const view = [
    h("div", { class: "card" },
      h("h2", {}, `Transaction ${short(tx.hash, 16)}`),
      fields([
        ["hash", h("span", { class: "mono" }, tx.hash)],
        ["status", receipt && !(receipt instanceof Error)
          ? h("span", { class: receipt.success ? "ok" : "fail", id: "tx-status" }, receipt.success ? "success" : `failed (status ${receipt.status})`)
          : h("span", { id: "tx-status" }, "pending")],
        ["block", tx.blockHeight === null ? "pending" : [blockLink(tx.blockHeight), ` (index ${tx.index})`]],
        ["from", accountLink(tx.from, true)],
        ["kind", `${tx.kind} (${tx.kindId})`],
        ["nonce", tx.nonce],
        ["fee", formatAmount("coin", tx.fee)],
        ["size", `${tx.size} bytes`],
        ...Object.entries(tx.body || {}).map(([key, value]) => [`body.${key}`, valueNode(value)]),
      ])),
  ];
  if (receipt && !(receipt instanceof Error)) {
    view.push(h("div", { class: "card" },
      h("h2", {}, "Receipt"),
      fields([
        ["success", String(receipt.success)],
        ["fee charged", formatAmount("coin", receipt.feeCharged)],
        ["gas used", receipt.gasUsed],
        ["error", receipt.error || "–"],
      ]),
      h("h3", {}, "Events"),
      eventsTable(receipt.events, "tx-events")));
  }
  return { view };
}

async function renderAccount(address) {
  if (!isAddress(address)) return { view: [h("div", { class: "card error" }, `Not an address: ${address}`)] };
  const [account, history, contract, offers] = await batch([
    ["ledger_getAccount", [address]],
    ["ledger_getAccountHistory", [address, null, 25]],
    ["ledger_getContract", [address]],
    ["ledger_getOffers", [address]],
  ]);
  const verdict = h("div", { class: "verdict", id: "proof-verdict", "data-state": "checking" }, "Checking the state proof…");
  const historyBody = h("tbody", {});
  const historyCard = h("div", { class: "card" }, h("h2", {}, "History"),
    h("table", { id: "history" }, h("thead", {}, h("tr", {}, ["hash", "block", "time", "from", "kind", "what", "result"].map((t) => h("th", {}, t)))), historyBody));
  appendHistory(historyCard, historyBody, address, history);
  const view = [
    h("div", { class: "card" },
      h("h2", {}, "Account"),
      h("p", { class: "mono" }, address),
      verdict,
      h("h3", {}, `Balances (latest state, nonce ${account.nonce})`),
      table([["asset"], ["amount", "num"], ["base units", "num"]],
        Object.entries(account.balances).map(([asset, amount]) =>
          h("tr", {}, h("td", {}, asset), h("td", { class: "num" }, formatAmount(asset, amount)), h("td", { class: "num mono" }, amount))),
        { id: "balances" })),
    historyCard,
  ];
  if (contract && !(contract instanceof Error)) view.push(h("div", { class: "card" }, h("h2", {}, "Contract"), contractFields(contract)));
  if (Array.isArray(offers) && offers.length) {
    view.push(h("div", { class: "card" }, h("h2", {}, "Open barter offers"), offersTable(offers, "account-offers")));
  }
  return { view, after: () => checkAccountProof(address, verdict) };
}

function appendHistory(card, body, address, page) {
  if (page instanceof Error) {
    body.append(h("tr", {}, h("td", { colspan: 7, class: "error" }, page.message)));
    return;
  }
  for (const t of page.transactions) {
    body.append(h("tr", {},
      h("td", {}, txLink(t.hash)), h("td", {}, blockLink(t.blockHeight)), h("td", {}, formatTime(t.timeMs)),
      h("td", {}, t.from === address ? "this account" : accountLink(t.from)), h("td", {}, t.kind), h("td", {}, summary(t)),
      h("td", {}, h("span", { class: `badge ${t.success ? "ok" : "fail"}` }, t.success ? "ok" : `failed ${t.status}`))));
  }
  if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No transactions.")));
  if (page.indexedFrom > 1) card.append(h("p", { class: "muted" }, `This node indexes history from block ${page.indexedFrom} on.`));
  if (page.next) {
    const more = h("button", { class: "more", type: "button" }, "Older");
    more.addEventListener("click", async () => {
      more.remove();
      appendHistory(card, body, address, await call("ledger_getAccountHistory", [address, page.next, 25]));
    });
    card.append(more);
  }
}

/** The light client's check: a header certified by the validators, then the
 * account's proof against that header's state root. */
async function checkAccountProof(address, verdict) {
  const tip = await call("ledger_blockNumber");
  const height = tip - 1;
  if (height < 1) {
    setVerdict(verdict, "unavailable", "A proof is checked against a certified header: wait for block 2.");
    return;
  }
  try {
    const [block, next, set] = await batch([
      ["ledger_getBlockByNumber", [height, false]],
      ["ledger_getBlockByNumber", [height + 1, false]],
      ["ledger_validators", [height]],
    ]);
    for (const answer of [block, next, set]) if (!answer || answer instanceof Error) throw new Error("the node did not serve the header to check");
    const commit = await verify.verifyCommit(block, next, set, state.chainId);
    const answer = await call("ledger_getProof", [address, height]);
    const proved = await verify.verifyAccountProof(answer, block.stateRoot);
    const balances = Object.entries(proved.balances).map(([asset, amount]) => formatAmount(asset, amount.toString()));
    verdict.replaceChildren(
      h("div", { class: "ok" }, `✓ State proof verified in this browser at block ${height}`),
      h("div", {}, proved.exists
        ? `nonce ${proved.nonce}; ${balances.length ? balances.join(", ") : "no balances"}`
        : "the account does not exist at this height (proof of absence)"),
      h("div", { class: "muted" }, `against state root ${short(block.stateRoot, 16)} of block ${height} (hash ${short(commit.hash, 16)}), whose commit certificate carries ${commit.signers.length} valid signatures holding ${commit.power} of ${commit.totalPower} validator power.`));
    verdict.dataset.state = "verified";
  } catch (error) {
    setVerdict(verdict, "failed", `✗ State proof verification failed: ${error.message}`);
  }
}

function contractFields(c) {
  const disk = BigInt(c.balances.disk || "0");
  const rent = BigInt(c.rentPerBlock);
  return fields([
    ["address", accountLink(c.address, true)],
    ["deployer", accountLink(c.deployer, true)],
    ["created at", blockLink(c.created)],
    ["code", `${c.codeSize} bytes, hash ${short(c.codeHash, 16)}`],
    ["entry points", c.entryPoints.join(", ")],
    ["storage", `${c.storageKeys} keys, ${c.storageBytes} bytes`],
    ["credits", ["cpu", "disk", "net"].map((a) => `${a} ${c.balances[a] || "0"}`).join(", ")],
    ["rent", `${c.rentPerBlock} disk per block (${c.rentBytes} bytes)`],
    ["blocks left", rent > 0n ? `${disk / rent} before its disk credits run out` : "–"],
    ["schedule", c.schedule ? `${c.schedule.entry} every ${c.schedule.interval} blocks, next at ${c.nextRun}` : "none"],
  ]);
}

function offersTable(offers, id) {
  return table([["id", "num"], ["maker"], ["sells"], ["remaining", "num"], ["price (buy per sell)", "num"], ["expires at", "num"]],
    offers.map((o) => h("tr", {},
      h("td", { class: "num" }, o.id), h("td", {}, accountLink(o.maker)), h("td", {}, `${o.sellAsset} for ${o.buyAsset}`),
      h("td", { class: "num" }, o.remaining), h("td", { class: "num" }, `${o.priceBuy} ${o.buyAsset} / ${o.priceSell} ${o.sellAsset}`),
      h("td", { class: "num" }, o.expiresAt))), { id });
}

async function renderValidators() {
  const set = await validatorSet(state.tip + 1);
  const headers = recentHeaders(HEADER_WINDOW);
  const proposed = new Map();
  const lastProposed = new Map();
  const lastSigned = new Map();
  for (const block of headers) {
    proposed.set(block.proposer, (proposed.get(block.proposer) || 0) + 1);
    if (!lastProposed.has(block.proposer)) lastProposed.set(block.proposer, block.height);
    for (const signer of verify.certificateSigners(block.lastCommit)) {
      if (!lastSigned.has(signer)) lastSigned.set(signer, block.height - 1);
    }
  }
  const total = BigInt(set.totalPower);
  const rows = set.validators.map((v) => {
    const expected = total > 0n ? (headers.length * Number(v.power)) / Number(total) : 0;
    return h("tr", {},
      h("td", {}, v.name), h("td", {}, accountLink(v.address)), h("td", { class: "num" }, v.power),
      h("td", { class: "num" }, `${((100 * Number(v.power)) / Number(total)).toFixed(1)} %`),
      h("td", { class: "num" }, `${proposed.get(v.address) || 0} (expected ${expected.toFixed(1)})`),
      h("td", { class: "num" }, lastProposed.get(v.address) ?? "–"),
      h("td", { class: "num" }, lastSigned.get(v.address) ?? "not in window"));
  });
  return {
    view: [h("div", { class: "card" },
      h("h2", {}, `Validators of block ${set.height}`),
      h("p", { class: "muted" }, `Proposer turns and signatures counted over the ${headers.length} blocks this page holds (heights ${headers.length ? headers[headers.length - 1].height : 0}–${state.tip}); a proposer's expected share of turns is its share of the power.`),
      table([["name"], ["address"], ["power", "num"], ["share", "num"], ["blocks proposed", "num"], ["last proposed", "num"], ["last signed height", "num"]], rows, { id: "validators-table" }))],
  };
}

async function renderMarket() {
  const markets = await call("ledger_getMarkets", ["", 20]);
  const books = await batch(markets.markets.map((m) => ["ledger_getOrderBook", [m.sellAsset, m.buyAsset, 10]]));
  const cards = markets.markets.map((m, i) => h("div", { class: "card" },
    h("h2", {}, `${m.sellAsset} for ${m.buyAsset}: ${m.offers} open offer${m.offers === 1 ? "" : "s"}`),
    books[i] instanceof Error ? h("p", { class: "error" }, books[i].message) : offersTable(books[i].offers, `book-${m.sellAsset}-${m.buyAsset}`)));
  return {
    view: [h("div", { class: "card" }, h("h2", {}, `Barter order books at block ${markets.height}`),
      h("p", { class: "muted" }, markets.markets.length ? "Best offers for a taker first (lowest price, then oldest)." : "No open offers."),
      markets.next ? h("p", { class: "muted" }, "More markets exist than shown here.") : null),
    ...cards],
  };
}

async function renderContracts() {
  const body = h("tbody", {});
  const card = h("div", { class: "card" }, h("h2", {}, "Contracts"),
    h("table", { id: "contracts-table" }, h("thead", {}, h("tr", {},
      [["address"], ["deployer"], ["created"], ["code", "num"], ["cpu", "num"], ["disk", "num"], ["net", "num"],
        ["rent / block", "num"], ["blocks left", "num"], ["schedule"]].map(([t, cls]) => h("th", { class: cls }, t)))), body));
  const addPage = async (start) => {
    const page = await call("ledger_getContracts", [start, 50]);
    for (const c of page.contracts) {
      const rent = BigInt(c.rentPerBlock);
      body.append(h("tr", {},
        h("td", {}, accountLink(c.address)), h("td", {}, accountLink(c.deployer)), h("td", {}, blockLink(c.created)),
        h("td", { class: "num" }, `${c.codeSize} B`),
        ...["cpu", "disk", "net"].map((a) => h("td", { class: "num" }, c.balances[a] || "0")),
        h("td", { class: "num" }, c.rentPerBlock),
        h("td", { class: "num" }, rent > 0n ? String(BigInt(c.balances.disk || "0") / rent) : "–"),
        h("td", {}, c.schedule ? `${c.schedule.entry} / ${c.schedule.interval} blocks` : "–")));
    }
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 10, class: "muted" }, "No contracts live.")));
    if (page.next) {
      const more = h("button", { class: "more", type: "button" }, "More");
      more.addEventListener("click", () => { more.remove(); addPage(page.next); });
      card.append(more);
    }
  };
  await addPage(null);
  return { view: [card, h("p", { class: "muted" }, "Blocks left: the contract's disk credits divided by its rent per block; it is evicted when they run out.")] };
}

async function renderThreshold() {
  const [key, ceremonies] = await batch([["ledger_getThresholdKey", []], ["ledger_getCeremonies", []]]);
  const view = [];
  if (!key || key instanceof Error) {
    view.push(h("div", { class: "card" }, h("h2", {}, "Threshold key"),
      h("p", { class: "muted" }, ceremonies && ceremonies.enabled ? "No key yet: the first key generation has not completed." : "This chain's genesis does not enable the validators' threshold key.")));
  } else {
    view.push(h("div", { class: "card" }, h("h2", {}, `Threshold key, epoch ${key.epoch}`),
      fields([
        ["public key", h("span", { class: "mono" }, key.publicKey)],
        ["group account", accountLink(key.address, true)],
        ["threshold", `${key.threshold} of ${key.members.length}`],
        ["made by ceremony", String(key.ceremonyId)],
      ]),
      h("h3", {}, "Members"),
      table([["identifier", "num"], ["validator"], ["verification share"]],
        key.members.map((m) => h("tr", {}, h("td", { class: "num" }, m.identifier), h("td", {}, accountLink(m.validator)), h("td", { class: "mono" }, short(m.verificationShare, 24)))))));
  }
  if (ceremonies && !(ceremonies instanceof Error)) {
    const rows = [...ceremonies.pending, ...ceremonies.recent].map((c) => h("tr", {},
      h("td", { class: "num" }, c.id), h("td", {}, c.kind), h("td", {}, h("span", { class: `badge ${c.status === "completed" ? "ok" : c.status === "failed" ? "fail" : ""}` }, c.status)),
      h("td", { class: "num" }, c.requestedAt), h("td", { class: "num" }, c.completedAt ?? "–"), h("td", { class: "num" }, c.expiresAt),
      h("td", { class: "num" }, `${c.threshold} of ${c.participants.length}`), h("td", { class: "num" }, c.reports)));
    view.push(h("div", { class: "card" }, h("h2", {}, "Ceremonies (open, then the last finished)"),
      table([["id", "num"], ["kind"], ["status"], ["requested", "num"], ["completed", "num"], ["expires", "num"], ["threshold", "num"], ["reports", "num"]], rows, { id: "ceremonies" })));
  }
  return { view };
}

async function renderMint() {
  const height = state.tip;
  const mint = await call("ledger_getMint", [height]);
  if (mint === null) {
    return { view: [h("div", { class: "card", id: "mint-none" }, h("h2", {}, "The mint"),
      h("p", { class: "muted" }, "This chain's genesis does not enable the e-cash mint."))] };
  }
  const { keysets } = await call("ledger_getMintKeysets", [height]);
  const amount = (value) => formatAmount(mint.asset, value);
  const balanced = BigInt(mint.reserve) === BigInt(mint.outstanding) + BigInt(mint.inFlight);
  const rows = [...keysets].reverse().map((k) => h("tr", {},
    h("td", { class: "num" }, k.epoch),
    h("td", {}, k.id === null ? h("span", { class: "muted" }, "keys being made") : h("span", { class: "mono", title: k.id }, short(k.id, 18))),
    h("td", {}, k.unit),
    h("td", {}, h("span", { class: `badge ${k.status === "active" ? "ok" : k.status === "expired" ? "fail" : ""}` }, k.status)),
    h("td", {}, k.keySet),
    h("td", { class: "num" }, k.createdAt),
    h("td", { class: "num" }, k.expiresAt ?? "–"),
    h("td", { class: "num" }, k.input_fee_ppk)));
  return {
    view: [
      h("div", { class: "card" }, h("h2", {}, `The mint's supply at block ${height}`),
        fields([
          ["notes outstanding", h("span", { id: "mint-outstanding" }, amount(mint.outstanding))],
          ["issued", amount(mint.issued)],
          ["redeemed", amount(mint.redeemed)],
          ["deposits in flight", amount(mint.inFlight)],
          ["reserve", [amount(mint.reserve), " at ", accountLink(mint.reserveAddress, true)]],
          ["books", h("span", { class: balanced ? "ok" : "fail", id: "mint-books" },
            balanced ? "✓ reserve = outstanding + in flight" : "✗ reserve ≠ outstanding + in flight")],
          ["notes", `unit ${mint.unit}, denominations 1 to 2^${mint.maxExponent}, active keyset epoch ${mint.activeKeysetEpoch}`],
          ["block counts", `issue timeout ${mint.issueTimeoutBlocks}, signing round ${mint.roundBlocks}, reveal ${mint.revealBlocks}, keyset grace ${mint.keysetGraceBlocks}`],
        ])),
      h("div", { class: "card" }, h("h2", {}, "Keysets, newest first"),
        table([["epoch", "num"], ["id (NUT-02)"], ["unit"], ["status"], ["threshold key set"], ["created", "num"], ["expires", "num"], ["input fee ppk", "num"]],
          rows, { id: "mint-keysets" })),
    ],
  };
}

/** The newest mail batch id at `height`: batch ids count from 1 and batches
 * stay in the state, so the ids that exist are 1..last; `known` is one that
 * exists (or 0). O(log last) calls. */
async function lastMailBatchId(known, height) {
  const exists = async (id) => (await call("ledger_getMailBatch", [id, height])) !== null;
  let low = known;
  let high = Math.max(1, 2 * known);
  while (high <= Number.MAX_SAFE_INTEGER && await exists(high)) {
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await exists(middle)) low = middle;
    else high = middle;
  }
  return low;
}

/** A batch as counts only: nothing here names a sender or a recipient. */
function mailBatchRow(b) {
  return h("tr", { "data-batch": b.id },
    h("td", { class: "num" }, b.id),
    h("td", {}, h("span", { class: `badge ${b.status === "delivered" ? "ok" : b.status === "failed" ? "fail" : ""}` }, b.status)),
    h("td", { class: "num" }, b.cells),
    h("td", { class: "num" }, b.openedAt ?? "–"),
    h("td", { class: "num" }, b.closedAt ?? "–"),
    h("td", { class: "num" }, b.schedule.length ? `${b.step} of ${b.schedule.length}` : "–"),
    h("td", { class: "num" }, b.skipped.length),
    h("td", { class: "num" }, b.status === "decrypting" ? b.sharesPosted : "–"), // shares leave the state with the batch
    h("td", { class: "num" }, b.delivered),
    h("td", { class: "num" }, b.undeliverable),
    h("td", { class: "num" }, b.finishedAt ?? "–"),
    h("td", {}, b.reason ?? ""));
}

async function renderMail() {
  const height = state.tip;
  const status = await call("ledger_getMailStatus", [height]);
  if (status === null) {
    return { view: [h("div", { class: "card", id: "mail-none" }, h("h2", {}, "Anonymous mail"),
      h("p", { class: "muted" }, "This chain's genesis does not enable anonymous mail."))] };
  }
  // The open batch is the newest; without one, the newest may be finished.
  const last = status.openBatch
    ? status.openBatch.id
    : await lastMailBatchId(Math.max(0, ...status.inFlight.map((b) => b.id)), height);
  const ids = [];
  for (let id = last; id >= Math.max(1, last - RECENT_MAIL_BATCHES + 1); id--) ids.push(id);
  const batches = (await batch(ids.map((id) => ["ledger_getMailBatch", [id, height]])))
    .filter((b) => b && !(b instanceof Error));
  const key = status.key;
  return {
    view: [
      h("div", { class: "card" }, h("h2", {}, `Anonymous mail at block ${height}`),
        fields([
          ["batches", h("span", { id: "mail-counts" },
            `${last} in all; ${status.openBatch ? `one open (${status.openBatch.cells} of ${status.batchCells} letters)` : "none open"}, ${status.inFlight.length} in flight (at most ${status.maxBatchesInFlight})`)],
          ["a batch", `up to ${status.batchCells} letters of ${status.messageCapacity} bytes; closes when full or ${status.batchBlocks} blocks after its first letter`],
          ["mail key", key ? `epoch ${key.epoch}, ${key.threshold} of ${key.holders.length} validators to decrypt` : "not yet: the validators' key generation has not completed"],
          ["postage", status.postageGas === null ? "–" : `${BigInt(status.postageGas).toLocaleString("en-US")} gas a letter`],
          ["letters kept", `${status.retentionBlocks} blocks after delivery, at most ${status.mailboxCapacity} a mailbox`],
          ["validator faults", `${status.faults.length} validator${status.faults.length === 1 ? "" : "s"} with a recorded fault`],
        ])),
      h("div", { class: "card" }, h("h2", {}, `The last ${batches.length} batch${batches.length === 1 ? "" : "es"}, newest first`),
        h("p", { class: "muted" }, "Counts only: the mix hides which delivered letter came from which sender, and this page names no sender, recipient or letter. Decryption shares are counted while a batch decrypts."),
        table([["batch", "num"], ["status"], ["letters", "num"], ["opened", "num"], ["closed", "num"], ["shuffles", "num"], ["turns skipped", "num"],
          ["decryption shares", "num"], ["delivered", "num"], ["undeliverable", "num"], ["finished", "num"], ["why it failed"]],
        batches.map(mailBatchRow), { id: "mail-batches" })),
    ],
  };
}

// -- routing --------------------------------------------------------------

const ROUTES = [
  [/^#?\/?$/, "overview", renderOverview],
  [/^#\/blocks$/, "blocks", renderBlocks],
  [/^#\/block\/([0-9]+|[0-9a-fA-F]{64})$/, "block", renderBlock],
  [/^#\/tx\/([0-9a-fA-F]{64})$/, "tx", renderTransaction],
  [/^#\/account\/(\w+)$/, "account", renderAccount],
  [/^#\/validators$/, "validators", renderValidators],
  [/^#\/market$/, "market", renderMarket],
  [/^#\/contracts$/, "contracts", renderContracts],
  [/^#\/threshold$/, "threshold", renderThreshold],
  [/^#\/mint$/, "mint", renderMint],
  [/^#\/mail$/, "mail", renderMail],
];

async function route(live = false) {
  const hash = window.location.hash;
  const match = ROUTES.map(([pattern, name, render]) => [hash.match(pattern), name, render]).find(([m]) => m);
  const token = ++state.renderToken;
  const main = $("view");
  if (!match) {
    main.replaceChildren(h("div", { class: "card error" }, `Nothing here: ${hash}`));
    return;
  }
  const [groups, name, render] = match;
  state.view = name;
  for (const link of document.querySelectorAll(".tabs a")) {
    const target = link.getAttribute("href");
    link.classList.toggle("active", target === `#/${name === "overview" ? "" : name}`);
  }
  if (!live) main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    const { view, after } = await render(...groups.slice(1));
    if (token !== state.renderToken) return; // another view was asked for meanwhile
    main.replaceChildren(...view);
    main.dataset.view = name;
    if (after) await after();
  } catch (error) {
    if (token === state.renderToken) main.replaceChildren(h("div", { class: "card error" }, `Could not load this view: ${error.message}`));
  }
}

async function search(event) {
  event.preventDefault();
  const text = $("search-input").value.trim();
  if (/^\d+$/.test(text)) window.location.hash = `#/block/${text}`;
  else if (isAddress(text)) window.location.hash = `#/account/${text.toLowerCase()}`;
  else if (/^(0x)?[0-9a-fA-F]{64}$/.test(text)) {
    const hash = text.replace(/^0x/, "").toLowerCase();
    const tx = await call("ledger_getTransactionByHash", [hash]);
    window.location.hash = tx ? `#/tx/${hash}` : `#/block/${hash}`;
  } else {
    $("view").replaceChildren(h("div", { class: "card error" }, `Not a height, hash or address: ${text}`));
  }
}

async function start() {
  $("search").addEventListener("submit", (event) => search(event).catch(showBackgroundError));
  window.addEventListener("hashchange", () => route());
  const status = await call("ledger_status");
  state.chainId = status.chainId;
  $("chain-id").textContent = status.chainId;
  document.title = `ledger explorer · ${status.chainId}`;
  await loadRecentHeaders(status.height);
  state.tip = Math.max(state.tip, status.height);
  await poll();
  await verifyLatest();
  updateTopBar();
  followHeads(onHead, (connection) => {
    state.connection = connection;
    updateTopBar();
  });
  setInterval(poll, 2000);
  await route();
}

start().catch((error) => {
  $("view").replaceChildren(h("div", { class: "card error" }, `Could not reach the node: ${error.message}`));
});

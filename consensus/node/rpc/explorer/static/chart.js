// The throughput chart: committed transactions per second (bars) and the
// mean block time (line) in 10-second buckets over the last five minutes of
// block time, drawn as plain SVG. The right edge is the newest block's time,
// not the browser's clock, so the chart says what the chain did.

const SVG = "http://www.w3.org/2000/svg";
export const WINDOW_MS = 5 * 60 * 1000;
const BUCKET_MS = 10 * 1000;
const WIDTH = 1000;
const HEIGHT = 220;
const MARGIN = { left: 48, right: 52, top: 16, bottom: 28 };

function node(tag, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

/** Round up to 1, 2 or 5 times a power of ten (a readable axis maximum). */
function niceCeiling(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/**
 * Buckets of `blocks` ({height, timeMs, txCount}, any order): for each 10 s
 * bucket ending at the newest block, the tx/s and the mean time between
 * consecutive blocks committed in it (null when it holds none).
 */
export function bucketize(blocks) {
  const sorted = [...blocks].sort((a, b) => a.height - b.height);
  if (sorted.length === 0) return [];
  const end = sorted[sorted.length - 1].timeMs;
  const count = WINDOW_MS / BUCKET_MS;
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: end - WINDOW_MS + i * BUCKET_MS, txs: 0, intervals: [],
  }));
  for (let i = 0; i < sorted.length; i++) {
    const block = sorted[i];
    const offset = block.timeMs - (end - WINDOW_MS);
    if (offset <= 0) continue;
    const bucket = buckets[Math.min(count - 1, Math.floor((offset - 1) / BUCKET_MS))];
    bucket.txs += block.txCount;
    const previous = sorted[i - 1];
    if (previous && previous.height === block.height - 1) bucket.intervals.push(block.timeMs - previous.timeMs);
  }
  return buckets.map((b) => ({
    start: b.start,
    txPerSecond: b.txs / (BUCKET_MS / 1000),
    blockTime: b.intervals.length ? b.intervals.reduce((x, y) => x + y, 0) / b.intervals.length / 1000 : null,
  }));
}

/** Draw the chart of `blocks` into `container` (replacing what was there). */
export function drawChart(container, blocks) {
  const buckets = bucketize(blocks);
  const svg = node("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "chart",
    "aria-label": "committed transactions per second and block time over the last five minutes",
  });
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxTps = niceCeiling(Math.max(0, ...buckets.map((b) => b.txPerSecond)));
  const maxTime = niceCeiling(Math.max(0, ...buckets.map((b) => b.blockTime ?? 0)));
  const x = (i) => MARGIN.left + (i * plotWidth) / Math.max(buckets.length, 1);
  const yTps = (v) => MARGIN.top + plotHeight - (v / maxTps) * plotHeight;
  const yTime = (v) => MARGIN.top + plotHeight - (v / maxTime) * plotHeight;

  for (let step = 0; step <= 4; step++) {
    const y = MARGIN.top + (step * plotHeight) / 4;
    svg.append(node("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y, y2: y, class: "grid" }));
    const fraction = 1 - step / 4;
    svg.append(node("text", { x: MARGIN.left - 6, y: y + 4, class: "axis tps", "text-anchor": "end" },
      formatTick(maxTps * fraction)));
    svg.append(node("text", { x: WIDTH - MARGIN.right + 6, y: y + 4, class: "axis time" },
      `${formatTick(maxTime * fraction)}s`));
  }
  const barWidth = Math.max(1, plotWidth / Math.max(buckets.length, 1) - 2);
  buckets.forEach((bucket, i) => {
    if (bucket.txPerSecond <= 0) return;
    const top = yTps(bucket.txPerSecond);
    const bar = node("rect", { x: x(i) + 1, y: top, width: barWidth, height: MARGIN.top + plotHeight - top, class: "bar" });
    bar.append(node("title", {}, `${bucket.txPerSecond.toFixed(1)} tx/s`));
    svg.append(bar);
  });
  const points = buckets
    .map((b, i) => (b.blockTime === null ? null : `${x(i) + barWidth / 2 + 1},${yTime(b.blockTime)}`))
    .filter((p) => p !== null);
  if (points.length) svg.append(node("polyline", { points: points.join(" "), class: "line" }));
  for (const point of points) {
    const [cx, cy] = point.split(",");
    svg.append(node("circle", { cx, cy, r: 3, class: "dot" }));
  }
  for (const [i, label] of [[0, "−5 min"], [buckets.length / 2, "−2.5 min"], [buckets.length, "newest block"]]) {
    svg.append(node("text", { x: x(i), y: HEIGHT - 8, class: "axis", "text-anchor": i === 0 ? "start" : i === buckets.length ? "end" : "middle" }, label));
  }
  svg.append(node("text", { x: MARGIN.left + 4, y: MARGIN.top - 4, class: "legend tps" }, "■ tx/s"));
  svg.append(node("text", { x: WIDTH - MARGIN.right - 4, y: MARGIN.top - 4, class: "legend time", "text-anchor": "end" }, "— block time"));
  const counted = blocks.filter((b) => buckets.length && b.timeMs > buckets[0].start).length;
  container.replaceChildren(svg);
  const newest = blocks.reduce((m, b) => Math.max(m, b.height), 0);
  container.dataset.blocks = String(counted);
  container.dataset.newest = String(newest);
  container.dataset.transactions = String(
    blocks.filter((b) => buckets.length && b.timeMs > buckets[0].start).reduce((s, b) => s + b.txCount, 0));
}

function formatTick(value) {
  if (value === 0) return "0";
  if (value >= 10) return value.toFixed(0);
  if (value >= 1) return value.toFixed(1);
  return value.toFixed(2);
}

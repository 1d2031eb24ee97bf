// The node's public API from the page: JSON-RPC 2.0 over POST / and the
// newHeads subscription over /ws (docs/spec/rpc.md), on the page's own origin.

export class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

const ENDPOINT = new URL("/", window.location.href).toString();
const MAX_BATCH = 100; // the server's default batch limit
let nextId = 1;

async function post(body) {
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    cache: "no-store",
  });
  if (!response.ok) throw new RpcError(-32603, `HTTP ${response.status}`);
  return response.json();
}

function unwrap(answer) {
  if (answer.error) throw new RpcError(answer.error.code, answer.error.message, answer.error.data);
  return answer.result;
}

/** One JSON-RPC call; resolves to its result, rejects with RpcError. */
export async function call(method, params = []) {
  return unwrap(await post({ jsonrpc: "2.0", id: nextId++, method, params }));
}

/** Many calls in batches of at most 100; resolves to the results in order
 * (a failed call's place holds its RpcError). */
export async function batch(calls) {
  const results = [];
  for (let start = 0; start < calls.length; start += MAX_BATCH) {
    const chunk = calls.slice(start, start + MAX_BATCH);
    const firstId = nextId;
    nextId += chunk.length;
    const answers = await post(chunk.map(([method, params], i) => ({
      jsonrpc: "2.0", id: firstId + i, method, params,
    })));
    const byId = new Map(answers.map((a) => [a.id, a]));
    for (let i = 0; i < chunk.length; i++) {
      try {
        results.push(unwrap(byId.get(firstId + i)));
      } catch (error) {
        results.push(error);
      }
    }
  }
  return results;
}

/**
 * Follow new block headers over the WebSocket, reconnecting with back-off.
 * `onHead(header)` gets each newHeads notification; `onState(text)` hears
 * "live", "connecting" or "offline". Returns a function that stops it.
 */
export function followHeads(onHead, onState) {
  const url = new URL("/ws", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let socket = null;
  let stopped = false;
  let delay = 500;
  let subscription = null;

  function connect() {
    if (stopped) return;
    onState("connecting");
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      delay = 500;
      socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ledger_subscribe", params: ["newHeads"] }));
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.id === 1 && message.result) {
        subscription = message.result;
        onState("live");
      } else if (message.method === "ledger_subscription" && message.params.subscription === subscription) {
        onHead(message.params.result);
      }
    });
    socket.addEventListener("close", () => {
      subscription = null;
      if (stopped) return;
      onState("offline");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    });
  }

  connect();
  return () => {
    stopped = true;
    if (socket) socket.close();
  };
}

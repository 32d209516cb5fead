// The live-chat WebSocket: a single-use ticket from POST /admin/chats/ws-ticket, then `url?ticket=`.
// Every write goes over REST; the socket only pushes what happened. It pings every 5 minutes (the
// deployed API closes idle connections after 10), reconnects with backoff, and tells the console to
// catch up after a reconnect (messages missed while it was down come back by seq).
import { post } from "./api.js";

const PING_MS = 5 * 60 * 1000;
const TYPING_EVERY_MS = 3000;

let socket = null;
let handlers = {};
let pingTimer = null;
let retryTimer = null;
let retries = 0;
let stopped = true;
let everOpened = false;
const lastTyping = new Map();

export function startSocket(onFrame) {
  handlers = onFrame;
  stopped = false;
  connect();
}

export function stopSocket() {
  stopped = true;
  clearTimeout(retryTimer);
  clearInterval(pingTimer);
  if (socket) socket.close(1000);
  socket = null;
  setState("off");
}

function setState(state) {
  handlers.state?.(state);
}

async function connect() {
  if (stopped) return;
  setState("connecting");
  let ticket;
  try {
    ticket = await post("/admin/chats/ws-ticket");
  } catch (error) {
    handlers.error?.(error);
    return scheduleRetry();
  }
  if (stopped) return;
  const url = new URL(ticket.url);
  url.searchParams.set("ticket", ticket.ticket);
  const current = new WebSocket(url);
  socket = current;
  current.addEventListener("open", () => {
    retries = 0;
    setState("live");
    clearInterval(pingTimer);
    pingTimer = setInterval(() => send({ type: "ping" }), PING_MS);
    if (everOpened) handlers.reconnected?.();
    everOpened = true;
  });
  current.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    handlers.frame?.(frame);
  });
  current.addEventListener("close", () => {
    if (socket !== current) return;
    clearInterval(pingTimer);
    socket = null;
    scheduleRetry();
  });
  current.addEventListener("error", () => {}); // a close follows; the reconnect happens there
}

function scheduleRetry() {
  if (stopped) return;
  setState("reconnecting");
  const delay = Math.min(30_000, 1000 * 2 ** Math.min(retries, 5)) * (0.75 + Math.random() / 2);
  retries += 1;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

/** Tell the customer the agent is typing: at most one frame per chat every 3 s. */
export function sendTyping(chatId) {
  const now = Date.now();
  if (now - (lastTyping.get(chatId) || 0) < TYPING_EVERY_MS) return false;
  if (send({ type: "typing", chat_id: chatId })) {
    lastTyping.set(chatId, now);
    return true;
  }
  return false;
}

// The API client: JSON in and out, the error envelope as an ApiError, tokens in this module's
// memory only (never localStorage, sessionStorage or cookies). A 401 refreshes the pair once; when
// that fails the console goes back to the sign-in form.
import { locale } from "./i18n.js";

let tokens = null; // {access_token, refresh_token}
let refreshing = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, envelope) {
    const error = (envelope && envelope.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "network_error";
    this.field = error.field;
    this.details = error.details || {};
    this.requestId = error.request_id;
  }
}

/** API paths resolve against the page's own base, so the console works under a stage path (/api/console). */
export function apiUrl(path, query) {
  const url = new URL("." + path, document.baseURI);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  return url;
}

export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export function signedIn() {
  return tokens !== null;
}

export function setTokens(pair) {
  tokens = pair ? { access_token: pair.access_token, refresh_token: pair.refresh_token } : null;
}

/** A fresh key per attempt of an action (a retry of the same attempt reuses it). */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function send(method, path, { body, query, idempotencyKey, auth = true } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": locale() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && tokens) headers.Authorization = `Bearer ${tokens.access_token}`;
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(apiUrl(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    return { status: 0, body: null, retryAfter: 1 };
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, retryAfter: Number(response.headers.get("Retry-After") || 1) };
}

async function refreshTokens() {
  if (!tokens) return false;
  refreshing ??= (async () => {
    const reply = await send("POST", "/auth/token/refresh", { body: { refresh_token: tokens.refresh_token }, auth: false });
    refreshing = null;
    if (reply.status === 200 && reply.body && reply.body.access_token) {
      setTokens(reply.body);
      return true;
    }
    return false;
  })();
  return refreshing;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One API call; the parsed body on 2xx, else an ApiError with the envelope's message.
 * Safe calls (GET, or a POST carrying an Idempotency-Key) are repeated on 503 try_again / network errors.
 */
export async function api(method, path, options = {}) {
  const repeatable = method === "GET" || Boolean(options.idempotencyKey);
  for (let attempt = 0; ; attempt += 1) {
    let reply = await send(method, path, options);
    if (reply.status === 401 && options.auth !== false && tokens) {
      if (await refreshTokens()) reply = await send(method, path, options);
      if (reply.status === 401) {
        setTokens(null);
        onSignedOut(new ApiError(401, reply.body));
        throw new ApiError(401, reply.body);
      }
    }
    if ((reply.status === 503 || reply.status === 0) && repeatable && attempt < 2) {
      await sleep(Math.min(reply.retryAfter, 5) * 1000);
      continue;
    }
    if (reply.status >= 200 && reply.status < 300) return reply.body ?? {};
    throw new ApiError(reply.status, reply.body);
  }
}

export const get = (path, query) => api("GET", path, { query });
export const post = (path, body, options = {}) => api("POST", path, { body: body ?? {}, ...options });
export const put = (path, body) => api("PUT", path, { body });

/** All pages of an admin list (bounded: a queue of more than `max` items shows the first `max`). */
export async function allPages(path, query = {}, max = 300) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path, { ...query, limit: 100, cursor });
    items.push(...(page.data || []));
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

// Sign-in: the password, then the second factor of the MFA challenge.
export async function signIn(login, password, deviceId) {
  const body = { login, password, device_id: deviceId, device_name: "Okpay support console" };
  const reply = await api("POST", "/auth/login", { body, auth: false });
  if (reply.access_token) setTokens(reply);
  return reply;
}

export async function verifyMfa(mfaToken, method, code) {
  const reply = await api("POST", "/auth/mfa/verify", { body: { mfa_token: mfaToken, method, code }, auth: false });
  setTokens(reply);
  return reply;
}

/** A last call as the page goes away (presence → away): sent even while the tab closes. */
export function sendOnExit(method, path, body) {
  if (!tokens) return;
  fetch(apiUrl(path), {
    method,
    keepalive: true,
    credentials: "omit",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${tokens.access_token}` },
    body: JSON.stringify(body),
  }).catch(() => {});
}

export async function signOut() {
  if (tokens) {
    try {
      await api("POST", "/auth/logout");
    } catch {
      // signed out either way
    }
  }
  setTokens(null);
}

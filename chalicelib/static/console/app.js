// The support console: sign-in (password, then TOTP or a recovery code), then one workspace — the
// queue, the case view and the customer panel — kept live by the chat WebSocket.
import { ApiError, get, put, sendOnExit, signIn, signOut, verifyMfa, whenSignedOut } from "./api.js";
import { addChatMessage, chatUpdated, configureCase, currentCase, focusReply, openCase, primaryAction, reloadCase, showTyping, toggleNote } from "./case.js";
import { startSocket, stopSocket } from "./chat.js";
import { configureCustomer, showCustomer } from "./customer.js";
import { $, $$, fill, h, isTyping } from "./dom.js";
import { applyTranslations, t } from "./i18n.js";
import { KINDS, chatItem, configureQueue, item, items, loadQueue, markUnread, move, openSelected, select, selectedKey, setFilter, tick, upsert } from "./queue.js";
import { errorText, setTitleCount, showError, toast } from "./ui.js";

const QUEUE_REFRESH_MS = 60_000;
let agent = null;
let challenge = null; // the MFA challenge of /auth/login
let mfaMethod = "totp";
let timers = [];
let presence = "online";

// A stable id for this browser's console, so a sign-in from it is a known device (not a secret).
function deviceId() {
  const name = "okpay.console.device";
  let id = localStorage.getItem(name);
  if (!id) {
    id = `console-${crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36)}`;
    localStorage.setItem(name, id);
  }
  return id;
}

// --- sign-in -----------------------------------------------------------------------------------

function showSignIn(message) {
  stopWork();
  $("#workspace").hidden = true;
  $("#signin").hidden = false;
  $("#signin-password").hidden = false;
  $("#signin-mfa").hidden = true;
  setError($("#signin-password"), message || "");
  $("#signin-password [name=password]").value = "";
  $("#signin-password [name=login]").focus();
}

function setError(formNode, message) {
  const box = $(".form-error", formNode);
  box.textContent = message;
  box.hidden = !message;
}

function setBusy(formNode, busy) {
  $("button[type=submit]", formNode).disabled = busy;
  formNode.setAttribute("aria-busy", busy ? "true" : "false");
}

async function submitPassword(event) {
  event.preventDefault();
  const formNode = event.currentTarget;
  const login = formNode.login.value.trim();
  const password = formNode.password.value;
  if (!login || !password) return setError(formNode, t("signin.fill_in"));
  setBusy(formNode, true);
  setError(formNode, "");
  try {
    const reply = await signIn(login, password, deviceId());
    if (reply.mfa_required) {
      challenge = reply;
      showMfa("totp");
    } else {
      await enterWorkspace();
    }
  } catch (error) {
    setError(formNode, errorText(error));
  } finally {
    setBusy(formNode, false);
  }
}

function showMfa(method) {
  mfaMethod = method;
  const formNode = $("#signin-mfa");
  $("#signin-password").hidden = true;
  formNode.hidden = false;
  $(".mfa-label", formNode).textContent = t(method === "totp" ? "signin.totp" : "signin.recovery");
  $("#mfa-switch").textContent = t(method === "totp" ? "signin.use_recovery" : "signin.use_totp");
  $("#mfa-switch").hidden = !(challenge.mfa_methods || []).includes(method === "totp" ? "recovery_code" : "totp");
  formNode.code.value = "";
  formNode.code.inputMode = method === "totp" ? "numeric" : "text";
  setError(formNode, "");
  formNode.code.focus();
}

async function submitMfa(event) {
  event.preventDefault();
  const formNode = event.currentTarget;
  const code = formNode.code.value.replace(/\s+/g, "");
  if (!code) return setError(formNode, t("signin.fill_in"));
  setBusy(formNode, true);
  try {
    await verifyMfa(challenge.mfa_token, mfaMethod, code);
    challenge = null;
    await enterWorkspace();
  } catch (error) {
    const left = error instanceof ApiError && error.details.attempts_left;
    setError(formNode, left === 0 ? t("signin.start_over") : errorText(error));
    formNode.code.select();
  } finally {
    setBusy(formNode, false);
  }
}

// --- the workspace -----------------------------------------------------------------------------

async function enterWorkspace() {
  const me = await get("/me");
  if (me.role !== "agent") {
    await signOut();
    return showSignIn(t("signin.not_agent"));
  }
  agent = me;
  configureQueue({
    me,
    open: (entry) => {
      openCase(entry);
      if (entry.kind === "chat" && entry.unread) markUnread(entry.key, 0);
      updateCounts();
    },
  });
  configureCase({ agent: me });
  configureCustomer({ open: (kind, id) => openById(kind, id) });
  $("#signin").hidden = true;
  $("#workspace").hidden = false;
  fill($("#agent-name"), me.display_name || me.email);
  await setPresence("online", { quiet: true });
  startSocket({ frame: onFrame, state: socketState, reconnected: catchUp, error: () => {} });
  await refreshQueue();
  timers.push(setInterval(tick, 1000));
  timers.push(setInterval(() => refreshQueue({ quiet: true }), QUEUE_REFRESH_MS));
  $("#queue-list").focus();
}

function stopWork() {
  timers.forEach(clearInterval);
  timers = [];
  stopSocket();
}

async function refreshQueue({ quiet = false } = {}) {
  try {
    const failed = await loadQueue();
    if (!selectedKey()) {
      const [first] = $$("#queue-list > li[data-key]");
      if (first) select(first.dataset.key, { focus: false });
    }
    if (failed.size && !quiet) toast(t("queue.unavailable", { what: [...failed].map((kind) => t(`kind.${kind}s`)).join(", ") }), "alert");
  } catch (error) {
    if (!quiet) showError(error);
  }
  updateCounts();
}

function updateCounts() {
  const waiting = items().filter((entry) => entry.kind === "chat" && entry.status === "waiting").length;
  const unread = items().reduce((sum, entry) => sum + (entry.unread || 0), 0);
  setTitleCount(waiting + unread);
}

async function setPresence(status, { quiet = false } = {}) {
  try {
    await put("/admin/presence", { status });
    presence = status;
    if (!quiet) toast(t(`presence.now_${status}`), "info");
  } catch (error) {
    if (!quiet) showError(error);
  }
  for (const button of $$("[data-presence]")) button.setAttribute("aria-pressed", button.dataset.presence === presence ? "true" : "false");
}

function socketState(state) {
  const node = $("#socket-state");
  node.dataset.state = state;
  node.textContent = t(`socket.${state}`);
  node.title = t(`socket.${state}_hint`);
}

async function catchUp() {
  await refreshQueue({ quiet: true });
  const open = currentCase();
  if (open && open.kind === "chat") reloadCase();
}

function onFrame(frame) {
  switch (frame.type) {
    case "message.new": {
      const shown = addChatMessage(frame.chat_id, frame.message);
      const key = `chat:${frame.chat_id}`;
      if (!shown && frame.message?.sender === "user") {
        const entry = item(key);
        markUnread(key, (entry?.unread || 0) + 1);
        toast(t("notify.message", { body: frame.message.body.slice(0, 80) }), "alert", { action: t("action.open"), onAction: () => openById("chat", frame.chat_id) });
      }
      break;
    }
    case "chat.updated":
      upsert(chatItem(frame.chat));
      chatUpdated(frame.chat);
      break;
    case "chat.waiting":
      upsert(chatItem(frame.chat));
      toast(t("notify.waiting", { category: t(`category.${frame.chat.category || "other"}`) }), "alert", { action: t("action.open"), onAction: () => openById("chat", frame.chat.chat_id) });
      break;
    case "typing":
      if (frame.sender !== "agent") showTyping(frame.chat_id);
      break;
    case "error":
      toast(frame.error?.message || t("error.socket"), "error");
      break;
    default:
      break;
  }
  updateCounts();
}

function openById(kind, id) {
  const key = `${kind}:${id}`;
  const entry = item(key) || { key, kind, id, raw: null };
  if (item(key)) select(key, { open: true });
  else openCase(entry);
  if (kind === "chat") markUnread(key, 0);
  updateCounts();
}

// --- search: find a customer by phone, email or user id ----------------------------------------

async function lookup(event) {
  event.preventDefault();
  const query = event.currentTarget.q.value.trim();
  if (!query) return;
  const param = query.includes("@") ? "email" : /^usr_/.test(query) ? "user_id" : "phone";
  const value = param === "phone" && !query.startsWith("+") ? `+86${query.replace(/\D/g, "")}` : query;
  try {
    const found = await get("/admin/users", { [param]: value });
    const [first] = found.data || [];
    if (!first) return toast(t("lookup.none", { q: query }), "info");
    showCustomer(first.user_id);
  } catch (error) {
    showError(error);
  }
}

// --- keyboard ----------------------------------------------------------------------------------

const FILTERS = ["all", ...KINDS];

function onKey(event) {
  if ($("#workspace").hidden || event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  if ($("#dialog").open || $("#help").open) return;
  if (isTyping(event)) return;
  const actions = {
    j: () => move(1),
    ArrowDown: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    Enter: () => {
      openSelected();
      const key = selectedKey();
      if (key?.startsWith("chat:")) markUnread(key, 0);
    },
    r: () => focusReply() || toast(t("help.no_reply"), "info"),
    n: () => toggleNote(),
    a: () => primaryAction(),
    "/": () => $("#lookup [name=q]").focus(),
    "?": () => openHelp(),
    o: () => setPresence(presence === "online" ? "away" : "online"),
    u: () => refreshQueue(),
  };
  if (/^[1-5]$/.test(event.key)) {
    setFilter(FILTERS[Number(event.key) - 1]);
    event.preventDefault();
    return;
  }
  const action = actions[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
}

function openHelp() {
  const shortcuts = [
    ["j / k", "help.move"],
    ["Enter", "help.open"],
    ["r", "help.reply"],
    ["n", "help.note"],
    ["a", "help.primary"],
    ["Ctrl + Enter", "help.send"],
    ["1 – 5", "help.filter"],
    ["/", "help.search"],
    ["o", "help.presence"],
    ["u", "help.refresh"],
    ["Esc", "help.leave"],
    ["?", "help.help"],
  ];
  const dialog = $("#help");
  fill(
    dialog,
    h("h2", {}, t("help.title")),
    h("dl", { class: "shortcuts" }, shortcuts.map(([keys, label]) => [h("dt", {}, h("kbd", {}, keys)), h("dd", {}, t(label))])),
    h("div", { class: "dialog-actions" }, h("button", { type: "button", class: "primary", onclick: () => dialog.close() }, t("action.close"))),
  );
  dialog.showModal();
}

// --- start -------------------------------------------------------------------------------------

function start() {
  applyTranslations();
  whenSignedOut(() => showSignIn(t("signin.expired")));
  $("#signin-password").addEventListener("submit", submitPassword);
  $("#signin-mfa").addEventListener("submit", submitMfa);
  $("#mfa-switch").addEventListener("click", () => showMfa(mfaMethod === "totp" ? "recovery_code" : "totp"));
  $("#mfa-back").addEventListener("click", () => showSignIn());
  $("#signout").addEventListener("click", async () => {
    await setPresence("away", { quiet: true });
    await signOut();
    agent = null;
    showSignIn();
  });
  $("#help-button").addEventListener("click", openHelp);
  $("#queue-refresh").addEventListener("click", () => refreshQueue());
  $("#lookup").addEventListener("submit", lookup);
  for (const button of $$("[data-presence]")) button.addEventListener("click", () => setPresence(button.dataset.presence));
  document.addEventListener("keydown", onKey);
  // Closing the tab takes the agent out of the chat queue (a reload signs out: tokens live in memory).
  window.addEventListener("pagehide", () => sendOnExit("PUT", "/admin/presence", { status: "away" }));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isTyping(event)) event.target.blur();
  });
  showSignIn();
}

start();
